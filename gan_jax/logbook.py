"""Training metrics between two logs: kept on the device (no per-step synchronisation), checked
for non-finite values before anything is logged, drawn or saved, then summarised per seed; and the
progress line (step, losses, steps/s, ETA)."""
import math

from absl import logging
import numpy as np

from gan_jax import errors
from gan_jax import parallel


class NonFiniteError(errors.UserError, FloatingPointError):
  """A loss or gradient norm became NaN or infinite."""


def format_eta(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  m, s = divmod(int(round(seconds)), 60)
  h, m = divmod(m, 60)
  return f'{h}h{m:02d}m{s:02d}s' if h else f'{m}m{s:02d}s'


# What a GAN run whose metrics turned non-finite should change (PendingMetrics' `fix`).
GAN_FIX = 'Lower the learning rates (optim.g_lr, optim.d_lr) or change the loss'


class PendingMetrics:
  """Per-step metrics of calls (each {name: K x S}) until they are checked and summarised."""

  def __init__(self, seeds: list, fix: str = GAN_FIX):
    """`seeds`: the S seeds of the metrics' seed axis; `fix`: what the non-finite error tells
    the user to change (the task's learning rates)."""
    self._seeds, self._fix = list(seeds), fix
    self._device, self._host = [], {s: [] for s in self._seeds}

  def add(self, first_step: int, metrics_KxS) -> None:
    """Metrics of the call whose first update is step `first_step` (1-based)."""
    self._device.append((first_step, metrics_KxS))

  def _per_step_and_seed(self, first_step, metrics_KxS):
    num_steps = len(next(iter(metrics_KxS.values())))
    for i in range(num_steps):
      for j, seed in enumerate(self._seeds):
        yield first_step + i, seed, {k: float(v[i, j]) for k, v in metrics_KxS.items()}

  def check(self, last_good_ckpt) -> None:
    """Fetches the pending metrics; raises NonFiniteError naming the first bad step and seed."""
    for first_step, metrics in parallel.to_host(self._device):
      for step, seed, m in self._per_step_and_seed(first_step, metrics):
        bad = sorted(k for k, v in m.items() if not np.isfinite(v))
        if bad:
          where = (f'the last good checkpoint, step {last_good_ckpt}, is kept' if last_good_ckpt
                   else 'no checkpoint was written')
          raise NonFiniteError(
              f'Non-finite {", ".join(bad)} at step {step} (seed {seed}) '
              f'({", ".join(f"{k}={v:.4g}" for k, v in m.items())}); {where}. {self._fix}, '
              'then rerun with a new --workdir (or the same one to retry from that checkpoint).')
        self._host[seed].append(m)
    self._device = []

  def summary(self) -> dict:
    """{seed: {metric: mean over the steps since the last summary}}."""
    out = {seed: {k: float(np.mean([m[k] for m in ms])) for k in ms[0]}
           for seed, ms in self._host.items()}
    self._host = {s: [] for s in self._seeds}
    return out


def log_progress(step: int, num_steps: int, summaries: dict, rate: float) -> None:
  """One progress line: step, D and G losses, D(x), D(G(z)) (mean over seeds), steps/s, ETA."""
  mean = {k: np.mean([m[k] for m in summaries.values()]) for k in next(iter(summaries.values()))}
  num_seeds = len(summaries)
  logging.info('step %d/%d (%.0f%%) | d_loss %.4f g_loss %.4f | D(x) %.3f D(G(z)) %.3f%s | '
               '%.2f steps/s | ETA %s', step, num_steps, 100 * step / num_steps, mean['d_loss'],
               mean['g_loss'], mean['d_real'], mean['d_fake'],
               f' (mean of {num_seeds} seeds)' if num_seeds > 1 else '', rate,
               format_eta((num_steps - step) / rate))
