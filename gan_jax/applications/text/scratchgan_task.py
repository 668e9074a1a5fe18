"""ScratchGAN as a task of the training loop: the language model (model.py) trained as a GAN's
generator by REINFORCE from a per-token discriminator (scratchgan.py), lm.objective='scratchgan'.

One update (one call, jitted, state donated) is ScratchGAN's step ([ref] experiment.py: one D
update, then one G update, each on G's own fresh samples):
  D: rows drawn from G at T = 1 (key fold_in(fold_in(seed key, STREAM_FAKE_D), t)) against the
     batch of step t (data.Batcher, as the MLE model's); loss scratchgan.d_loss plus
     scratchgan.d_l2 * sum(w^2) / 2 over D's parameters (tf.nn.l2_loss); Adam (d_lr, beta1).
  G: new rows (STREAM_FAKE_G); the updated D's logits on them (dropout on, as in D's step) give
     the rewards, their discounted returns and the moving baseline (updated first); G's loss is
     scratchgan.g_loss with log p(x_t | x_<t) of the rows by teacher forcing (model.token_nll: the
     same distribution the rows were drawn from), counted through each row's end
     (model.counted_tokens); Adam (g_lr, beta1).
Every random draw is fold_in of the step, so a resumed run equals an uninterrupted one. The loop's
logs, samples, checkpoints and the evaluation at lm.temperatures are the MLE task's (task.py):
G's parameters are the state's `params`.
"""
import dataclasses
import functools
from typing import Optional

from absl import logging
import flax
import jax
import jax.numpy as jnp
import optax

from gan_jax.applications.text import model as model_lib
from gan_jax.applications.text import scratchgan as sg
from gan_jax.applications.text import task as task_lib

# The run's random streams beyond model.py's: D's parameters, the rows D and G train on, and
# D's dropout in each.
STREAM_D_INIT, STREAM_FAKE_D, STREAM_FAKE_G, STREAM_D_DROPOUT = 11, 12, 13, 14


@flax.struct.dataclass
class ScratchGanState:
  step: jax.Array
  params: dict  # G's (the language model's): what the evaluation and the samples read.
  opt_state: optax.OptState  # G's.
  d_params: dict
  d_opt_state: optax.OptState
  baseline: jax.Array  # The rewards' moving average (a scalar).


@dataclasses.dataclass(frozen=True)
class Spec:
  """What the update needs besides the state: hashable, one compiled function per spec."""
  model: model_lib.LanguageModel
  disc: sg.SequenceDiscriminator
  length: int
  end_id: Optional[int]
  g_lr: float
  d_lr: float
  beta1: float
  d_l2: float
  discount: float
  baseline_decay: float
  seed: int


def make_spec(config, model: model_lib.LanguageModel, length: int, end_id) -> Spec:
  c = config.scratchgan
  disc = sg.SequenceDiscriminator(vocab_size=model.vocab_size, end_id=end_id, embed=c.d_embed,
                                  hidden=c.d_hidden, embedding_dropout=float(c.d_dropout))
  return Spec(model=model, disc=disc, length=length, end_id=end_id, g_lr=float(c.g_lr),
              d_lr=float(c.d_lr), beta1=float(c.beta1), d_l2=float(c.d_l2),
              discount=float(c.discount), baseline_decay=float(c.baseline_decay),
              seed=int(config.seed))


def optimizers(spec: Spec) -> tuple:
  """(G's, D's) Adam: the ones that initialise and update the state."""
  return optax.adam(spec.g_lr, b1=spec.beta1), optax.adam(spec.d_lr, b1=spec.beta1)


def _key(spec: Spec, stream: int):
  return jax.random.fold_in(jax.random.PRNGKey(spec.seed), stream)


def init_state(spec: Spec) -> ScratchGanState:
  params = spec.model.init(_key(spec, model_lib.STREAM_INIT),
                           jnp.zeros((1, spec.length), jnp.int32))['params']
  d_params = spec.disc.init(_key(spec, STREAM_D_INIT), jnp.zeros((1, spec.length), jnp.int32),
                            train=False)['params']
  g_tx, d_tx = optimizers(spec)
  return ScratchGanState(step=jnp.zeros((), jnp.int32), params=params,
                         opt_state=g_tx.init(params), d_params=d_params,
                         d_opt_state=d_tx.init(d_params), baseline=jnp.zeros((), jnp.float32))


def _d_step(spec: Spec, state: ScratchGanState, real_BxL, fake_BxL, key):
  """D's loss and gradient on real against fake rows, and its Adam update."""
  def loss_fn(d_params):
    logits = lambda rows, i: spec.disc.apply(  # noqa: E731 -- a dropout mask per call.
        {'params': d_params}, rows, train=True, rngs={'dropout': jax.random.fold_in(key, i)})
    l2 = sum(jnp.sum(jnp.square(w)) for w in jax.tree_util.tree_leaves(d_params)) / 2
    return sg.d_loss(logits(real_BxL, 0), logits(fake_BxL, 1)) + spec.d_l2 * l2
  loss, grads = jax.value_and_grad(loss_fn)(state.d_params)
  updates, d_opt_state = optimizers(spec)[1].update(grads, state.d_opt_state, state.d_params)
  return loss, optax.apply_updates(state.d_params, updates), d_opt_state


def _g_step(spec: Spec, state: ScratchGanState, d_params, fake_BxL, key):
  """G's REINFORCE loss on its rows with the rewards of D (updated), and its Adam update."""
  d_logits = spec.disc.apply({'params': d_params}, fake_BxL, train=True, rngs={'dropout': key})
  returns = sg.discounted_returns(sg.rewards(d_logits), spec.discount)
  baseline = sg.update_baseline(state.baseline, returns, spec.baseline_decay)
  mask = model_lib.counted_tokens(fake_BxL, spec.end_id)

  def loss_fn(params):
    logp = -model_lib.token_nll(spec.model, params, fake_BxL)
    return sg.g_loss(logp, returns, baseline, mask)
  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  updates, opt_state = optimizers(spec)[0].update(grads, state.opt_state, state.params)
  metrics = {'g_loss': loss, 'reward': jnp.sum(sg.rewards(d_logits) * mask) / jnp.sum(mask),
             'd_fake': jnp.sum(jax.nn.sigmoid(d_logits) * mask) / jnp.sum(mask),
             'baseline': baseline}
  return metrics, optax.apply_updates(state.params, updates), opt_state, baseline


@functools.lru_cache(maxsize=8)
def make_update(spec: Spec):
  """The jitted update (state donated): (state, real tokens (B, L)) -> (state, {name: 1 x 1})."""
  def update(state: ScratchGanState, real_BxL):
    num = real_BxL.shape[0]
    key = lambda stream: jax.random.fold_in(_key(spec, stream), state.step)  # noqa: E731
    draw = lambda stream: jax.lax.stop_gradient(model_lib.draw(  # noqa: E731
        spec.model, state.params, key(stream), num, spec.length, 1.0))
    d_loss, d_params, d_opt_state = _d_step(spec, state, real_BxL, draw(STREAM_FAKE_D),
                                            key(STREAM_D_DROPOUT))
    metrics, params, opt_state, baseline = _g_step(
        spec, state, d_params, draw(STREAM_FAKE_G), jax.random.fold_in(key(STREAM_D_DROPOUT), 2))
    metrics['d_loss'] = d_loss
    new = ScratchGanState(step=state.step + 1, params=params, opt_state=opt_state,
                          d_params=d_params, d_opt_state=d_opt_state, baseline=baseline)
    return new, {k: v.reshape(1, 1) for k, v in metrics.items()}
  return jax.jit(update, donate_argnums=0)


class ScratchGanTask(task_lib.LMTask):
  """The MLE task's data, model, samples, log and evaluation; ScratchGAN's state and update."""

  def __init__(self, config, evaluating: bool = True, eval_cache: dict = None):
    super().__init__(config, evaluating, eval_cache)
    self.spec = make_spec(config, self.model, self.length, self.source.vocab.end_id)
    self.nonfinite_fix = 'Lower scratchgan.g_lr or scratchgan.d_lr'
    self.name = 'scratchgan'

  def initial_state(self) -> ScratchGanState:
    return init_state(self.spec)

  def update_fn(self):
    return make_update(self.spec)

  def log_start(self, start: int, workdir: str) -> None:
    c = self.config
    logging.info('Training ScratchGAN: G the %s language model (lm.hidden %d, %d layer(s)), D a '
                 'layer-norm LSTM of %d, on %s (%d train rows of %d tokens, V=%d; batch %d) from '
                 'step %d to %d; outputs in %s', c.lm.cell, c.lm.hidden, c.lm.num_layers,
                 c.scratchgan.d_hidden, c.data.source, self.batcher.dataset.size, self.length,
                 self.source.vocab.size, c.data.batch_size, start, c.train.num_steps, workdir)

  def losses_text(self, summary: dict) -> str:
    return (f'd_loss {summary["d_loss"]:.4f} g_loss {summary["g_loss"]:.4f} reward '
            f'{summary["reward"]:.3f} D(fake) {summary["d_fake"]:.3f}')
