"""The runs of a results script, split over processes that share one workdir.

`--shard i/n` gives a process every n-th run from the i-th first; once those are done it takes any
other run that no process holds. Each run trains under an exclusive lock on `<run dir>.lock`
(flock: released when its process ends, even killed), so shards that finish early take over the
others' remaining runs and no run trains twice at once.
"""
import contextlib
import fcntl
import json
import os
from typing import Callable, Optional, Sequence


def parse(shard: Optional[str]) -> tuple:
  """'i/n' -> (i, n) with 0 <= i < n (gan_jax.sweep's rule); None -> (0, 1). ValueError naming
  the form otherwise."""
  from gan_jax import sweep
  if shard is None:
    return 0, 1
  try:
    return sweep.parse_shard(shard)
  except Exception as e:  # noqa: BLE001 -- ConfigError; a script reports it as a usage error.
    raise ValueError(str(e)) from None


def check(parser, shard: Optional[str]) -> None:
  """An argparse usage error (exit status 2) naming a bad --shard, before anything trains."""
  try:
    parse(shard)
  except ValueError as e:
    parser.error(str(e))


@contextlib.contextmanager
def run_lock(directory: str):
  """Yields whether this process now holds the exclusive lock of a run directory (no waiting)."""
  os.makedirs(os.path.dirname(directory.rstrip('/')) or '.', exist_ok=True)
  with open(directory.rstrip('/') + '.lock', 'w') as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
      held = True
    except BlockingIOError:
      held = False
    try:
      yield held
    finally:
      if held:
        fcntl.flock(f, fcntl.LOCK_UN)


def work(runs: Sequence, shard: Optional[str], is_finished: Callable, train: Callable,
         directory: Callable, label: Callable = str) -> int:
  """Trains the unfinished runs, this shard's share first; prints progress; returns how many
  runs this process trained. is_finished(run), train(run), directory(run) -> its run dir. A run
  that fails is reported and left for a later invocation; the others go on, and the process
  then exits with status 1 naming the failed runs."""
  index, count = parse(shard)
  mine = list(runs[index::count])
  queue = mine + [r for r in runs if r not in mine]
  trained, failed = 0, []
  for i, run in enumerate(queue):
    if is_finished(run):
      continue
    with run_lock(directory(run)) as held:
      if not held:
        print(f'[{i + 1}/{len(queue)}] {label(run)}: training in another process, skipped',
              flush=True)
      elif not is_finished(run):  # Another process may have finished it meanwhile.
        print(f'[{i + 1}/{len(queue)}] {label(run)}: training', flush=True)
        try:
          train(run)
          trained += 1
        except Exception as e:  # noqa: BLE001 -- reported; the other runs go on.
          print(f'[{i + 1}/{len(queue)}] {label(run)}: failed: {type(e).__name__}: {e}',
                flush=True)
          failed.append(label(run))
  done = sum(bool(is_finished(r)) for r in runs)
  print(f'{trained} runs trained by this process (shard {index}/{count}); {done} of {len(runs)} '
        'finished.', flush=True)
  if failed:
    raise SystemExit(f'{len(failed)} runs failed: {", ".join(failed)} (their errors are above; '
                     'a later invocation retries them).')
  return trained


def training_seconds(run_dir: str) -> float:
  """Seconds a finished run spent in its training loop, from its metrics.jsonl: each logged
  interval's steps over the steps/s logged at its end (a step's last record counts). The
  intervals hold compilation (the first) and the mid-run evaluations, pictures and checkpoints
  (the interval after each); start-up and the last step's outputs are not in them. It holds for
  runs trained by any process, at any time; 0 when nothing was logged."""
  rate = {}
  path = os.path.join(run_dir, 'metrics.jsonl')
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        r = json.loads(line) if line.strip() else {}
        if r.get('steps_per_s'):
          rate[r['step']] = r['steps_per_s']
  seconds, last = 0.0, 0
  for step in sorted(rate):
    seconds, last = seconds + (step - last) / rate[step], step
  return seconds


def time_line(run_dirs: Sequence[str], wall_s: float) -> str:
  """A results page's line on what its runs cost: their training time summed from their logs,
  and this invocation's wall time (near 0 when it only read runs that shards trained)."""
  total = sum(training_seconds(d) for d in run_dirs)
  return (f'Training time of the {len(run_dirs)} runs, summed from their logged steps/s (one '
          f'process each; compilation and mid-run evaluations included, start-up and the final '
          f'evaluation not): {total / 60:.1f} min. Wall time of this invocation: '
          f'{wall_s / 60:.1f} min (finished runs are read, not retrained).')


def finished_eval(run_dir: str, config, steps: int) -> Optional[dict]:
  """A run's eval.json when it reached `steps` trained under `config` (its config.json equal in
  every field but the cadences: configs.trained_under), else None."""
  from gan_jax import configs
  from scripts.ttq import load_results
  e, saved = [load_results(os.path.join(run_dir, name)) for name in ('eval.json', 'config.json')]
  if not e or e['step'] < steps or not configs.trained_under(saved, config):
    return None
  return e
