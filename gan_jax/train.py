"""The training loop and its cadences.

`train_and_evaluate(config, workdir)` checks the workdir, builds the run (experiment.Experiment:
config, data, models, update; evaluation.EvalRunner: the evaluators) before anything compiles,
restores the latest checkpoint if there is one, then loops `state, metrics = update(state,
batch)`; every `train.log_every` / `sample_every` / `ckpt_every` / `eval_every` steps it logs,
writes sample pictures, saves or evaluates. Metrics stay on the device between logs; they are
fetched and checked for non-finite values before every log, picture, checkpoint and evaluation, so
a diverged run stops naming its first bad step and never overwrites the last good checkpoint.
"""
import os
import time

from absl import logging
import jax
import ml_collections

from gan_jax import atomic_files
from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import evaluation
from gan_jax import experiment as experiment_lib
from gan_jax import logbook
from gan_jax import processes
from gan_jax import sampling
from gan_jax import state as state_lib
from gan_jax import step as step_lib
from gan_jax import workdir as workdir_lib
from gan_jax import writers


class _Outputs:
  """What the run writes besides checkpoints: metrics, pictures, evaluations (process 0 only)."""

  def __init__(self, exp, workdir: str, start: int, evaluator: evaluation.EvalRunner):
    self.exp, self.workdir, self.evaluator = exp, workdir, evaluator
    self.pending, self.last_ckpt = None, None  # Set by the loop.
    self.is_writer = jax.process_index() == 0
    self.writer = (writers.MetricWriter(workdir, resume_step=start) if self.is_writer
                   else writers.NullWriter())
    self.pictures = sampling.SamplePictures(exp.generator, exp.config.model, exp.num_classes,
                                            exp.kind, exp.seeds, exp.samples_to_text)

  def suffix(self, seed: int) -> str:
    name = workdir_lib.seed_name(seed, len(self.exp.seeds))
    return f'/{name}' if name else ''

  def log(self, step: int, summaries: dict, rate: float) -> None:
    for seed, summary in summaries.items():
      self.writer.write_scalars(step, {**summary, 'steps_per_s': rate}, seed, self.suffix(seed))
    logbook.log_progress(step, self.exp.config.train.num_steps, summaries, rate)

  def samples(self, step: int, state) -> None:
    per_seed = self.pictures.samples(self.exp.sampling_params(state),
                                        self.exp.sampling_vars(state))
    if not self.is_writer:
      return
    num_seeds = len(self.exp.seeds)
    for seed, samples in zip(self.exp.seeds, per_seed):
      picture = self.pictures.picture(samples)
      if self.exp.kind == 'tokens':  # Decoded text, a sample a line.
        atomic_files.write_text(
            workdir_lib.sample_path(self.workdir, seed, num_seeds, step, 'txt'), picture)
        self.writer.write_text(step, 'samples' + self.suffix(seed), picture)
        continue
      writers.save_png(workdir_lib.sample_path(self.workdir, seed, num_seeds, step), picture)
      self.writer.write_image(step, 'samples' + self.suffix(seed), picture)

  def evaluate(self, step: int, state) -> dict:
    return self.evaluator.run(self.exp.sampling_params(state), self.exp.sampling_vars(state), step,
                              self.workdir, self.writer, self.is_writer)

  def close(self) -> None:
    self.writer.close()


def _restore(exp, ckpt) -> tuple:
  """(state placed on the mesh, first step): the newest checkpoint that restores (damaged ones
  are moved aside), or the initial state's."""
  state, start = ckpt.restore_latest(exp.place(exp.init_state()))
  if start is None:
    return state, 0
  k = exp.config.train.steps_per_call
  if start % k:
    raise configs.ConfigError(
        f'The latest checkpoint is at step {start}, not a multiple of train.steps_per_call={k}; '
        f'resume with a train.steps_per_call that divides {start}.')
  logging.info('Resumed from %s at step %d.', ckpt.directory, start)
  return state, start


def _log_start(config, exp, start: int, workdir: str) -> None:
  logging.info('Training %s on %s (%d examples; batch %d over %d devices, %d processes; %d '
               'seeds; %d steps per call) from step %d to %d; outputs in %s',
               config.model.generator, config.data.source, exp.train_sets[0].size,
               config.data.batch_size, exp.mesh.size, jax.process_count(), len(exp.seeds),
               config.train.steps_per_call, start, config.train.num_steps, workdir)


def _make_sample_dirs(workdir: str, exp) -> None:
  if jax.process_index() != 0:
    return
  for seed in exp.seeds:
    os.makedirs(workdir_lib.sample_dir(workdir, seed, len(exp.seeds)), exist_ok=True)


def _due(t, step: int, evaluating: bool) -> tuple:
  """(log, sample, checkpoint, evaluate) due after `step`: every N steps and at the end."""
  last = step == t.num_steps
  log, sample, ckpt = (step % every == 0 or last for every in (
      t.log_every, t.sample_every, t.ckpt_every))
  return log, sample, ckpt, evaluating and (last or bool(t.eval_every and
                                                        step % t.eval_every == 0))


def _write_due(out: _Outputs, ckpt, state, step: int, due: tuple, rate) -> None:
  """The outputs due after `step`: log, pictures, evaluation, then the checkpoint (last, so a run
  stopped before it is saved redoes the step's outputs on resume); a full disk is one
  DiskFullError naming the step and the checkpoint kept."""
  log_due, sample_due, ckpt_due, eval_due = due
  what = 'metrics'
  try:
    if log_due:
      out.log(step, out.pending.summary(), rate)
    what = 'sample pictures'
    if sample_due:
      out.samples(step, state)
    what = 'the evaluation'
    if eval_due:
      out.evaluate(step, state)
    what = 'a checkpoint'
    if ckpt_due:
      ckpt.save(step, state)
      out.last_ckpt = step
  except Exception as e:
    if checkpoint_lib.is_disk_full(e):
      raise workdir_lib.disk_full(out.workdir, step, what, out.last_ckpt) from e
    raise


def _loop(exp, state, start: int, ckpt, out: _Outputs):
  t, k = exp.config.train, exp.config.train.steps_per_call
  update = step_lib.jit_update(exp.update_fn())
  out.pending, out.last_ckpt = logbook.PendingMetrics(exp.seeds), start or None
  interval_start, interval_steps, rate = time.time(), 0, None
  next_batch = exp.device_batch(start) if start < t.num_steps else None
  for first in range(start, t.num_steps, k):
    state, metrics = update(state, next_batch)
    step = first + k
    out.pending.add(first + 1, metrics)
    interval_steps += k
    if step < t.num_steps:
      next_batch = exp.device_batch(step)  # Prepared while the devices compute.
    due = _due(t, step, out.evaluator.enabled)
    if any(due):
      out.pending.check(out.last_ckpt)  # Nothing is logged, drawn or saved from a bad state.
    if due[0]:
      jax.block_until_ready(state.step)
      now = time.time()
      rate = interval_steps / max(now - interval_start, 1e-9)
      interval_start, interval_steps = now, 0
    _write_due(out, ckpt, state, step, due, rate)
  return state


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       eval_cache: dict = None) -> state_lib.GANState:
  """Trains to `config.train.num_steps`, resuming from the workdir's latest checkpoint.

  `eval_cache`: a dict the caller owns, where evaluators keep reference features between runs
  on the same data (a sweep passes one for all its points); None keeps nothing."""
  workdir = workdir_lib.check_workdir(config, workdir)  # Reads only.
  # Another run's lock: fail before building (process 0 looks; every process stops).
  processes.on_process_0('workdir_free', workdir_lib.WorkdirLock(workdir).ensure_free)
  exp = experiment_lib.Experiment(config)  # Validates config and data before anything compiles.
  if exp.source.vocab is not None:
    workdir_lib.check_vocab(workdir, exp.source.vocab.to_json())
  evaluator = evaluation.EvalRunner(  # Loads extractors now: a missing file fails early.
      config, exp.source, exp.dataset.element_shape, exp.num_classes, exp.generator, exp.seeds,
      cache=eval_cache)
  # Every process trains and checkpoints (orbax coordinates them); process 0 alone writes files.
  try:
    return _train(config, workdir, exp, evaluator)
  except OSError as e:  # Writes outside the loop's outputs: config.json, the lock, a rewrite.
    if checkpoint_lib.is_disk_full(e) and not isinstance(e, workdir_lib.DiskFullError):
      raise workdir_lib.disk_full(workdir, 0, 'the run\'s start-up files', None) from e
    raise


def _claim(config, workdir: str, exp):
  """Process 0 takes the workdir (its lock, a stale one taken over; config.json; vocab.json)
  while the other processes wait at the barrier: none touches the workdir before it is taken,
  and all stop with process 0's error when it cannot be. Returns the lock (None elsewhere)."""
  def take():
    lock = workdir_lib.claim(workdir, config, is_writer=True)
    try:
      if exp.source.vocab is not None:  # Again, under the lock.
        workdir_lib.check_vocab(workdir, exp.source.vocab.to_json())
        workdir_lib.write_vocab(workdir, exp.source.vocab.to_json())
    except BaseException:
      lock.release()
      raise
    return lock
  return processes.on_process_0('workdir_claim', take)


def _train(config, workdir: str, exp, evaluator) -> state_lib.GANState:
  lock = _claim(config, workdir, exp)
  try:
    ckpt = checkpoint_lib.Checkpointer(workdir_lib.checkpoint_dir(workdir),
                                       config.train.ckpt_keep or None)
    try:
      state, start = _restore(exp, ckpt)
      _make_sample_dirs(workdir, exp)
      out = _Outputs(exp, workdir, start, evaluator)
      _log_start(config, exp, start, workdir)
      run_start = time.time()
      try:
        state = _loop(exp, state, start, ckpt, out)
      finally:
        out.close()
    finally:
      ckpt.close()
  finally:
    if lock is not None:
      lock.release()
  logging.info('Done: step %d in %.1fs. Outputs in %s: config.json, metrics.jsonl, samples/, '
               'checkpoints/, TensorBoard events (tensorboard --logdir %s).',
               config.train.num_steps, time.time() - run_start, workdir, workdir)
  return state
