"""The workdir's rules: what a run may write where, and when a workdir may be (re)used.

A workdir holds one run: config.json, metrics.jsonl, samples/, checkpoints/, eval.json and
TensorBoard events. Rerunning the same config there resumes; another config is refused (the
resumable fields of configs.RESUMABLE_FIELDS excepted), naming the differences.

Start-up is atomic: `check_workdir` only reads; `claim` (after the config, data and evaluators
are checked) takes the workdir's lock and writes config.json (atomically) before anything else,
so a run killed at any moment of start-up leaves a workdir the same command starts or resumes
in. A workdir without config.json whose checkpoints/ holds no finished checkpoint and whose
metrics.jsonl holds no line is such a leftover (or an older version's), not another run's.

One run per workdir: `WorkdirLock` (workdir/.lock, taken by process 0 of a run). A second run
exits at once naming the holder; the lock of a dead process on this host is taken over.
"""
import json
import os
import socket
import time

from absl import logging
import ml_collections

from gan_jax import atomic_files
from gan_jax import configs
from gan_jax import errors


class WorkdirError(errors.UserError, ValueError):
  """The workdir cannot be used for this run; the message says why and what to do."""


class DiskFullError(errors.UserError, OSError):
  """The disk filled while the run wrote; the message names the step lost and what is kept."""


def disk_full(workdir: str, step: int, what: str, last_ckpt) -> DiskFullError:
  kept = (f'the last checkpoint kept is step {last_ckpt}, and rerunning the same command after '
          f'freeing space resumes from it' if last_ckpt else
          'no checkpoint was written yet, so rerunning the same command after freeing space '
          'starts over')
  return DiskFullError(f'No space left on device in {workdir} at step {step} while writing '
                       f'{what}: what step {step} was writing is lost; {kept}.')


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
    current = json.loads(config.to_json())
    diffs = configs.differences(saved, current)
    if diffs:
      keep = configs.keep_flags(saved, current)
      raise WorkdirError(
          f'--workdir={workdir} holds a run of a different config; resuming would mix two runs. '
          'Use a new --workdir, or the same config. Differences:\n  - ' + '\n  - '.join(diffs)
          + (f'\nTo resume the workdir\'s run as it was, add: {" ".join(keep)}' if keep else ''))
  elif os.path.isdir(workdir) and _has_run_outputs(workdir):
    raise WorkdirError(f'--workdir={workdir} holds run outputs (checkpoints or logged metrics) but '
                       'no config.json, so it cannot be checked against this config; use a new '
                       '--workdir.')
  parent = workdir
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.access(parent, os.W_OK):
    raise WorkdirError(f'--workdir={workdir} is not writable ({parent} is not); choose another.')
  return workdir


def _has_run_outputs(workdir: str) -> bool:
  """A finished checkpoint (checkpoints/<step>/) or a logged metrics line: what a start-up kill
  never leaves behind."""
  ckpt = checkpoint_dir(workdir)
  if os.path.isdir(ckpt) and any(n.isdigit() for n in os.listdir(ckpt)):
    return True
  metrics = os.path.join(workdir, 'metrics.jsonl')
  return os.path.exists(metrics) and os.path.getsize(metrics) > 0


def write_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  os.makedirs(workdir, exist_ok=True)
  atomic_files.write_text(os.path.join(workdir, 'config.json'), config.to_json(indent=2))


def claim(workdir: str, config: ml_collections.ConfigDict, is_writer: bool):
  """Takes the workdir for this run (process 0: its lock, then config.json); returns the lock to
  release at the end (None on other processes)."""
  if not is_writer:
    return None
  lock = WorkdirLock(workdir)
  lock.acquire()
  try:
    check_workdir(config, workdir)  # Again, under the lock: another run may have just written.
    write_config(workdir, config)
  except BaseException:
    lock.release()
    raise
  return lock


VOCAB_NAME = 'vocab.json'  # Token-sequence runs: the vocabulary the run was trained on.


def check_vocab(workdir: str, vocab_json: dict) -> None:
  """Refuses a workdir whose vocab.json differs from this run's vocabulary (the data changed,
  e.g. a text file edited since the run started: its token ids would mean other tokens)."""
  path = os.path.join(workdir, VOCAB_NAME)
  if not os.path.exists(path):
    return
  with open(path) as f:
    old = json.load(f)
  if old != vocab_json:
    diff = sorted(set(map(str, old.get('tokens', []))) ^ set(map(str, vocab_json['tokens'])))
    raise WorkdirError(
        f'{path} records another vocabulary than the data now give ({len(old.get("tokens", []))}'
        f' vs {len(vocab_json["tokens"])} tokens; tokens in one only: {diff[:10]}): the run '
        'would resume with token ids that mean other tokens. Use a new --workdir, or restore '
        'the data the run was started on.')


def write_vocab(workdir: str, vocab_json: dict) -> None:
  atomic_files.write_json(os.path.join(workdir, VOCAB_NAME), vocab_json, indent=1)


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(workdir, 'checkpoints')


def seed_name(seed: int, num_seeds: int) -> str:
  """'seed_<s>' for each seed of a run of several, '' for a run of one: the one naming rule of
  per-seed outputs (sample folders, TensorBoard tags)."""
  return f'seed_{seed}' if num_seeds > 1 else ''


def sample_dir(workdir: str, seed: int, num_seeds: int) -> str:
  """samples/ for one seed, samples/seed_<s>/ for each of several."""
  return os.path.join(workdir, 'samples', seed_name(seed, num_seeds))


def sample_path(workdir: str, seed: int, num_seeds: int, step: int, ext: str = 'png') -> str:
  """samples/[seed_<s>/]step_NNNNNNN.<ext>: a picture (png), or decoded text samples (txt)."""
  return os.path.join(sample_dir(workdir, seed, num_seeds), f'step_{step:07d}.{ext}')


# --- The workdir lock -----------------------------------------------------------------------
LOCK_NAME = '.lock'


def _process_start(pid: int):
  """A process's start time (clock ticks since boot, /proc/<pid>/stat field 22), or None when it
  is gone (or the platform has no /proc): with the pid it names one process, even after the pid
  is reused."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      return int(f.read().rsplit(')', 1)[1].split()[19])
  except (OSError, ValueError, IndexError):
    return None


def _alive(holder: dict) -> bool:
  """Whether the lock's holder may still run: on another host we cannot tell, so yes."""
  if holder.get('host') != socket.gethostname():
    return True
  pid = holder.get('pid')
  if not isinstance(pid, int):
    return False
  start = _process_start(pid)
  if start is None:
    try:
      os.kill(pid, 0)
    except ProcessLookupError:
      return False
    except PermissionError:
      return True
    return holder.get('start') is None  # No /proc: the pid alone.
  return holder.get('start') in (None, start)


class WorkdirLock:
  """workdir/.lock: one run per workdir. Taken with O_EXCL by process 0 of a run; a second run
  exits at once naming the holder (host, pid, since when); a lock left by a dead process on this
  host is taken over. Released on exit; a kill -9 leaves it to be taken over."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, LOCK_NAME)
    self.held = False

  def _record(self) -> str:
    return json.dumps({'host': socket.gethostname(), 'pid': os.getpid(),
                       'start': _process_start(os.getpid()), 'since': time.time()})

  def _holder(self):
    try:
      with open(self.path) as f:
        return json.load(f)
    except FileNotFoundError:
      return None
    except (OSError, ValueError):
      return {}  # Torn (killed while writing): nobody can hold it.

  def _in_use(self, holder: dict) -> WorkdirError:
    since = time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(holder.get('since', 0)))
    return WorkdirError(
        f'{os.path.dirname(self.path)} is in use by another run (host {holder.get("host")}, pid '
        f'{holder.get("pid")}, since {since}); wait for it, stop it, or use another --workdir. '
        f'If that run is gone, delete {self.path}.')

  def ensure_free(self) -> None:
    """Fails at once, before anything is built, when a live run holds the lock."""
    holder = self._holder()
    if holder and _alive(holder):
      raise self._in_use(holder)

  def _create(self) -> bool:
    """Creates the lock with its record in one step (a hard link of a written file: no reader
    ever sees it empty); False when it exists."""
    tmp = f'{self.path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
      f.write(self._record())
    try:
      os.link(tmp, self.path)
      return True
    except FileExistsError:
      return False
    finally:
      os.remove(tmp)

  def acquire(self) -> None:
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    for _ in range(3):
      if self._create():
        self.held = True
        return
      holder = self._holder()
      if holder is None:
        continue  # Released meanwhile: try again.
      if holder and _alive(holder):
        raise self._in_use(holder)
      self._take_over(holder)
    raise WorkdirError(f'Could not take {self.path}; another run keeps taking it. Retry.')

  def _take_over(self, stale: dict) -> None:
    """Removes a dead run's lock: renamed aside first, so of two runs taking over at once only
    one removes it (the other's rename fails) and a fresh lock is never removed."""
    aside = f'{self.path}.stale.{os.getpid()}'
    try:
      os.rename(self.path, aside)
    except FileNotFoundError:
      return
    with open(aside) as f:
      text = f.read()
    try:
      taken = json.loads(text)
    except ValueError:
      taken = {}  # Torn: nobody holds it.
    if taken and taken != stale and _alive(taken):
      try:  # Not the stale lock we saw: put it back, unless a newer one exists.
        os.link(aside, self.path)
      except FileExistsError:
        pass
      os.remove(aside)
      return
    os.remove(aside)
    logging.warning('Took over %s from a run that is gone: %s', self.path, stale or 'torn lock')

  def release(self) -> None:
    if self.held:
      holder = self._holder()
      if holder and holder.get('pid') == os.getpid():
        os.remove(self.path)
      self.held = False
