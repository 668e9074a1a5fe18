"""The language model as a task of the training loop (gan_jax/train.py; see train.Task).

Training: Adam (lm.lr, optax) on the batch of step t of data.Batcher on the train split (seed =
config.seed; a pure function of (seed, t)), dropout keys fold_in(key, t), so a resumed run gives
the same parameters as an uninterrupted one. Every train.log_every steps: a log line and a
metrics.jsonl record {"step", "seed", "loss", "heldout_nll", "steps_per_s"} (loss: the mean over
the steps since the last record, or since the checkpoint resumed from; heldout_nll: NLL per token
of a fixed seeded subset of up to HELDOUT_ROWS test rows, model.counted_tokens). Every
train.sample_every steps SAMPLE_TEXTS rows at T = 1 from a fixed key (model.STREAM_PICTURES):
samples/step_N.txt and TensorBoard, as a token GAN's. At the end (and every train.eval_every
steps) the evaluation at temperatures (evaluation.py), when the task evaluates.
"""
import functools

from absl import logging
import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import data as data_lib
from gan_jax import logbook
from gan_jax import sampling
from gan_jax.applications.text import config as config_lib
from gan_jax.applications.text import evaluation
from gan_jax.applications.text import model as model_lib
from gan_jax.evaluators import text as text_eval

HELDOUT_ROWS = 2000  # Rows of the test split scored at every log (a fixed seeded subset),
HELDOUT_SEED = 0x1A7  # chosen by numpy's default_rng(HELDOUT_SEED), whatever the run's seed.
SAMPLE_TEXTS = sampling.SAMPLE_TEXTS  # Rows written at every train.sample_every, as a GAN's.
PICTURE_TEMPERATURE = 1.0  # Those rows' temperature: the model's own distribution.


@flax.struct.dataclass
class LmState:
  step: jax.Array
  params: dict
  opt_state: optax.OptState


def optimizer(lr: float) -> optax.GradientTransformation:
  """Adam at lm.lr: the one optimizer that initialises and updates the state."""
  return optax.adam(lr)


def init_state(config, model: model_lib.LanguageModel, length: int) -> LmState:
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), model_lib.STREAM_INIT)
  params = model.init(key, jnp.zeros((1, length), jnp.int32))['params']
  return LmState(step=jnp.zeros((), jnp.int32), params=params,
                 opt_state=optimizer(float(config.lm.lr)).init(params))


def make_update(config, model: model_lib.LanguageModel):
  """The jitted update (state donated): (state, tokens (B, L)) -> (state, {'loss': 1 x 1}), the
  mean NLL per token as the loop's metrics (one step, one seed)."""
  return _update_fn(model, float(config.lm.lr), int(config.seed))


@functools.lru_cache(maxsize=8)
def _update_fn(model: model_lib.LanguageModel, lr: float, seed: int):
  """One jitted function per (model, lr, seed): a rerun in this process compiles nothing."""
  tx = optimizer(lr)
  base = jax.random.fold_in(jax.random.PRNGKey(seed), model_lib.STREAM_DROPOUT)

  def update(state: LmState, tokens_BxL):
    key = jax.random.fold_in(base, state.step) if model.dropout > 0 else None
    loss_fn = lambda p: model_lib.token_nll(model, p, tokens_BxL, key).mean()
    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    return LmState(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                   opt_state=opt_state), {'loss': loss.reshape(1, 1)}
  return jax.jit(update, donate_argnums=0)


class LMTask:
  """The language model of a validated config, its data and (when evaluating) its evaluator."""

  def __init__(self, config: ml_collections.ConfigDict, evaluating: bool = True,
               eval_cache: dict = None):
    """Validates the config, loads the data and builds the evaluator; compiles nothing.
    `eval_cache`: a dict the caller owns, for the Text evaluator's reference n-grams."""
    config_lib.validate(config)
    self.config, self.evaluating = config, evaluating
    self.source = data_lib.get_source(config.data)
    train_set = data_lib.get_split(self.source, 'train')
    test_set = data_lib.get_split(self.source, 'test')
    self.batcher = data_lib.Batcher(train_set, config.data.batch_size, config.seed)
    idx = np.sort(np.random.default_rng(HELDOUT_SEED).permutation(test_set.size)[:HELDOUT_ROWS])
    self.heldout_NxL = np.asarray(test_set.get(idx), np.int32)  # Scored at every log.
    self.length = train_set.element_shape[0]
    self.model = model_lib.build_model(config, self.source.vocab.size)
    self.evaluator = None
    if evaluating:
      self.evaluator = text_eval.Text(config, self.source, train_set.element_shape, 0,
                                      {} if eval_cache is None else eval_cache)
    self.seeds, self.steps_per_call = [config.seed], 1
    self.vocab_json = self.source.vocab.to_json()
    self.nonfinite_fix = 'Lower lm.lr'
    self.name = 'lm'  # Of the log lines.
    self.record = None  # eval.json's content, once evaluated.

  def initial_state(self) -> LmState:
    return init_state(self.config, self.model, self.length)

  def update_fn(self):
    return make_update(self.config, self.model)

  def device_batch(self, step: int) -> np.ndarray:
    return self.batcher.step_batch(step, 1)['tokens'][0]

  def log_start(self, start: int, workdir: str) -> None:
    config = self.config
    logging.info('Training the %s language model (lm.hidden %d, %d layer(s)) on %s (%d train '
                 'rows of %d tokens, V=%d; batch %d) from step %d to %d; outputs in %s',
                 config.lm.cell, config.lm.hidden, config.lm.num_layers, config.data.source,
                 self.batcher.dataset.size, self.length, self.source.vocab.size,
                 config.data.batch_size, start, config.train.num_steps, workdir)

  def log(self, out, step: int, summaries: dict, rate: float, state: LmState) -> None:
    """The mean loss since the last log and the held-out NLL of the fixed subset."""
    nll = model_lib.heldout_nll(self.model, state.params, self.heldout_NxL,
                                self.source.vocab.end_id)
    (seed, summary), = summaries.items()
    out.scalars(step, {seed: {**summary, 'heldout_nll': nll}}, rate)
    num_steps = self.config.train.num_steps
    logging.info('%s step %d/%d (%.0f%%) | %s | heldout_nll %.4f | %.2f steps/s | ETA %s',
                 self.name, step, num_steps, 100 * step / num_steps, self.losses_text(summary),
                 nll, rate, logbook.format_eta((num_steps - step) / rate))

  def losses_text(self, summary: dict) -> str:
    """The log line's numbers of the update (the mean since the last log)."""
    return f'loss {summary["loss"]:.4f}'

  def samples(self, out, step: int, state: LmState) -> None:
    """SAMPLE_TEXTS rows at PICTURE_TEMPERATURE from the same key at every step, decoded."""
    rows = model_lib.sample(self.model, state.params, SAMPLE_TEXTS, self.length,
                            self.config.seed, PICTURE_TEMPERATURE,
                            stream=model_lib.STREAM_PICTURES)
    out.sample(step, self.config.seed, evaluation.decoded(rows, self.source.vocab))

  def evaluate(self, out, step: int, state: LmState) -> dict:
    self.record = evaluation.evaluate(self, state.params, step, out.workdir, out.writer)
    return self.record
