"""Training: build data, models and state (or restore them), then run the jitted update.

`train_and_evaluate(config, workdir)` checks everything a user can get wrong (config, data,
workdir, checkpoint) before compiling, then loops `state, metrics = update(state, batch)`, and
every `train.log_every` / `sample_every` / `ckpt_every` steps logs, writes a sample grid, or saves.
Metrics stay on the device between logs (no per-step synchronisation); they are fetched and
checked for non-finite values before every log and every checkpoint, so a diverged run stops
naming its first bad step, and never overwrites the last good checkpoint.
"""
import json
import math
import os
import time

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import losses
from gan_jax import models
from gan_jax import state as state_lib
from gan_jax import step as step_lib
from gan_jax import writers

SAMPLE_GRID = (8, 8)


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


def make_optimizers(optim_config):
  g_tx = optax.adam(optim_config.g_lr, b1=optim_config.b1, b2=optim_config.b2)
  d_tx = optax.adam(optim_config.d_lr, b1=optim_config.b1, b2=optim_config.b2)
  return g_tx, d_tx


class Experiment:
  """Everything built from a config before training: data, models, optimizers, loss."""

  def __init__(self, config: ml_collections.ConfigDict):
    configs.validate(config)
    self.config = config
    source = data_lib.get_source(config.data)
    self.dataset = data_lib.get_split(source, config.data.split)
    self.batcher = data_lib.Batcher(self.dataset, config.data.batch_size, config.seed)
    self.generator = models.make_generator(config.model, self.dataset.element_shape)
    self.discriminator = models.make_discriminator(config.model)
    self.g_tx, self.d_tx = make_optimizers(config.optim)
    self.loss = losses.get_loss(config.loss.name)
    self._check_shapes()

  def _check_shapes(self):
    """Traces (does not compile) G and D once, so shape mismatches fail with a clear message."""
    m, b = self.config.model, self.config.data.batch_size
    z = jax.ShapeDtypeStruct((b, m.latent_dim), jnp.float32)
    try:
      abstract = jax.eval_shape(self.init_state)
      fake = jax.eval_shape(
          lambda s, z: self.generator.apply({'params': s.g_params, **s.g_vars}, z, train=False),
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

  def init_state(self) -> state_lib.GANState:
    return state_lib.init_state(self.config.seed, self.generator, self.discriminator,
                                self.config.model.latent_dim, self.g_tx, self.d_tx)

  def update_fn(self):
    m = self.config.model
    return step_lib.make_update_fn(self.generator, self.discriminator, self.loss, self.g_tx,
                                   self.d_tx, m.latent_dim, m.latent_dist)

  def step_batch(self, step: int) -> np.ndarray:
    return self.batcher.step_batch(step, self.config.optim.n_critic)


def _format_eta(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  m, s = divmod(int(round(seconds)), 60)
  h, m = divmod(m, 60)
  return f'{h}h{m:02d}m{s:02d}s' if h else f'{m}m{s:02d}s'


class _PendingMetrics:
  """Per-step metrics kept on the device until they are checked and summarised."""

  def __init__(self):
    self._device, self._host = [], []

  def add(self, step: int, metrics) -> None:
    self._device.append((step, metrics))

  def check(self, last_good_ckpt) -> None:
    for step, m in jax.device_get(self._device):
      bad = sorted(k for k, v in m.items() if not np.isfinite(v))
      if bad:
        where = (f'the last good checkpoint, step {last_good_ckpt}, is kept' if last_good_ckpt
                 else 'no checkpoint was written')
        raise NonFiniteError(
            f'Non-finite {", ".join(bad)} at step {step} '
            f'({", ".join(f"{k}={float(v):.4g}" for k, v in m.items())}); {where}. Lower the '
            'learning rates (optim.g_lr, optim.d_lr) or change the loss, then rerun with a new '
            '--workdir (or the same one to retry from that checkpoint).')
      self._host.append(m)
    self._device = []

  def summary(self) -> dict:
    out = {k: float(np.mean([m[k] for m in self._host])) for k in self._host[0]}
    self._host = []
    return out


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> state_lib.GANState:
  """Trains to `config.train.num_steps`, resuming from the workdir's latest checkpoint."""
  workdir = check_workdir(config, workdir)
  exp = Experiment(config)  # Validates config and data before anything compiles.
  t = config.train

  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  state = exp.init_state()
  start = ckpt.latest_step()
  if start is not None:
    state = ckpt.restore(state, start)
    logging.info('Resumed from %s at step %d.', ckpt.directory, start)
  start = start or 0
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    f.write(config.to_json(indent=2))

  os.makedirs(os.path.join(workdir, 'samples'), exist_ok=True)
  writer = writers.MetricWriter(workdir, resume_step=start)
  update = step_lib.jit_update(exp.update_fn())
  sample = step_lib.make_sample_fn(exp.generator)
  z_grid = state_lib.sample_z(config.seed, SAMPLE_GRID[0] * SAMPLE_GRID[1],
                              config.model.latent_dim, config.model.latent_dist)

  def write_samples(step):
    images = np.asarray(sample(state.g_params, state.g_vars, z_grid))
    grid = writers.image_grid(images, *SAMPLE_GRID)
    path = os.path.join(workdir, 'samples', f'step_{step:07d}.png')
    writers.save_png(path, grid)
    writer.write_image(step, 'samples', grid)
    return path

  pending = _PendingMetrics()
  last_ckpt = start or None
  logging.info('Training %s on %s (%d examples, batch %d) from step %d to %d; outputs in %s',
               config.model.generator, config.data.source, exp.dataset.size,
               config.data.batch_size, start, t.num_steps, workdir)
  interval_start, interval_steps = time.time(), 0
  run_start = time.time()
  next_batch = exp.step_batch(start) if start < t.num_steps else None
  try:
    for step in range(start + 1, t.num_steps + 1):
      state, metrics = update(state, next_batch)
      pending.add(step, metrics)
      interval_steps += 1
      if step < t.num_steps:
        next_batch = exp.step_batch(step)  # Prepared on the host while the device computes.
      last = step == t.num_steps
      log_due, sample_due, ckpt_due = (step % every == 0 or last for every in (
          t.log_every, t.sample_every, t.ckpt_every))
      if log_due or sample_due or ckpt_due:
        pending.check(last_ckpt)  # Nothing is logged, drawn or saved from a non-finite state.
      if log_due:
        jax.block_until_ready(state.step)
        now = time.time()
        rate = interval_steps / max(now - interval_start, 1e-9)
        interval_start, interval_steps = now, 0
        summary = pending.summary()
        writer.write_scalars(step, {**summary, 'steps_per_s': rate})
        logging.info('step %d/%d (%.0f%%) | d_loss %.4f g_loss %.4f | D(x) %.3f D(G(z)) %.3f | '
                     '%.2f steps/s | ETA %s', step, t.num_steps, 100 * step / t.num_steps,
                     summary['d_loss'], summary['g_loss'], summary['d_real'], summary['d_fake'],
                     rate, _format_eta((t.num_steps - step) / rate))
      if sample_due:
        write_samples(step)
      if ckpt_due:
        ckpt.save(step, state)
        last_ckpt = step
  finally:
    writer.close()
    ckpt.close()
  final = os.path.join(workdir, 'samples', f'step_{t.num_steps:07d}.png')
  logging.info('Done: step %d in %.1fs. Outputs in %s: config.json, metrics.jsonl, samples/ '
               '(final grid %s), checkpoints/, TensorBoard events (tensorboard --logdir %s).',
               t.num_steps, time.time() - run_start, workdir, final, workdir)
  return state
