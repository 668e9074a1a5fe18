"""The runs of a results script, split over processes that share one workdir.

`--shard i/n` gives a process every n-th run from the i-th first; once those are done it takes any
other run that no process holds. Each run trains under an exclusive lock on `<run dir>.lock`
(flock: released when its process ends, even killed), so shards that finish early take over the
others' remaining runs and no run trains twice at once.
"""
import contextlib
import fcntl
import os
from typing import Callable, Optional, Sequence


def parse(shard: Optional[str]) -> tuple:
  """'i/n' -> (i, n); None -> (0, 1). ValueError naming the form for anything else."""
  try:
    index, count = map(int, (shard or '0/1').split('/'))
  except ValueError:
    raise ValueError(f'--shard takes i/n (for example 0/2), got {shard!r}.') from None
  if not 0 <= index < count:
    raise ValueError(f'--shard i/n needs 0 <= i < n, got {shard!r}.')
  return index, count


@contextlib.contextmanager
def run_lock(directory: str):
  """Yields whether this process now holds the exclusive lock of a run directory (no waiting)."""
  os.makedirs(os.path.dirname(directory.rstrip('/')) or '.', exist_ok=True)
  with open(directory.rstrip('/') + '.lock', 'w') as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      yield False
      return
    try:
      yield True
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def work(runs: Sequence, shard: Optional[str], is_finished: Callable, train: Callable,
         directory: Callable, label: Callable = str) -> int:
  """Trains the unfinished runs, this shard's share first; prints progress; returns how many
  runs this process trained. is_finished(run), train(run), directory(run) -> its run dir."""
  index, count = parse(shard)
  mine = list(runs[index::count])
  queue = mine + [r for r in runs if r not in mine]
  trained = 0
  for i, run in enumerate(queue):
    if is_finished(run):
      continue
    with run_lock(directory(run)) as held:
      if not held:
        print(f'[{i + 1}/{len(queue)}] {label(run)}: training in another process, skipped',
              flush=True)
      elif not is_finished(run):  # Another process may have finished it meanwhile.
        print(f'[{i + 1}/{len(queue)}] {label(run)}: training', flush=True)
        train(run)
        trained += 1
  done = sum(bool(is_finished(r)) for r in runs)
  print(f'{trained} runs trained by this process (shard {index}/{count}); {done} of {len(runs)} '
        'finished.', flush=True)
  return trained
