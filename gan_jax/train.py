"""The training loop and its cadences, for every task: one loop, one resume, one non-finite check
and one checkpoint path.

`run(config, workdir, build)` checks the workdir, builds the task (`build()`: the config and the
data checked before anything compiles), takes the workdir, restores the latest checkpoint if there
is one, then loops `state, metrics = update(state, batch)`; every `train.log_every` /
`sample_every` / `ckpt_every` / `eval_every` steps (and at the end) it logs, writes samples,
evaluates or saves. Metrics stay on the device between logs; they are fetched and checked for
non-finite values before every log, sample, checkpoint and evaluation, so a diverged run stops
naming its first bad step and never overwrites the last good checkpoint.

A task (`Task`) is what the loop trains: the GAN (gan_task.GANTask; `train_and_evaluate`) or an
application's model (gan_jax/applications/text: the language-model baseline). It gives the state,
the jitted update, the batch of each step and what the loop's cadences write; the loop owns the
order, the workdir, the checkpoints and the writers (`Outputs`).
"""
import os
import time
from typing import Callable, Optional, Protocol

from absl import logging
import jax
import ml_collections

from gan_jax import atomic_files
from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import gan_task
from gan_jax import logbook
from gan_jax import processes
from gan_jax import state as state_lib
from gan_jax import workdir as workdir_lib
from gan_jax import writers


class Outputs:
  """What a run writes besides checkpoints, through the shared writers: metrics.jsonl and
  TensorBoard, samples/ (process 0 only; the other processes write nothing)."""

  def __init__(self, workdir: str, start: int, seeds: list):
    self.workdir, self.seeds = workdir, list(seeds)
    self.pending, self.last_ckpt = None, None  # Set by the loop.
    self.is_writer = jax.process_index() == 0
    self.writer = (writers.MetricWriter(workdir, resume_step=start) if self.is_writer
                   else writers.NullWriter())

  def suffix(self, seed: int) -> str:
    """The TensorBoard tag suffix of a seed: '/seed_<s>' in a run of several, else ''."""
    name = workdir_lib.seed_name(seed, len(self.seeds))
    return f'/{name}' if name else ''

  def scalars(self, step: int, summaries: dict, rate: float) -> None:
    """{seed: {name: value}} and the steps per second: a metrics.jsonl line per seed."""
    for seed, summary in summaries.items():
      self.writer.write_scalars(step, {**summary, 'steps_per_s': rate}, seed, self.suffix(seed))

  def sample(self, step: int, seed: int, picture) -> None:
    """One seed's samples at `step`: a picture (uint8 H x W x C: samples/step_N.png) or decoded
    text (str, a sample a line: samples/step_N.txt), in TensorBoard as 'samples'."""
    if not self.is_writer:
      return
    tag = 'samples' + self.suffix(seed)
    if isinstance(picture, str):
      atomic_files.write_text(
          workdir_lib.sample_path(self.workdir, seed, len(self.seeds), step, 'txt'), picture)
      self.writer.write_text(step, tag, picture)
      return
    writers.save_png(workdir_lib.sample_path(self.workdir, seed, len(self.seeds), step), picture)
    self.writer.write_image(step, tag, picture)

  def close(self) -> None:
    self.writer.close()


class Task(Protocol):
  """What the loop trains. Its metrics are {name: K x S}: K = steps_per_call updates of the S
  seeds of `seeds`; `update_fn()` is jitted with the state donated."""
  seeds: list  # The state's seeds (metrics.jsonl's 'seed'); sample folders per seed.
  steps_per_call: int  # K: updates per call of the update; cadences are multiples of it.
  vocab_json: Optional[dict]  # Token data: the vocabulary kept in vocab.json; else None.
  evaluating: bool  # Whether `evaluate` runs (every train.eval_every steps and at the end).
  nonfinite_fix: str  # What to change when a metric turns non-finite (logbook.PendingMetrics).

  def initial_state(self):
    """The state of step 0, placed where the update runs (restored into when resuming)."""

  def update_fn(self) -> Callable:
    """(state, batch) -> (state, metrics), jitted, the state donated."""

  def device_batch(self, step: int):
    """The batch of the call whose first update is step `step` + 1: a pure function of it."""

  def log_start(self, start: int, workdir: str) -> None:
    """One log line: what trains, on what, from step `start`."""

  def log(self, out: Outputs, step: int, summaries: dict, rate: float, state) -> None:
    """The metrics of the steps since the last log ({seed: {name: mean}}), written."""

  def samples(self, out: Outputs, step: int, state) -> None:
    """Samples of the state, written through `out.sample` (every process calls it)."""

  def evaluate(self, out: Outputs, step: int, state) -> dict:
    """The evaluation of the state (eval.json); every process calls it."""


def _restore(task: Task, ckpt) -> tuple:
  """(state placed on the devices, first step): the newest checkpoint that restores (damaged
  ones are moved aside), or the initial state's."""
  state, start = ckpt.restore_latest(task.initial_state())
  if start is None:
    return state, 0
  k = task.steps_per_call
  if start % k:
    raise configs.ConfigError(
        f'The latest checkpoint is at step {start}, not a multiple of train.steps_per_call={k}; '
        f'resume with a train.steps_per_call that divides {start}.')
  logging.info('Resumed from %s at step %d.', ckpt.directory, start)
  return state, start


def _make_sample_dirs(workdir: str, seeds: list) -> None:
  if jax.process_index() != 0:
    return
  for seed in seeds:
    os.makedirs(workdir_lib.sample_dir(workdir, seed, len(seeds)), exist_ok=True)


def _due(t, step: int, evaluating: bool) -> tuple:
  """(log, sample, checkpoint, evaluate) due after `step`: every N steps and at the end."""
  last = step == t.num_steps
  log, sample, ckpt = (step % every == 0 or last for every in (
      t.log_every, t.sample_every, t.ckpt_every))
  return log, sample, ckpt, evaluating and (last or bool(t.eval_every and
                                                        step % t.eval_every == 0))


def _write_due(task: Task, out: Outputs, ckpt, state, step: int, due: tuple, rate) -> None:
  """The outputs due after `step`: log, samples, evaluation, then the checkpoint (last, so a run
  stopped before it is saved redoes the step's outputs on resume); a full disk is one
  DiskFullError naming the step and the checkpoint kept."""
  log_due, sample_due, ckpt_due, eval_due = due
  what = 'metrics'
  try:
    if log_due:
      task.log(out, step, out.pending.summary(), rate, state)
    what = 'samples'
    if sample_due:
      task.samples(out, step, state)
    what = 'the evaluation'
    if eval_due:
      task.evaluate(out, step, state)
    what = 'a checkpoint'
    if ckpt_due:
      ckpt.save(step, state)
      out.last_ckpt = step
  except Exception as e:
    if checkpoint_lib.is_disk_full(e):
      raise workdir_lib.disk_full(out.workdir, step, what, out.last_ckpt) from e
    raise


def _loop(config, task: Task, state, start: int, ckpt, out: Outputs):
  t, k = config.train, task.steps_per_call
  update = task.update_fn()
  out.pending = logbook.PendingMetrics(task.seeds, task.nonfinite_fix)
  out.last_ckpt = start or None
  interval_start, interval_steps, rate = time.time(), 0, None
  next_batch = task.device_batch(start) if start < t.num_steps else None
  for first in range(start, t.num_steps, k):
    state, metrics = update(state, next_batch)
    step = first + k
    out.pending.add(first + 1, metrics)
    interval_steps += k
    if step < t.num_steps:
      next_batch = task.device_batch(step)  # Prepared while the devices compute.
    due = _due(t, step, task.evaluating)
    if any(due):
      out.pending.check(out.last_ckpt)  # Nothing is logged, drawn or saved from a bad state.
    if due[0]:
      jax.block_until_ready(state.step)
      now = time.time()
      rate = interval_steps / max(now - interval_start, 1e-9)
      interval_start, interval_steps = now, 0
    _write_due(task, out, ckpt, state, step, due, rate)
  return state


def run(config: ml_collections.ConfigDict, workdir: str, build: Callable[[], Task]) -> tuple:
  """Trains the task `build()` makes to `config.train.num_steps`, resuming from the workdir's
  latest checkpoint; returns (the task, its final state).

  The workdir is checked (reading only) and must be free before the task is built; `build`
  validates the config and the data before anything compiles."""
  workdir = workdir_lib.check_workdir(config, workdir)  # Reads only.
  # Another run's lock: fail before building (process 0 looks; every process stops).
  processes.on_process_0('workdir_free', workdir_lib.WorkdirLock(workdir).ensure_free)
  task = build()
  if task.vocab_json is not None:
    workdir_lib.check_vocab(workdir, task.vocab_json)
  # Every process trains and checkpoints (orbax coordinates them); process 0 alone writes files.
  try:
    return task, _train(config, workdir, task)
  except OSError as e:  # Writes outside the loop's outputs: config.json, the lock, a rewrite.
    if checkpoint_lib.is_disk_full(e) and not isinstance(e, workdir_lib.DiskFullError):
      raise workdir_lib.disk_full(workdir, 0, 'the run\'s start-up files', None) from e
    raise


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       eval_cache: dict = None) -> state_lib.GANState:
  """Trains a GAN to `config.train.num_steps`, resuming from the workdir's latest checkpoint,
  evaluating every train.eval_every steps and at the end; returns the final GANState.

  `eval_cache`: a dict the caller owns, where evaluators keep reference features between runs
  on the same data (a sweep passes one for all its points); None keeps nothing."""
  return run(config, workdir, lambda: gan_task.GANTask(config, eval_cache))[1]


def _claim(config, workdir: str, task: Task):
  """Process 0 takes the workdir (its lock, a stale one taken over; config.json; vocab.json)
  while the other processes wait at the barrier: none touches the workdir before it is taken,
  and all stop with process 0's error when it cannot be. Returns the lock (None elsewhere)."""
  def take():
    lock = workdir_lib.claim(workdir, config, is_writer=True)
    try:
      if task.vocab_json is not None:  # Again, under the lock.
        workdir_lib.check_vocab(workdir, task.vocab_json)
        workdir_lib.write_vocab(workdir, task.vocab_json)
    except BaseException:
      lock.release()
      raise
    return lock
  return processes.on_process_0('workdir_claim', take)


def _train(config, workdir: str, task: Task):
  lock = _claim(config, workdir, task)
  try:
    ckpt = checkpoint_lib.Checkpointer(workdir_lib.checkpoint_dir(workdir),
                                       config.train.ckpt_keep or None)
    try:
      state, start = _restore(task, ckpt)
      _make_sample_dirs(workdir, task.seeds)
      out = Outputs(workdir, start, task.seeds)
      task.log_start(start, workdir)
      run_start = time.time()
      try:
        state = _loop(config, task, state, start, ckpt, out)
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
