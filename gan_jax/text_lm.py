"""The likelihood baseline of the text application: an MLE language model sampled at temperatures.

Caccia et al. 2020 ("Language GANs falling short", ICLR) show that a language model trained by
maximum likelihood, sampled at a range of softmax temperatures, traces a quality-diversity curve
that text GANs must be compared against: a GAN's one operating point is not better than MLE unless
it lies beyond that curve. This module is that baseline for gan_jax's token-sequence sources
(data.source = words, cfg, oracle, text_file:<path> or tfds_text:<name>; text_sources.py):

  python -m gan_jax.main --mode=lm --config=<experiment with config.lm> --workdir=runs/lm

- Model (`LanguageModel`): an autoregressive recurrent LM (lm.cell 'lstm' or 'gru', lm.num_layers
  layers of lm.hidden units over lm.embed-dimensional embeddings, dropout lm.dropout) over the
  source's V tokens plus a start token (id V, an input only). Teacher forced, it predicts every
  one of a row's L tokens from the start token and the tokens before it, end symbols and the
  padding after them included; the loss is the mean NLL per token (nats).
- Training (`train`): Adam (lm.lr, optax) on the batch of step t of data.Batcher on the train
  split (seed = config.seed; a pure function of (seed, t)), dropout keys fold_in(key, t), so a
  resumed run gives the same parameters as an uninterrupted one. Every train.log_every steps: a
  log line and a metrics.jsonl record {"step", "seed", "loss", "heldout_nll", "steps_per_s"}
  (loss: the mean over the steps since the last record, or since the checkpoint resumed from;
  heldout_nll: NLL per token of a fixed seeded subset of up to HELDOUT_ROWS test rows, counting
  each row's tokens up to and including its first end symbol: `counted_tokens`). Orbax
  checkpoints every train.ckpt_every steps (gan_jax/checkpoint.py); config.json (workdir.py) and
  vocab.json are kept in the workdir and checked on resume.
- Evaluation (`run`, at the end): for each temperature T of lm.temperatures, the evaluator's
  num_samples rows sampled ancestrally from softmax(logits / T) (T = 0: the argmax, greedy) are
  scored by gan_jax/evaluators/text.py (the same Text protocol that scores the GANs), beside the
  NLL per counted token of the whole test split; workdir/eval.json holds
  {"step", "kind": "lm", "heldout_nll", "heldout_rows", "temperatures": {"<T>": {metric: value}},
  "protocol"}, and samples/temperature_<T>.txt the first NUM_WRITTEN_SAMPLES decoded rows.
  Samples at the i-th temperature use the key fold_in(fold_in(PRNGKey(seed), STREAM_SAMPLES), i):
  they are a pure function of (params, seed, i, T).
"""
import dataclasses
import functools
import os
import time
from typing import Optional

from absl import logging
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import atomic_files
from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import logbook
from gan_jax import workdir as workdir_lib
from gan_jax import writers
from gan_jax.data import sequences
from gan_jax.data import synthetic
from gan_jax.data import text_sources
from gan_jax.evaluators import text as text_eval
from gan_jax.validation import failed, is_int, is_real

CELLS = {'lstm': nn.LSTMCell, 'gru': nn.GRUCell}  # lm.cell.
STREAM_INIT, STREAM_DROPOUT, STREAM_SAMPLES = 1, 2, 3  # fold_in(PRNGKey(seed), STREAM).
HELDOUT_ROWS = 2000  # Rows of the test split scored at every log (a fixed seeded subset),
HELDOUT_SEED = 0x1A7  # chosen by numpy's default_rng(HELDOUT_SEED), whatever the run's seed.
NLL_CHUNK = 500  # Rows per call of the held-out NLL (one compiled shape).
NUM_WRITTEN_SAMPLES = 100  # Decoded samples written per temperature.
EVAL_JSON = 'eval.json'  # As gan_jax/evaluation.py's.
# eval.json's protocol 'decode': how the language model's rows are drawn.
SAMPLING = ('ancestral sampling from softmax(logits / T) at each temperature T (T = 0: argmax), '
            'from the start token, L tokens (gan_jax/text_lm.py)')


# --- Config -----------------------------------------------------------------------------------
def defaults() -> ml_collections.ConfigDict:
  """The lm section (an experiment adds it as `config.lm = text_lm.defaults()`)."""
  lm = ml_collections.ConfigDict()
  lm.cell = 'lstm'  # A name in CELLS.
  lm.embed = 64
  lm.hidden = 256
  lm.num_layers = 1
  lm.lr = 1e-3  # Adam's learning rate.
  lm.dropout = 0.0  # On each layer's input and on the readout's (0: none).
  lm.temperatures = (0.5, 0.7, 0.85, 1.0, 1.2)  # Sampled at the end; 0 is greedy (argmax).
  return lm


def _source_problem(source) -> list[str]:
  """Why data.source is not token sequences (unknown names are data.problems')."""
  if text_sources.source_kind(source) is not None:
    return []
  if source in synthetic.MIXTURES:
    kind = '2-D points'
  elif source in data_lib.SOURCES or data_lib.tfds_name(source) is not None:
    kind = 'images'
  else:
    return []
  return [f'the language model takes token sequences; data.source={source!r} is {kind}. Use a '
          'sequence source: words, cfg, oracle, text_file:<path> or tfds_text:<name>.']


def _lm_problems(lm) -> list[str]:
  temps = lm.get('temperatures')
  temps_ok = (isinstance(temps, (tuple, list)) and len(temps) > 0 and
              all(is_real(t) and t >= 0 for t in temps) and
              len({float(t) for t in temps}) == len(temps))
  return failed([
      (lm.get('cell') in CELLS, f'Unknown lm.cell {lm.get("cell")!r}; valid: {list(CELLS)}.'),
      *[(is_int(lm.get(f)) and lm.get(f) > 0, f'lm.{f} must be a positive integer, got '
         f'{lm.get(f)!r}.') for f in ('embed', 'hidden', 'num_layers')],
      (is_real(lm.get('lr')) and lm.get('lr') > 0,
       f'lm.lr must be a number > 0, got {lm.get("lr")!r}.'),
      (is_real(lm.get('dropout')) and 0 <= lm.get('dropout') < 1,
       f'lm.dropout must be a number in [0, 1), got {lm.get("dropout")!r}.'),
      (temps_ok, 'lm.temperatures must be a non-empty tuple of distinct numbers >= 0 (0: '
       f'greedy), got {temps!r}.')])


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of a language-model config: its lm section, the data (token sequences, the
  train split), the run's own fields (seed, train.*) and eval.num_samples."""
  if 'lm' not in config:
    return ['The config has no lm section: --mode=lm needs an experiment that sets '
            'config.lm = text_lm.defaults() (gan_jax/text_lm.py).']
  num_samples = config.eval.get('num_samples')
  source_problems = _source_problem(config.data.source)
  if not source_problems and text_sources.source_kind(config.data.source):
    reason = text_eval.Text.rejects(config, None)
    source_problems = [reason] if reason else []
  return (source_problems + data_lib.problems(config) +
          configs.problems(config) + _lm_problems(config.lm) + failed([
              (config.get('num_seeds') == 1, 'num_seeds must be 1 for the language model (one '
               f'seed a run; run another seed in another workdir), got '
               f'{config.get("num_seeds")!r}.'),
              (config.data.get('split') == 'train', 'The language model trains on the train '
               'split and scores the held-out test split; set data.split=\'train\', got '
               f'{config.data.get("split")!r}.'),
              (num_samples is None or (is_int(num_samples) and num_samples >= 2),
               'eval.num_samples must be an integer >= 2 or None (the protocol\'s default), '
               f'got {num_samples!r}.')]))


def validate(config: ml_collections.ConfigDict) -> None:
  """Raises configs.ConfigError listing every problem; builds and compiles nothing."""
  found = problems(config)
  if found:
    raise configs.ConfigError('Invalid config:\n  - ' + '\n  - '.join(found))


# --- Model ------------------------------------------------------------------------------------
def zero_carry(cell: str, num_layers: int, hidden: int, batch: int) -> tuple:
  """The recurrent state before the start token: zeros, per layer ((c, h) for an LSTM)."""
  zeros = jnp.zeros((batch, hidden), jnp.float32)
  return tuple((zeros, zeros) if cell == 'lstm' else zeros for _ in range(num_layers))


class LanguageModel(nn.Module):
  """p(x_t | start, x_<t) over `vocab_size` tokens; token id `vocab_size` is the start token.
  `step` advances one token; `__call__` gives the teacher-forced logits (N, L, V)."""
  vocab_size: int
  cell: str = 'lstm'
  embed: int = 64
  hidden: int = 256
  num_layers: int = 1
  dropout: float = 0.0

  def setup(self):
    self.embedding = nn.Embed(self.vocab_size + 1, self.embed)
    self.cells = [CELLS[self.cell](self.hidden) for _ in range(self.num_layers)]
    self.drop = nn.Dropout(self.dropout)
    self.readout = nn.Dense(self.vocab_size)

  def initial_carry(self, batch: int) -> tuple:
    return zero_carry(self.cell, self.num_layers, self.hidden, batch)

  def step(self, carry, tokens_B, deterministic: bool = True):
    x_BxH = self.embedding(tokens_B)
    new_carry = []
    for layer_carry, cell in zip(carry, self.cells):
      layer_carry, x_BxH = cell(layer_carry, self.drop(x_BxH, deterministic=deterministic))
      new_carry.append(layer_carry)
    return tuple(new_carry), self.readout(self.drop(x_BxH, deterministic=deterministic))

  def __call__(self, tokens_NxL, deterministic: bool = True):
    n = tokens_NxL.shape[0]
    inputs_NxL = jnp.concatenate(
        [jnp.full((n, 1), self.vocab_size, tokens_NxL.dtype), tokens_NxL[:, :-1]], axis=1)
    scan = nn.scan(lambda module, carry, x_N: module.step(carry, x_N, deterministic),
                   variable_broadcast='params', split_rngs={'params': False, 'dropout': True},
                   in_axes=1, out_axes=1)
    _, logits_NxLxV = scan(self, self.initial_carry(n), inputs_NxL)
    return logits_NxLxV


def build_model(config, vocab_size: int) -> LanguageModel:
  lm = config.lm
  return LanguageModel(vocab_size, cell=lm.cell, embed=lm.embed, hidden=lm.hidden,
                       num_layers=lm.num_layers, dropout=float(lm.dropout))


def token_nll(model: LanguageModel, params, tokens_NxL, dropout_key=None):
  """(N, L) teacher-forced NLL of each token (nats); dropout on when a key is given."""
  rngs = {} if dropout_key is None else {'dropout': dropout_key}
  logits_NxLxV = model.apply({'params': params}, tokens_NxL,
                             deterministic=dropout_key is None, rngs=rngs)
  logp_NxLxV = jax.nn.log_softmax(logits_NxLxV.astype(jnp.float32))
  return -jnp.take_along_axis(logp_NxLxV, tokens_NxL[..., None], axis=-1)[..., 0]


def counted_tokens(tokens_NxL, end_id: Optional[int]):
  """(N, L) bool: the tokens a row's NLL counts, every one up to and including its first end
  symbol (the padding after it, which a model predicts for free, is left out); all of them when
  the vocabulary has no end symbol (end_id None: fixed-length rows)."""
  if end_id is None:
    return jnp.ones(tokens_NxL.shape, bool)
  is_end = tokens_NxL == end_id
  return jnp.cumsum(is_end, axis=1) - is_end == 0


@functools.partial(jax.jit, static_argnums=(0, 3))
def _row_nll(model, params, tokens_NxL, end_id):
  return jnp.sum(token_nll(model, params, tokens_NxL) * counted_tokens(tokens_NxL, end_id), 1)


def heldout_nll(model: LanguageModel, params, rows_NxL: np.ndarray,
                end_id: Optional[int] = None) -> float:
  """The mean NLL per counted token (nats; `counted_tokens`) of the rows, in chunks of NLL_CHUNK
  (one compiled shape)."""
  rows = np.asarray(rows_NxL, np.int32)
  nll_N = sequences.rows_in_chunks(functools.partial(_row_nll, model, params, end_id=end_id),
                                   rows, NLL_CHUNK)
  return float(nll_N.sum() / np.asarray(counted_tokens(rows, end_id)).sum())


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def _sample(model, params, key, num: int, length: int, temperature):
  def body(state, t):
    carry, tokens_N = state
    carry, logits_NxV = model.apply({'params': params}, carry, tokens_N,
                                    method=LanguageModel.step)
    logits_NxV = logits_NxV.astype(jnp.float32)
    drawn_N = jax.random.categorical(jax.random.fold_in(key, t),
                                     logits_NxV / jnp.maximum(temperature, 1e-30))
    tokens_N = jnp.where(temperature > 0, drawn_N, jnp.argmax(logits_NxV, axis=-1))
    return (carry, tokens_N.astype(jnp.int32)), tokens_N.astype(jnp.int32)

  start_N = jnp.full((num,), model.vocab_size, jnp.int32)
  carry = zero_carry(model.cell, model.num_layers, model.hidden, num)
  _, tokens_LxN = jax.lax.scan(body, (carry, start_N), jnp.arange(length))
  return tokens_LxN.T


def sample(model: LanguageModel, params, num: int, length: int, seed: int, temperature: float,
           index: int = 0) -> np.ndarray:
  """int32 (num, length): ancestral samples from softmax(logits / temperature) (0: greedy),
  jitted; the key is fold_in(fold_in(PRNGKey(seed), STREAM_SAMPLES), index)."""
  key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), STREAM_SAMPLES), index)
  return np.asarray(_sample(model, params, key, num, length, jnp.float32(temperature)))


# --- Training ---------------------------------------------------------------------------------
@flax.struct.dataclass
class LmState:
  step: jax.Array
  params: dict
  opt_state: optax.OptState


def optimizer(lr: float) -> optax.GradientTransformation:
  """Adam at lm.lr: the one optimizer that initialises and updates the state."""
  return optax.adam(lr)


def init_state(config, model: LanguageModel, length: int) -> LmState:
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), STREAM_INIT)
  params = model.init(key, jnp.zeros((1, length), jnp.int32))['params']
  return LmState(step=jnp.zeros((), jnp.int32), params=params,
                 opt_state=optimizer(float(config.lm.lr)).init(params))


def make_update(config, model: LanguageModel):
  """The jitted update (state donated): (state, tokens (B, L)) -> (state, mean NLL per token)."""
  return _update_fn(model, float(config.lm.lr), int(config.seed))


@functools.lru_cache(maxsize=8)
def _update_fn(model: LanguageModel, lr: float, seed: int):
  """One jitted function per (model, lr, seed): a rerun in this process compiles nothing."""
  tx = optimizer(lr)
  base = jax.random.fold_in(jax.random.PRNGKey(seed), STREAM_DROPOUT)

  def update(state: LmState, tokens_BxL):
    key = jax.random.fold_in(base, state.step) if model.dropout > 0 else None
    loss_fn = lambda p: token_nll(model, p, tokens_BxL, key).mean()
    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    return LmState(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                   opt_state=opt_state), loss
  return jax.jit(update, donate_argnums=0)


@dataclasses.dataclass
class Setup:
  """What a run needs, built (and checked) before anything compiles."""
  config: ml_collections.ConfigDict
  source: data_lib.Source
  model: LanguageModel
  batcher: data_lib.Batcher
  heldout_NxL: np.ndarray  # The fixed subset scored at every log.
  length: int
  evaluator: object = None  # evaluators/text.Text; None when only training.


def build(config, with_evaluator: bool = True, eval_cache: dict = None) -> Setup:
  """Validates the config, loads the data and builds the evaluator; compiles nothing."""
  validate(config)
  source = data_lib.get_source(config.data)
  train_set, test_set = data_lib.get_split(source, 'train'), data_lib.get_split(source, 'test')
  batcher = data_lib.Batcher(train_set, config.data.batch_size, config.seed)
  rng = np.random.default_rng(HELDOUT_SEED)
  idx = np.sort(rng.permutation(test_set.size)[:HELDOUT_ROWS])
  evaluator = None
  if with_evaluator:
    evaluator = text_eval.Text(config, source, train_set.element_shape, 0,
                               {} if eval_cache is None else eval_cache)
  return Setup(config, source, build_model(config, source.vocab.size), batcher,
               np.asarray(test_set.get(idx), np.int32), train_set.element_shape[0], evaluator)


def _checked(losses: list, first_step: int, last_ckpt) -> list:
  """The losses of steps first_step, first_step + 1, ... fetched; NonFiniteError at a bad one."""
  values = [float(v) for v in jax.device_get(losses)]
  for i, v in enumerate(values):
    if not np.isfinite(v):
      kept = (f'the last good checkpoint, step {last_ckpt}, is kept' if last_ckpt
              else 'no checkpoint was written')
      raise logbook.NonFiniteError(
          f'Non-finite language-model loss {v} at step {first_step + i}; {kept}. Lower lm.lr, '
          'then rerun with a new --workdir (or the same one to retry from that checkpoint).')
  return values


def _log(setup: Setup, writer, step: int, loss: float, params, rate: float) -> None:
  nll = heldout_nll(setup.model, params, setup.heldout_NxL, setup.source.vocab.end_id)
  writer.write_scalars(step, {'loss': loss, 'heldout_nll': nll, 'steps_per_s': rate},
                       setup.config.seed)
  num_steps = setup.config.train.num_steps
  logging.info('lm step %d/%d (%.0f%%) | loss %.4f heldout_nll %.4f | %.2f steps/s | ETA %s',
               step, num_steps, 100 * step / num_steps, loss, nll, rate,
               logbook.format_eta((num_steps - step) / rate))


def _save(ckpt, step: int, state: LmState, workdir: str, last_ckpt) -> int:
  try:
    ckpt.save(step, state)
  except Exception as e:
    if checkpoint_lib.is_disk_full(e):
      raise workdir_lib.disk_full(workdir, step, 'a checkpoint', last_ckpt) from e
    raise
  return step


def _loop(setup: Setup, state: LmState, start: int, ckpt, writer, workdir: str) -> LmState:
  """Steps start..train.num_steps: update, and every N steps log and save (at the end too)."""
  t = setup.config.train
  update = make_update(setup.config, setup.model)
  pending, first, host, last_ckpt = [], start + 1, [], start or None
  interval_start = time.time()
  for step in range(start, t.num_steps):
    state, loss = update(state, setup.batcher.step_batch(step, 1)['tokens'][0])
    pending.append(loss)
    done = step + 1
    last = done == t.num_steps
    log_due, ckpt_due = done % t.log_every == 0 or last, done % t.ckpt_every == 0 or last
    if log_due or ckpt_due:  # Nothing is logged or saved from a bad state.
      host += _checked(pending, first, last_ckpt)
      pending, first = [], done + 1
    if log_due:
      rate = len(host) / max(time.time() - interval_start, 1e-9)
      _log(setup, writer, done, float(np.mean(host)), state.params, rate)
      host, interval_start = [], time.time()
    if ckpt_due:
      last_ckpt = _save(ckpt, done, state, workdir, last_ckpt)
  return state


def _train(setup: Setup, workdir: str) -> LmState:
  """Restores the latest checkpoint (or initialises), then trains to train.num_steps."""
  config = setup.config
  ckpt = checkpoint_lib.Checkpointer(workdir_lib.checkpoint_dir(workdir),
                                     config.train.ckpt_keep or None)
  try:
    state, start = ckpt.restore_latest(init_state(config, setup.model, setup.length))
    start = start or 0
    if start:
      logging.info('Resumed from %s at step %d.', ckpt.directory, start)
    logging.info('Training the %s language model (lm.hidden %d, %d layer(s)) on %s (%d train '
                 'rows of %d tokens, V=%d; batch %d) from step %d to %d; outputs in %s',
                 config.lm.cell, config.lm.hidden, config.lm.num_layers, config.data.source,
                 setup.batcher.dataset.size, setup.length, setup.source.vocab.size,
                 config.data.batch_size, start, config.train.num_steps, workdir)
    writer = writers.MetricWriter(workdir, resume_step=start)
    try:
      return _loop(setup, state, start, ckpt, writer, workdir)
    finally:
      writer.close()
  finally:
    ckpt.close()


# --- Evaluation -------------------------------------------------------------------------------
def temperature_name(temperature: float) -> str:
  """eval.json's key and the sample file's suffix: '0.5', '1.0', '0.85'."""
  return str(float(temperature))


def _plain(value):
  """A JSON-ready copy: numpy scalars and arrays as Python's, NaN and inf as None."""
  if isinstance(value, dict):
    return {str(k): _plain(v) for k, v in value.items()}
  if isinstance(value, (list, tuple, np.ndarray)):
    return [_plain(v) for v in value]
  if isinstance(value, np.generic):
    value = value.item()
  if isinstance(value, float) and not np.isfinite(value):
    return None
  return value


def _write_samples(workdir: str, temperature: float, rows_NxL: np.ndarray, vocab) -> str:
  path = os.path.join(workdir, 'samples', f'temperature_{temperature_name(temperature)}.txt')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  lines = [vocab.decode(row) for row in rows_NxL[:NUM_WRITTEN_SAMPLES]]
  return atomic_files.write_text(path, ''.join(line + '\n' for line in lines))


def evaluate(setup: Setup, params, step: int, workdir: str) -> dict:
  """Samples at every lm.temperatures, scored by the Text evaluator, and the NLL per token of the
  whole test split; writes eval.json and samples/temperature_<T>.txt. Returns eval.json's dict."""
  config, start = setup.config, time.time()
  test = data_lib.get_split(setup.source, 'test')
  nll = heldout_nll(setup.model, params, test.get(np.arange(test.size)), setup.source.vocab.end_id)
  per_temperature = {}
  for i, temperature in enumerate(config.lm.temperatures):
    rows = sample(setup.model, params, setup.evaluator.num_samples, setup.length, config.seed,
                  temperature, i)
    metrics = _plain(setup.evaluator.metrics_of_tokens(rows))
    per_temperature[temperature_name(temperature)] = metrics
    _write_samples(workdir, temperature, rows, setup.source.vocab)
    logging.info('lm eval, temperature %s (%d samples): %s', temperature_name(temperature),
                 len(rows), ', '.join(f'{k} {v:.4g}' for k, v in metrics.items()
                                      if isinstance(v, (int, float))))
  record = {'step': int(step), 'kind': 'lm', 'heldout_nll': nll, 'heldout_rows': int(test.size),
            'temperatures': per_temperature,
            'protocol': {**_plain(setup.evaluator.describe()), 'decode': SAMPLING}}
  atomic_files.write_json(os.path.join(workdir, EVAL_JSON), record, indent=2, allow_nan=False)
  logging.info('lm eval at step %d (%.1fs): held-out NLL %.4f nats per token over %d rows; '
               '%s', step, time.time() - start, nll, test.size,
               os.path.join(workdir, EVAL_JSON))
  return record


# --- The workdir and the run ------------------------------------------------------------------
def _start(config, workdir: str, with_evaluator: bool, eval_cache) -> tuple:
  """(absolute workdir, Setup): every check that needs no lock, before anything compiles."""
  validate(config)
  workdir = workdir_lib.check_workdir(config, workdir)  # Reads only.
  workdir_lib.WorkdirLock(workdir).ensure_free()
  setup = build(config, with_evaluator, eval_cache)
  workdir_lib.check_vocab(workdir, setup.source.vocab.to_json())
  return workdir, setup


def _claimed(config, workdir: str, setup: Setup, body):
  """body() with the workdir taken: its lock, config.json and vocab.json."""
  lock = workdir_lib.claim(workdir, config, True)
  try:
    workdir_lib.check_vocab(workdir, setup.source.vocab.to_json())  # Again, under the lock.
    workdir_lib.write_vocab(workdir, setup.source.vocab.to_json())
    return body()
  finally:
    lock.release()


def train(config: ml_collections.ConfigDict, workdir: str) -> LmState:
  """Trains (resuming from the workdir's latest checkpoint) to train.num_steps; no evaluation."""
  workdir, setup = _start(config, workdir, False, None)
  return _claimed(config, workdir, setup, lambda: _train(setup, workdir))


def run(config: ml_collections.ConfigDict, workdir: str, eval_cache: dict = None) -> dict:
  """`--mode=lm`: trains (resuming), then evaluates every temperature into eval.json.

  `eval_cache`: a dict the caller owns, handed to the Text evaluator (reference n-grams kept
  between runs on the same data); None keeps nothing. Returns eval.json's content."""
  workdir, setup = _start(config, workdir, True, eval_cache)

  def body():
    state = _train(setup, workdir)
    return evaluate(setup, state.params, int(state.step), workdir)
  return _claimed(config, workdir, setup, body)
