"""Training: build data, models and state (or restore them), then run the jitted update.

`train_and_evaluate(config, workdir)` checks everything a user can get wrong (config, data,
workdir, checkpoint) before compiling, then loops `state, metrics = update(state, batch)`, and
every `train.log_every` / `sample_every` / `ckpt_every` steps logs, writes a sample grid, or saves.
Metrics stay on the device between logs (no per-step synchronisation); they are fetched and
checked for non-finite values before every log and every checkpoint, so a diverged run stops
naming its first bad step, and never overwrites the last good checkpoint.
"""
import json
import logging as logging_levels
import math
import os
import time

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import augment as augment_lib
from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import evaluate
from gan_jax import losses
from gan_jax import models
from gan_jax import parallel
from gan_jax import state as state_lib
from gan_jax import step as step_lib
from gan_jax import writers

SAMPLE_GRID = (8, 8)  # Images: an 8x8 grid from fixed latents.
MAX_CLASS_ROWS = 10  # Conditional: a row per class, for at most this many (evenly spaced) classes.
SAMPLE_POINTS = 1000  # 2-D points: a scatter picture of this many, from fixed latents.


def quiet_orbax(record) -> bool:
  """An absl log filter that drops orbax's per-save INFO chatter; warnings and errors still show."""
  return record.levelno >= logging_levels.WARNING or '/orbax/' not in record.pathname


def user_errors() -> tuple:
  """Errors whose message says what to fix: entry points show them without a traceback."""
  return (configs.ConfigError, data_lib.DataError, WorkdirError, checkpoint_lib.CheckpointError,
          NonFiniteError, evaluate.EvalError)


class WorkdirError(ValueError):
  """The workdir cannot be used for this run; the message says why and what to do."""


class NonFiniteError(FloatingPointError):
  """A loss or gradient norm became NaN or infinite."""


def check_workdir(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Returns the absolute workdir; refuses a file, an unwritable path or another config's run."""
  workdir = os.path.abspath(os.path.expanduser(workdir))
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise WorkdirError(f'--workdir={workdir} is a file, not a directory; choose another path.')
  config_path = os.path.join(workdir, 'config.json')
  if os.path.exists(config_path):
    try:
      with open(config_path) as f:
        saved = json.load(f)
    except (OSError, ValueError) as e:
      raise WorkdirError(f'{config_path} is unreadable ({e}); use a fresh --workdir.') from e
    diffs = configs.differences(saved, json.loads(config.to_json()))
    if diffs:
      raise WorkdirError(
          f'--workdir={workdir} holds a run of a different config; resuming would mix two runs. '
          'Use a new --workdir, or the same config. Differences:\n  - ' + '\n  - '.join(diffs))
  elif os.path.isdir(workdir) and any(
      os.path.exists(os.path.join(workdir, n)) for n in ('checkpoints', 'metrics.jsonl')):
    raise WorkdirError(f'--workdir={workdir} holds run outputs but no config.json, so it cannot be '
                       'checked against this config; use a new --workdir.')
  parent = workdir
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.access(parent, os.W_OK):
    raise WorkdirError(f'--workdir={workdir} is not writable ({parent} is not); choose another.')
  return workdir


def lr_schedule(lr: float, optim_config, updates_per_step: int = 1):
  """The learning rate of `optim.schedule` as an optax schedule over optimizer updates.

  Steps are training steps; D takes `updates_per_step` (n_critic) updates per step, so its
  schedule is stretched to match. 'constant' (with optional warm-up), 'linear' (to 0 at
  optim.decay_steps) or 'cosine' (to 0 at optim.decay_steps), each after a linear warm-up from 0
  over optim.warmup_steps.
  """
  o = optim_config
  if o.schedule == 'constant' and o.warmup_steps == 0:
    return lr
  warm = o.warmup_steps * updates_per_step
  decay = max(o.decay_steps * updates_per_step - warm, 1)
  body = {'constant': lambda: optax.constant_schedule(lr),
          'linear': lambda: optax.linear_schedule(lr, 0.0, decay),
          'cosine': lambda: optax.cosine_decay_schedule(lr, decay)}[o.schedule]()
  if not warm:
    return body
  return optax.join_schedules([optax.linear_schedule(0.0, lr, warm), body], [warm])


def make_optimizers(optim_config):
  o = optim_config
  g_tx = optax.adam(lr_schedule(o.g_lr, o), b1=o.b1, b2=o.b2)
  d_tx = optax.adam(lr_schedule(o.d_lr, o, o.n_critic), b1=o.b1, b2=o.b2)
  return g_tx, d_tx


class Experiment:
  """Everything built from a config before training: data, models, optimizers, loss, mesh.

  With `num_seeds` = S > 1 the state has a leading axis of S independent replicas (seeds seed,
  seed+1, ...: each its own initialisation, latents and data order) and the update runs over it
  as `train.seed_layout` says (step.over_seeds: 'loop' or 'vmap'); with `train.steps_per_call`
  = k > 1 one call runs k updates (lax.scan over k batches).
  Host batches are {'image': (k,)(S,) N x B x H x W x C, 'label': (k,)(S,) N x B}, the
  bracketed axes present only when > 1.
  """

  def __init__(self, config: ml_collections.ConfigDict):
    configs.validate(config)
    self.config = config
    self.mesh = parallel.make_mesh()
    parallel.check_batch_size(config.data.batch_size, self.mesh, config.model.pack)
    self.source = data_lib.get_source(config.data)
    self.dataset = data_lib.get_split(self.source, config.data.split)
    self.num_seeds = config.num_seeds
    self.steps_per_call = config.train.steps_per_call
    self.seeds = [config.seed + i for i in range(self.num_seeds)]
    self.num_classes = self._num_classes()
    self.batchers = [data_lib.Batcher(self.dataset, config.data.batch_size, s,
                                      with_labels=self.num_classes > 0) for s in self.seeds]
    self.generator = models.make_generator(config.model, self.dataset.element_shape,
                                           num_classes=self.num_classes)
    self.discriminator = models.make_discriminator(config.model, num_classes=self.num_classes)
    self.g_tx, self.d_tx = make_optimizers(config.optim)
    self.loss = losses.get_loss(config.loss.name)
    a = config.augment
    if a.policy and len(self.dataset.element_shape) != 3:
      raise configs.ConfigError(f'augment.policy={a.policy!r} augments images; '
                                f'{config.data.source!r} is not images. Set augment.policy=\'\'.')
    self._augment = (augment_lib.make_augment(a.policy, a.translation_ratio, a.cutout_ratio)
                     if a.policy else None)
    self._check_shapes()
    self.eval_protocol = evaluate.protocol_for(config, self.dataset.element_shape)
    if self.eval_protocol and self.eval_protocol.kind == 'features':
      data_lib.get_split(self.source, config.eval.reference_split)  # Fails now, not at the end.

  def _num_classes(self) -> int:
    """The class count of a conditional run (model.conditional), else 0."""
    if not self.config.model.conditional:
      return 0
    if not self.source.num_classes or not self.dataset.has_labels:
      raise configs.ConfigError(
          f'model.conditional=True needs class labels; data.source='
          f'{self.config.data.source!r} has none. Set model.conditional=False.')
    return int(self.source.num_classes)

  def _check_shapes(self):
    """Traces (does not compile) G and D once, so shape mismatches fail with a clear message."""
    m, b = self.config.model, self.config.data.batch_size
    z = jax.ShapeDtypeStruct((b, m.latent_dim), jnp.float32)
    try:
      abstract = jax.eval_shape(lambda: self.init_seed_state(self.config.seed))
      fake = jax.eval_shape(
          lambda s, z: self.generator.apply({'params': s.g_params, **s.g_vars}, z, train=False,
                                            labels=jnp.zeros((b,), jnp.int32)),
          abstract, z)
    except Exception as e:
      raise configs.ConfigError(
          f'generator {m.generator!r} cannot make images of the data\'s shape '
          f'{self.dataset.element_shape}: {type(e).__name__}: {e}. Choose another '
          'model.generator, or resize the data with data.image_size.') from e
    if tuple(fake.shape[1:]) != tuple(self.dataset.element_shape):
      raise configs.ConfigError(
          f'generator {m.generator!r} makes images of shape {tuple(fake.shape[1:])}, the data '
          f'has {self.dataset.element_shape}. Set data.image_size to a size the generator '
          'supports (the DCGAN needs a multiple of 4).')

  def init_seed_state(self, seed: int) -> state_lib.GANState:
    return state_lib.init_state(seed, self.generator, self.discriminator,
                                self.config.model.latent_dim, self.g_tx, self.d_tx,
                                self.config.model.pack)

  def init_state(self) -> state_lib.GANState:
    """One seed's state, or S seeds' states stacked on a leading axis (each as a lone run's)."""
    states = [self.init_seed_state(s) for s in self.seeds]
    if self.num_seeds == 1:
      return states[0]
    return state_lib.stack_replicas(states)

  @property
  def regularizers(self) -> step_lib.Regularizers:
    lc, o = self.config.loss, self.config.optim
    return step_lib.Regularizers(
        penalties=tuple((n, float(w)) for n, w in sorted(lc.penalties.items()) if w > 0),
        lazy_every=lc.lazy_every, weight_clip=float(lc.weight_clip),
        ema_decay=float(o.ema_decay), ema_start=o.ema_start, augment=self._augment,
        acgan_weight=float(lc.acgan_weight))

  @property
  def compute_dtype(self):
    return None if self.config.model.dtype == 'float32' else jnp.dtype(self.config.model.dtype)

  @property
  def uses_ema(self) -> bool:
    return self.config.optim.ema_decay > 0

  def sampling_params(self, state):
    """G's parameters that samples and evaluation use: the EMA's when the run keeps one."""
    return state.g_ema_params if self.uses_ema else state.g_params

  def single_device_update_fn(self):
    """One seed's plain update on one device (no mesh, no vmap, no scan): the reference."""
    m = self.config.model
    return step_lib.make_update_fn(self.generator, self.discriminator, self.loss, self.g_tx,
                                   self.d_tx, m.latent_dim, m.latent_dist, pack=m.pack,
                                   reg=self.regularizers, num_classes=self.num_classes,
                                   compute_dtype=self.compute_dtype)

  def update_fn(self):
    """The update training uses: data parallel over the mesh, vmapped over seeds, k steps."""
    m = self.config.model
    bn_axis = parallel.DATA_AXIS if m.sync_bn else None
    update = step_lib.make_update_fn(
        models.make_generator(m, self.dataset.element_shape, bn_axis_name=bn_axis,
                              num_classes=self.num_classes),
        models.make_discriminator(m, bn_axis_name=bn_axis, num_classes=self.num_classes),
        self.loss, self.g_tx, self.d_tx,
        m.latent_dim, m.latent_dist, axis_name=parallel.DATA_AXIS, sync_bn=m.sync_bn,
        pack=m.pack, reg=self.regularizers, num_classes=self.num_classes,
        compute_dtype=self.compute_dtype)
    if self.num_seeds > 1:
      update = step_lib.over_seeds(update, self.config.train.seed_layout)
    if self.steps_per_call > 1:
      update = step_lib.scan_steps(update)
    return parallel.data_parallel(update, self.mesh, self.batch_axis)

  @property
  def batch_axis(self) -> int:
    """Index of the batch axis B in a host batch."""
    return 1 + (self.num_seeds > 1) + (self.steps_per_call > 1)

  def step_batch(self, step: int) -> dict:
    """This process's part of the real data of the call starting at `step`: {'image', 'label'}."""
    part = parallel.process_slice(self.config.data.batch_size)
    n = self.config.optim.n_critic
    stack = lambda trees: jax.tree.map(lambda *xs: np.stack(xs), *trees)

    def one_step(t):
      per_seed = [b.step_batch(t, n, part) for b in self.batchers]
      return per_seed[0] if self.num_seeds == 1 else stack(per_seed)

    if self.steps_per_call == 1:
      return one_step(step)
    return stack([one_step(step + i) for i in range(self.steps_per_call)])

  def device_batch(self, step: int) -> dict:
    return parallel.put_batch(self.step_batch(step), self.mesh, self.config.data.batch_size,
                              self.batch_axis)

  def place(self, state: state_lib.GANState) -> state_lib.GANState:
    """The state replicated on every device of the mesh."""
    return jax.device_put(state, parallel.replicated(self.mesh))

  @property
  def points(self) -> bool:
    """Whether the data are vectors (2-D points) rather than images."""
    return len(self.dataset.element_shape) == 1

  @property
  def num_samples(self) -> int:
    return SAMPLE_POINTS if self.points else self.grid_shape[0] * self.grid_shape[1]

  @property
  def grid_shape(self) -> tuple:
    """(rows, columns) of sample grids: 8x8, or one row per class (up to 10) when conditional."""
    if self.num_classes:
      return (min(self.num_classes, MAX_CLASS_ROWS), SAMPLE_GRID[1])
    return SAMPLE_GRID

  def sample_picture(self, samples) -> np.ndarray:
    """uint8 (H, W, C): the grid of sampled images, or a scatter of sampled points."""
    return writers.scatter_image(samples) if self.points else writers.image_grid(
        samples, *self.grid_shape)

  def grid_labels(self):
    """A conditional run's sample-grid classes: one row per class (evenly spaced classes when
    there are more than rows), in the grid's row-major order; None when unconditional."""
    if not self.num_classes or self.points:
      return None if not self.num_classes else state_lib.sample_labels(
          jax.random.PRNGKey(0), self.num_samples, self.num_classes)
    rows, cols = self.grid_shape
    classes = np.arange(rows) * self.num_classes // rows
    return jnp.asarray(np.repeat(classes, cols), jnp.int32)

  def sample_fn(self):
    """(state) -> images of each seed's fixed latent grid batch, G in evaluation mode; for a
    conditional G, row r shows class grid_labels()[r], with the same latents in every row."""
    m = self.config.model
    n = self.num_samples
    labels = self.grid_labels()
    if labels is not None and not self.points:
      cols = self.grid_shape[1]
      z = [jnp.tile(state_lib.sample_z(s, cols, m.latent_dim, m.latent_dist), (n // cols, 1))
           for s in self.seeds]
    else:
      z = [state_lib.sample_z(s, n, m.latent_dim, m.latent_dist) for s in self.seeds]
    sample = step_lib.make_sample_fn(self.generator)
    if self.num_seeds == 1:
      return lambda state: sample(self.sampling_params(state), state.g_vars, z[0], labels)
    return lambda state: jnp.stack([
        sample(*state_lib.replica((self.sampling_params(state), state.g_vars), i), z[i], labels)
        for i in range(self.num_seeds)])


def _format_eta(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  m, s = divmod(int(round(seconds)), 60)
  h, m = divmod(m, 60)
  return f'{h}h{m:02d}m{s:02d}s' if h else f'{m}m{s:02d}s'


class _PendingMetrics:
  """Per-step metrics kept on the device until they are checked and summarised per seed."""

  def __init__(self, seeds: list, steps_per_call: int):
    self._seeds, self._k = seeds, steps_per_call
    self._device, self._host = [], {s: [] for s in seeds}

  def add(self, first_step: int, metrics) -> None:
    """Metrics of the call whose first update is step `first_step` (1-based)."""
    self._device.append((first_step, metrics))

  def _per_step_and_seed(self, first_step, metrics):
    for i in range(self._k):
      step_metrics = metrics if self._k == 1 else {k: v[i] for k, v in metrics.items()}
      for j, seed in enumerate(self._seeds):
        seed_metrics = step_metrics if len(self._seeds) == 1 else {
            k: v[j] for k, v in step_metrics.items()}
        yield first_step + i, seed, {k: float(v) for k, v in seed_metrics.items()}

  def check(self, last_good_ckpt) -> None:
    for first_step, metrics in parallel.to_host(self._device):
      for step, seed, m in self._per_step_and_seed(first_step, metrics):
        bad = sorted(k for k, v in m.items() if not np.isfinite(v))
        if bad:
          where = (f'the last good checkpoint, step {last_good_ckpt}, is kept' if last_good_ckpt
                   else 'no checkpoint was written')
          raise NonFiniteError(
              f'Non-finite {", ".join(bad)} at step {step} (seed {seed}) '
              f'({", ".join(f"{k}={v:.4g}" for k, v in m.items())}); {where}. Lower the '
              'learning rates (optim.g_lr, optim.d_lr) or change the loss, then rerun with a '
              'new --workdir (or the same one to retry from that checkpoint).')
        self._host[seed].append(m)
    self._device = []

  def summary(self) -> dict:
    """{seed: {metric: mean over the steps since the last summary}}."""
    out = {seed: {k: float(np.mean([m[k] for m in ms])) for k in ms[0]}
           for seed, ms in self._host.items()}
    self._host = {s: [] for s in self._seeds}
    return out


def run_evaluation(evaluator, state, seeds, step, workdir, writer, is_writer) -> dict:
  """Evaluates every seed; appends eval/* lines to metrics.jsonl and rewrites eval.json."""
  start = time.time()
  per_seed = evaluator.evaluate(state, seeds)
  summary = evaluate.summarize(step, per_seed, evaluator.describe())
  multi_seed = len(seeds) > 1
  for seed, m in per_seed.items():
    writer.write_scalars(step, {f'eval/{k}': v for k, v in m.items() if v is not None}, seed,
                         tag_suffix=f'/seed_{seed}' if multi_seed else '')
  if is_writer:
    evaluate.write_eval_json(workdir, summary)
  logging.info('eval at step %d (%s, %d samples%s, %.1fs): %s', step, summary['protocol']['kind'],
               summary['protocol']['num_generated'],
               f', mean of {len(seeds)} seeds' if multi_seed else '', time.time() - start,
               ', '.join(f'{k} {v:.4g}' for k, v in summary['mean'].items() if v is not None))
  return summary


def evaluate_checkpoint(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """`--mode=eval`: evaluates the workdir's latest checkpoint and writes workdir/eval.json."""
  workdir = check_workdir(config, workdir)
  exp = Experiment(config)
  evaluator = evaluate.Evaluator(exp)
  if not evaluator.enabled:
    raise configs.ConfigError('eval.features=none: nothing to evaluate; set eval.features.')
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  try:
    step = ckpt.latest_step()
    if step is None:
      raise WorkdirError(f'--workdir={workdir} has no checkpoint to evaluate; train first '
                         '(--mode=train), or point --workdir at a trained run.')
    state = ckpt.restore(exp.place(exp.init_state()), step)
  finally:
    ckpt.close()
  is_writer = jax.process_index() == 0
  writer = writers.MetricWriter(workdir) if is_writer else writers.NullWriter()
  try:
    return run_evaluation(evaluator, state, exp.seeds, step, workdir, writer, is_writer)
  finally:
    writer.close()


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> state_lib.GANState:
  """Trains to `config.train.num_steps`, resuming from the workdir's latest checkpoint."""
  workdir = check_workdir(config, workdir)
  exp = Experiment(config)  # Validates config and data before anything compiles.
  t = config.train

  # Every process trains and checkpoints (orbax coordinates them); process 0 alone writes files.
  is_writer = jax.process_index() == 0
  k = exp.steps_per_call
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  state = exp.place(exp.init_state())
  start = ckpt.latest_step()
  if start is not None:
    if start % k:
      raise configs.ConfigError(
          f'The latest checkpoint is at step {start}, not a multiple of train.steps_per_call={k}; '
          f'resume with a train.steps_per_call that divides {start}.')
    state = ckpt.restore(state, start)
    logging.info('Resumed from %s at step %d.', ckpt.directory, start)
  start = start or 0
  multi_seed = exp.num_seeds > 1
  sample_dirs = {s: os.path.join(workdir, 'samples', f'seed_{s}' if multi_seed else '')
                 for s in exp.seeds}
  if is_writer:
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      f.write(config.to_json(indent=2))
    for d in sample_dirs.values():
      os.makedirs(d, exist_ok=True)
  writer = writers.MetricWriter(workdir, resume_step=start) if is_writer else writers.NullWriter()
  evaluator = evaluate.Evaluator(exp)  # Loads the extractor now: a missing file fails early.
  update = step_lib.jit_update(exp.update_fn())
  sample = exp.sample_fn()

  def write_samples(step):
    images = parallel.to_host(sample(state))
    if not is_writer:
      return
    for i, seed in enumerate(exp.seeds):
      grid = exp.sample_picture(images[i] if multi_seed else images)
      writers.save_png(os.path.join(sample_dirs[seed], f'step_{step:07d}.png'), grid)
      writer.write_image(step, f'samples/seed_{seed}' if multi_seed else 'samples', grid)

  pending = _PendingMetrics(exp.seeds, k)
  last_ckpt = start or None
  logging.info('Training %s on %s (%d examples; batch %d over %d devices, %d processes; %d '
               'seeds; %d steps per call) from step %d to %d; outputs in %s',
               config.model.generator, config.data.source, exp.dataset.size,
               config.data.batch_size, exp.mesh.size, jax.process_count(), exp.num_seeds, k,
               start, t.num_steps, workdir)
  interval_start, interval_steps = time.time(), 0
  run_start = time.time()
  next_batch = exp.device_batch(start) if start < t.num_steps else None
  try:
    for first in range(start, t.num_steps, k):
      state, metrics = update(state, next_batch)
      step = first + k
      pending.add(first + 1, metrics)
      interval_steps += k
      if step < t.num_steps:
        next_batch = exp.device_batch(step)  # Prepared while the devices compute.
      last = step == t.num_steps
      log_due, sample_due, ckpt_due = (step % every == 0 or last for every in (
          t.log_every, t.sample_every, t.ckpt_every))
      eval_due = evaluator.enabled and (last or (t.eval_every and step % t.eval_every == 0))
      if log_due or sample_due or ckpt_due or eval_due:
        pending.check(last_ckpt)  # Nothing is logged, drawn or saved from a non-finite state.
      if log_due:
        jax.block_until_ready(state.step)
        now = time.time()
        rate = interval_steps / max(now - interval_start, 1e-9)
        interval_start, interval_steps = now, 0
        summaries = pending.summary()
        for seed, summary in summaries.items():
          writer.write_scalars(step, {**summary, 'steps_per_s': rate}, seed,
                               tag_suffix=f'/seed_{seed}' if multi_seed else '')
        mean = {key: np.mean([m[key] for m in summaries.values()]) for key in summary}
        logging.info('step %d/%d (%.0f%%) | d_loss %.4f g_loss %.4f | D(x) %.3f D(G(z)) %.3f%s | '
                     '%.2f steps/s | ETA %s', step, t.num_steps, 100 * step / t.num_steps,
                     mean['d_loss'], mean['g_loss'], mean['d_real'], mean['d_fake'],
                     f' (mean of {exp.num_seeds} seeds)' if multi_seed else '',
                     rate, _format_eta((t.num_steps - step) / rate))
      if sample_due:
        write_samples(step)
      if ckpt_due:
        ckpt.save(step, state)
        last_ckpt = step
      if eval_due:
        run_evaluation(evaluator, state, exp.seeds, step, workdir, writer, is_writer)
  finally:
    writer.close()
    ckpt.close()
  final = os.path.join(workdir, 'samples', f'step_{t.num_steps:07d}.png')
  logging.info('Done: step %d in %.1fs. Outputs in %s: config.json, metrics.jsonl, samples/ '
               '(final grid %s), checkpoints/, TensorBoard events (tensorboard --logdir %s).',
               t.num_steps, time.time() - run_start, workdir, final, workdir)
  return state
