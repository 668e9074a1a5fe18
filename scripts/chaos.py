"""make chaos: what a killed, damaged, full or shared workdir does to a run, checked bit for bit.

Runs `python -m gan_jax.main --config=experiments/dcgan_mnist.py:runlocal` (40 steps; a log line
every 4, a picture and a checkpoint every 8, the final evaluation) once without interruption, the
reference, then each case below; every run that a case finishes is compared with the reference:
every metrics.jsonl value but `steps_per_s`, every sample PNG (bytes), eval.json (bytes),
config.json (bytes) and the steps of checkpoints/.

  kills       SIGKILL at random moments, relaunching the same command after each until it
              finishes: as the workdir is claimed (a fresh workdir), 0.5-4 s after launch, during
              training (just after a random logged step: pictures, checkpoints, metrics being
              written) and during the final evaluation; over several fresh workdirs (rounds).
  damage      the newest checkpoint's files truncated or overwritten (or the newest two'), or 16
              bytes zeroed in one of its files (the largest: array data; another, drawn by the
              seed), then resumed: the damaged checkpoints are moved to checkpoints.damaged/
              with one warning naming the step and the file (checkpoint.py's digests), and the
              run finishes from the older one. The cost of the digests is measured too: saves
              of dcgan_mnist's default state with and without them (`digest_cost`).
  torn        metrics.jsonl ends in half a JSON line (of a run stopped mid-way, of a finished
              run), then resumed: the partial line is dropped with a warning.
  full_disk   the workdir on a small tmpfs (root only) filled mid-run by a ballast file, or too
              small from the start: one line 'No space left ...' and exit 1; after the space is
              freed the same command resumes and finishes.
  second      a second run of the same workdir while the first runs (the first paused with
              SIGSTOP meanwhile, so that the second's check falls inside the first's run), and
              two runs launched at once: the second exits 1 with one 'is in use by another run'
              line and writes nothing; the first finishes untouched.
  cli         bad command lines: one line, exit status 1, no traceback, the valid choices.

Writes docs/reliability.md and docs/reliability.json (never edit them by hand). Relaunches share a
JAX compilation cache that only the reference run writes (a killed process never writes it), so
that tens of relaunches fit in about 15 minutes on 2 cores; the bit-for-bit comparisons cover it.

  .venv/bin/python scripts/chaos.py [--seed 0] [--kills 20] [--rounds 3] [--only kills,cli]
"""
import argparse
import dataclasses
import datetime
import errno
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from typing import Callable, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENT = 'experiments/dcgan_mnist.py:runlocal'
# The final evaluation on the 500 test digits with 64 samples: every launch of an evaluating run
# builds the reference features, and the test split keeps that to a second.
EVAL_OVERRIDES = ('--config.eval.reference_split=test', '--config.eval.num_samples=64')
CASES = ('kills', 'damage', 'torn', 'full_disk', 'second', 'cli')
LAUNCH_TIMEOUT_S = 900
IN_USE = 'is in use by another run'
NO_SPACE = 'No space left'


# --------------------------------------------------------------------------- runs and launches

@dataclasses.dataclass
class Setup:
  """Where and what to run: the repository, a scratch directory, the run's cadences."""
  root: str
  repo: str = REPO
  num_steps: int = 40
  log_every: int = 4
  sample_every: int = 8
  ckpt_every: int = 8
  python: str = sys.executable
  log: Callable[[str], None] = lambda msg: None

  @property
  def cache_dir(self) -> str:
    return os.path.join(self.root, 'jax_cache')

  def overrides(self) -> list:
    t = '--config.train.'
    return [f'{t}num_steps={self.num_steps}', f'{t}log_every={self.log_every}',
            f'{t}sample_every={self.sample_every}', f'{t}ckpt_every={self.ckpt_every}',
            *EVAL_OVERRIDES]

  def command(self, workdir: str, config: str = EXPERIMENT, overrides=None) -> list:
    overrides = self.overrides() if overrides is None else list(overrides)
    return [self.python, '-m', 'gan_jax.main', f'--config={config}', f'--workdir={workdir}',
            *overrides]

  def env(self, write_cache: bool = False) -> dict:
    """The child's environment: CPU, the repository first on the path, the shared JAX cache
    (written only when write_cache: nothing a killed process half-writes is ever read)."""
    env = dict(os.environ, JAX_PLATFORMS='cpu', JAX_COMPILATION_CACHE_DIR=self.cache_dir,
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES='0',
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0' if write_cache else '1e9')
    env['PYTHONPATH'] = os.pathsep.join(p for p in (self.repo, env.get('PYTHONPATH')) if p)
    return env

  def log_steps(self, after: int) -> list:
    """The steps logged after step `after`: every log_every and the last."""
    steps = set(range(self.log_every, self.num_steps + 1, self.log_every)) | {self.num_steps}
    return sorted(s for s in steps if s > after)

  def workdir(self, name: str) -> str:
    path = os.path.join(self.root, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


_LIVE = set()  # Launches not yet reaped: killed at exit, never left stopped.


class Launch:
  """One `gan_jax.main` process; its output lines (stdout and stderr) timestamped as they come."""

  def __init__(self, setup: Setup, workdir: str, command: Optional[list] = None,
               write_cache: bool = False):
    self.workdir = workdir
    self.command = command or setup.command(workdir)
    self.lines = []  # (seconds after launch, line)
    self._cond = threading.Condition()
    self.t0 = time.monotonic()
    self.proc = subprocess.Popen(self.command, cwd=setup.repo, env=setup.env(write_cache),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, text=True, errors='replace')
    _LIVE.add(self)
    self._reader = threading.Thread(target=self._read, daemon=True)
    self._reader.start()
    self.rc = None
    self.seconds = None

  def _read(self):
    for line in self.proc.stdout:
      with self._cond:
        self.lines.append((time.monotonic() - self.t0, line.rstrip('\n')))
        self._cond.notify_all()
    with self._cond:
      self._cond.notify_all()

  @property
  def pid(self) -> int:
    return self.proc.pid

  def elapsed(self) -> float:
    return time.monotonic() - self.t0

  def alive(self) -> bool:
    return self.proc.poll() is None

  def output(self) -> str:
    with self._cond:
      return '\n'.join(line for _, line in self.lines)

  def tail(self, n: int = 12) -> str:
    with self._cond:
      return '\n'.join(line[:400] for _, line in self.lines[-n:])

  def wait_for_line(self, pattern: str, timeout: float = LAUNCH_TIMEOUT_S):
    """The first line matching `pattern` (a re.Match), or None once the process has ended."""
    regex, seen, deadline = re.compile(pattern), 0, time.monotonic() + timeout
    with self._cond:
      while True:
        for _, line in self.lines[seen:]:
          m = regex.search(line)
          if m:
            return m
        seen = len(self.lines)
        if not self._reader.is_alive() or time.monotonic() > deadline:
          return None
        self._cond.wait(0.5)

  def sleep(self, seconds: float) -> bool:
    """Sleeps; True when the process ended meanwhile."""
    try:
      self.proc.wait(timeout=max(seconds, 0))
      return True
    except subprocess.TimeoutExpired:
      return False

  def wait_for_path(self, predicate: Callable[[], bool], timeout: float = 300) -> bool:
    """Polls `predicate` every 5 ms; False when the process ended (or time ran out) first."""
    deadline = time.monotonic() + timeout
    while not predicate():
      if not self.alive() or time.monotonic() > deadline:
        return False
      time.sleep(0.005)
    return True

  def kill(self) -> bool:
    """SIGKILL; True when it landed (the process was still running)."""
    if not self.alive():
      self.wait()
      return False
    os.kill(self.pid, signal.SIGKILL)
    self.wait()
    return self.rc == -signal.SIGKILL

  def wait(self, timeout: float = LAUNCH_TIMEOUT_S) -> int:
    try:
      self.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      os.kill(self.pid, signal.SIGCONT)
      os.kill(self.pid, signal.SIGKILL)
      self.proc.wait()
      self.lines.append((self.elapsed(), f'[chaos: killed after a {timeout:.0f} s timeout]'))
    self._reader.join(timeout=10)
    self.rc = self.proc.returncode
    self.seconds = round(self.elapsed(), 2)
    _LIVE.discard(self)
    return self.rc


def reap_all():
  """Kills every launch still running (by pid): nothing is left behind, or stopped."""
  for launch in list(_LIVE):
    if launch.alive():
      os.kill(launch.pid, signal.SIGCONT)
      os.kill(launch.pid, signal.SIGKILL)
    launch.wait(timeout=30)


# --------------------------------------------------------------------------- what a run left

def _sha256(path: str) -> str:
  with open(path, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def _read_bytes(path: str) -> Optional[bytes]:
  if not os.path.exists(path):
    return None
  with open(path, 'rb') as f:
    return f.read()


def metrics_records(path: str) -> list:
  """metrics.jsonl's records without steps_per_s; a line that is not JSON is kept as an error."""
  records = []
  if os.path.exists(path):
    with open(path, 'rb') as f:
      for i, raw in enumerate(f.read().split(b'\n')):
        if not raw.strip():
          continue
        try:
          record = json.loads(raw)
        except ValueError:
          record = None
        if isinstance(record, dict):
          record.pop('steps_per_s', None)
        else:
          record = {'NOT JSON (line %d)' % (i + 1): raw[:80].decode('utf-8', 'replace')}
        records.append(record)
  return records


TMP_FILE = re.compile(r'\.tmp$')  # atomic_files' temporary names: <name>.<pid>.<hex>.tmp


def leftovers(workdir: str) -> list:
  """What kills left that no run reads: temporary files, orbax's unfinished checkpoints."""
  found = [os.path.relpath(os.path.join(root, name), workdir)
           for root, _, files in os.walk(workdir) for name in files if TMP_FILE.search(name)]
  return sorted(found) + ['checkpoints/' + n for n in checkpoint_entries(workdir)[1]]


def checkpoint_entries(workdir: str) -> tuple:
  """(steps of checkpoints/, its other entries: temporary directories a kill left)."""
  path = os.path.join(workdir, 'checkpoints')
  names = sorted(os.listdir(path)) if os.path.isdir(path) else []
  return sorted(int(n) for n in names if n.isdigit()), [n for n in names if not n.isdigit()]


def outputs(workdir: str) -> dict:
  """What a finished run is compared by."""
  samples_dir = os.path.join(workdir, 'samples')
  samples = {}
  for root, _, files in os.walk(samples_dir):
    for name in files:
      if TMP_FILE.search(name):
        continue
      path = os.path.join(root, name)
      samples[os.path.relpath(path, samples_dir)] = _sha256(path)
  steps, others = checkpoint_entries(workdir)
  return {'metrics': metrics_records(os.path.join(workdir, 'metrics.jsonl')),
          'samples': samples, 'checkpoints': steps, 'checkpoint_others': others,
          'eval.json': _read_bytes(os.path.join(workdir, 'eval.json')),
          'config.json': _read_bytes(os.path.join(workdir, 'config.json'))}


def differences(ref: dict, workdir: str) -> list:
  """How the workdir's outputs differ from the reference's ([] when bit for bit the same)."""
  got, diffs = outputs(workdir), []
  a, b = ref['metrics'], got['metrics']
  if a != b:
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    diffs.append(f'metrics.jsonl: {len(b)} records vs {len(a)} in the reference; first '
                 f'difference at record {first}: {b[first] if first < len(b) else None} vs '
                 f'{a[first] if first < len(a) else None}')
  missing = sorted(set(ref['samples']) - set(got['samples']))
  extra = sorted(set(got['samples']) - set(ref['samples']))
  changed = sorted(k for k in set(ref['samples']) & set(got['samples'])
                   if ref['samples'][k] != got['samples'][k])
  for what, names in (('missing', missing), ('not in the reference', extra),
                      ('different bytes', changed)):
    if names:
      diffs.append(f'samples {what}: {names}')
  for name in ('eval.json', 'config.json'):
    if got[name] != ref[name]:
      diffs.append(f'{name}: ' + ('missing' if got[name] is None else
                                  f'{len(got[name])} bytes differ from the reference\'s'))
  if got['checkpoints'] != ref['checkpoints']:
    diffs.append(f'checkpoint steps {got["checkpoints"]} vs {ref["checkpoints"]}')
  return diffs


def workdir_state(workdir: str) -> dict:
  """path -> (size, mtime_ns) of everything under the workdir: to tell that nothing changed."""
  state = {}
  for root, dirs, files in os.walk(workdir):
    for name in dirs + files:
      path = os.path.join(root, name)
      try:
        st = os.lstat(path)
      except FileNotFoundError:
        continue
      state[os.path.relpath(path, workdir)] = (st.st_size, st.st_mtime_ns)
  return state


def top_entries(workdir: str) -> list:
  try:
    return sorted(os.listdir(workdir))
  except FileNotFoundError:
    return []


# --------------------------------------------------------------------------- reading the output

_LOG_NOISE = re.compile(r'^[IW]\d{4} ')  # absl INFO and WARNING lines
_PY_WARNING = re.compile(r'^\S+:\d+: \w*Warning: ')


def error_records(output: str) -> list:
  """The output's records other than INFO/WARNING log lines and Python warnings: a record is a
  line and the indented lines that continue it. A one-line error is exactly one record."""
  records, skip_source = [], False
  for line in output.splitlines():
    if skip_source and line.startswith((' ', '\t')):
      skip_source = False
      continue
    skip_source = False
    if not line.strip() or _LOG_NOISE.match(line):
      continue
    if _PY_WARNING.match(line):
      skip_source = True
      continue
    if line.startswith((' ', '\t')) and records:
      records[-1] += '\n' + line
    else:
      records.append(line)
  return records


def one_line_problems(output: str, phrase: str) -> list:
  """What keeps `output` from being one error line containing `phrase`, without a traceback."""
  problems = []
  if 'Traceback' in output:
    problems.append('a traceback')
  records = error_records(output)
  if len(records) != 1:
    problems.append(f'{len(records)} error records instead of one: {records[:4]}')
  elif '\n' in records[0]:
    problems.append(f'the error spans {records[0].count(chr(10)) + 1} lines')
  if not any(phrase in r for r in records):
    problems.append(f'no error line containing {phrase!r}')
  return problems


def warnings_with(output: str, *words: str) -> list:
  """The WARNING lines containing every word (case-insensitive)."""
  return [line for line in output.splitlines()
          if line.startswith('W') and all(w.lower() in line.lower() for w in words)]


# --------------------------------------------------------------------------- the reference

def reference(setup: Setup) -> dict:
  """The uninterrupted run: its outputs and its timeline (it alone writes the JAX cache)."""
  workdir = setup.workdir('reference')
  setup.log(f'reference: {" ".join(setup.command(workdir)[1:])}')
  launch = Launch(setup, workdir, write_cache=True)
  rc = launch.wait()
  if rc != 0:
    raise RuntimeError(f'The reference run failed (exit {rc}):\n{launch.tail(30)}')
  t_training = _line_time(launch, r'from step \d+ to \d+')
  t_last_step = _line_time(launch, rf'step {setup.num_steps}/{setup.num_steps}\b')
  ref = outputs(workdir)
  ref.update(workdir=workdir, root=setup.root, seconds=launch.seconds, command=launch.command,
             startup_s=t_training, eval_s=round(launch.seconds - (t_last_step or 0), 2),
             bytes=sum(os.path.getsize(os.path.join(r, f))
                       for r, _, fs in os.walk(workdir) for f in fs))
  setup.log(f'reference: done in {launch.seconds:.1f} s (start-up {t_training} s, final '
            f'evaluation {ref["eval_s"]} s); checkpoints {ref["checkpoints"]}, '
            f'{len(ref["metrics"])} metric records, {len(ref["samples"])} pictures')
  return ref


def _line_time(launch: Launch, pattern: str) -> Optional[float]:
  regex = re.compile(pattern)
  return next((round(t, 2) for t, line in launch.lines if regex.search(line)), None)


def copy_of_reference(setup: Setup, ref: dict, name: str) -> str:
  workdir = setup.workdir(name)
  shutil.copytree(ref['workdir'], workdir, ignore=shutil.ignore_patterns('.lock'))
  return workdir


def truncate_run(workdir: str, ckpt_step: int, log_step: int) -> None:
  """Makes a finished run's copy look stopped: checkpoints up to ckpt_step, the log and the
  pictures up to log_step, no eval.json."""
  for step in checkpoint_entries(workdir)[0]:
    if step > ckpt_step:
      shutil.rmtree(os.path.join(workdir, 'checkpoints', str(step)))
  for root, _, files in os.walk(os.path.join(workdir, 'samples')):
    for name in files:
      m = re.match(r'step_(\d+)\.png$', name)
      if m and int(m.group(1)) > log_step:
        os.remove(os.path.join(root, name))
  path = os.path.join(workdir, 'metrics.jsonl')
  with open(path) as f:
    kept = [line for line in f if json.loads(line)['step'] <= log_step]
  with open(path, 'w') as f:
    f.writelines(kept)
  if os.path.exists(os.path.join(workdir, 'eval.json')):
    os.remove(os.path.join(workdir, 'eval.json'))


def finish(setup: Setup, ref: dict, workdir: str, what: str) -> dict:
  """Launches the same command to the end: {'rc', 'seconds', 'differences', 'output'}."""
  launch = Launch(setup, workdir)
  rc = launch.wait()
  diffs = differences(ref, workdir) if rc == 0 else []
  setup.log(f'{what}: rerun exit {rc} in {launch.seconds:.1f} s; '
            + ('identical to the reference' if rc == 0 and not diffs else
               f'DIFFERS: {diffs}' if rc == 0 else 'FAILED:\n' + launch.tail()))
  return {'rc': rc, 'seconds': launch.seconds, 'differences': diffs, 'output': launch.output(),
          'eval_s': eval_seconds(launch, setup)}


def case_result(name: str, tries: int, failures: list, details: list, t0: float,
                summary: str, skipped: Optional[str] = None, **extra) -> dict:
  status = 'skipped' if skipped else ('fail' if failures else 'pass')
  return {'case': name, 'status': status, 'tries': tries, 'summary': summary,
          'failures': failures, 'details': details, 'skipped_reason': skipped,
          'seconds': round(time.monotonic() - t0, 1), **extra}


# --------------------------------------------------------------------------- case a: kills

KILL_KINDS = ('claim', 'launch', 'training', 'evaluation')


def kill_plan(kills: int, rounds: int, rng: random.Random) -> list:
  """Kinds of kill per round: each fresh workdir's first launch is killed as the workdir is
  claimed; the others 0.5-4 s after launch (a quarter), in the final evaluation (a sixth) or
  during training (the rest), shuffled."""
  rounds = max(1, min(rounds, kills))
  n_launch, n_eval = round(kills / 4), max(1, round(kills / 6))
  rest = ['launch'] * n_launch + ['evaluation'] * n_eval
  rest += ['training'] * max(0, kills - rounds - len(rest))
  rng.shuffle(rest)
  rest = rest[:kills - rounds]
  return [['claim'] + rest[r::rounds] for r in range(rounds)]


@dataclasses.dataclass
class KillTiming:
  claim_window_s: float = 2.0     # after the workdir's first entry appears
  launch_window_s: tuple = (0.5, 4.0)
  training_jitter_s: float = 0.8  # after the chosen step's log line
  eval_window_s: float = 3.0      # after the last step's log line; follows the runs seen

  def observe(self, eval_s: Optional[float]) -> None:
    """Narrows the evaluation window to the final evaluations seen (relaunches read the
    compilation cache, so theirs are shorter than the reference's)."""
    if eval_s:
      self.eval_window_s = max(0.3, 0.9 * eval_s)


def eval_seconds(launch: 'Launch', setup: Setup) -> Optional[float]:
  """Seconds from the last step's log line to the end of a launch that trained to the end."""
  t = _line_time(launch, rf'step {setup.num_steps}/{setup.num_steps}\b')
  return None if t is None or launch.seconds is None else round(launch.seconds - t, 2)


def kill_once(setup: Setup, launch: Launch, kind: str, rng: random.Random,
              timing: KillTiming, fresh: bool) -> dict:
  """Waits for the moment of `kind`, then SIGKILL: what it hit ('landed': False when the
  process ended first)."""
  if kind == 'claim' and not fresh:
    kind = 'launch'
  target = None
  if kind == 'claim':
    launch.wait_for_path(lambda: bool(top_entries(launch.workdir)))
    launch.sleep(rng.uniform(0, timing.claim_window_s))
  elif kind == 'launch':
    launch.sleep(rng.uniform(*timing.launch_window_s) - launch.elapsed())
  else:
    m = launch.wait_for_line(r'from step (\d+) to (\d+)')
    start = int(m.group(1)) if m else setup.num_steps
    steps = setup.log_steps(after=start)
    if kind == 'training' and len(steps) > 1:
      target = rng.choice(steps[:-1])
      if launch.wait_for_line(rf'step {target}/{setup.num_steps}\b'):
        launch.sleep(rng.uniform(0, timing.training_jitter_s))
    else:
      kind = 'evaluation'
      n = setup.num_steps
      if start >= n or launch.wait_for_line(rf'step {n}/{n}\b'):
        launch.sleep(rng.uniform(0, timing.eval_window_s))
  entries = top_entries(launch.workdir)
  landed = launch.kill()
  return {'kind': kind, 'at_s': round(launch.elapsed(), 2), 'landed': landed,
          'phase': phase_of(launch, setup), 'target_step': target, 'workdir_had': entries,
          'checkpoints': checkpoint_entries(launch.workdir)[0], 'rc': launch.rc}


def phase_of(launch: Launch, setup: Setup) -> str:
  """Where a launch was when it ended, from its output."""
  out = launch.output()
  steps = re.findall(rf'step (\d+)/{setup.num_steps}\b', out)
  if 'from step' not in out:
    return 'start-up' if out.strip() else 'start-up (no output yet)'
  if f'step {setup.num_steps}/{setup.num_steps}' in out or re.search(
      rf'from step {setup.num_steps} to', out):
    return 'final evaluation'
  return f'training, after step {steps[-1]}' if steps else 'training, before the first log'


def takeover(stale: bool, output: str) -> Optional[dict]:
  """A launch that found a killed run's lock: did it warn and go on past start-up?"""
  if not stale:
    return None
  return {'warned': bool(warnings_with(output, 'lock')), 'started': 'from step' in output}


def kill_round(setup: Setup, ref: dict, kinds: list, rng: random.Random, timing: KillTiming,
               name: str) -> dict:
  """One fresh workdir: a launch killed for each kind, then one to the end; the kinds left
  over when the run finished before its kill are returned in 'unused'."""
  workdir = setup.workdir(name)
  kills, unused, failure, takeovers = [], [], None, []
  for i, kind in enumerate(kinds):
    fresh = not top_entries(workdir)
    stale = os.path.exists(os.path.join(workdir, '.lock'))
    launch = Launch(setup, workdir)
    event = kill_once(setup, launch, kind, rng, timing, fresh)
    takeovers.append(takeover(stale, launch.output()))
    if event['landed']:
      kills.append(event)
      setup.log(f'{name}: kill {len(kills)} ({event["kind"]}) at {event["at_s"]} s, in '
                f'{event["phase"]}; workdir had {event["workdir_had"]}')
      continue
    if launch.rc != 0:
      retry = Launch(setup, workdir)
      failure = {'launch': len(kills) + 1, 'rc': launch.rc, 'output': launch.tail(25),
                 'next_rerun_rc': retry.wait()}
      setup.log(f'{name}: a relaunch exited {launch.rc} by itself:\n{launch.tail()}\n'
                f'(the next rerun exited {failure["next_rerun_rc"]})')
      break
    unused = kinds[i:]  # The run finished before this kill.
    timing.observe(eval_seconds(launch, setup))
    setup.log(f'{name}: the run finished before the {event["kind"]} kill (kills left: '
              f'{len(unused)}, in a fresh workdir)')
    break
  end = {'rc': None, 'differences': [], 'output': ''}
  if failure is None and not unused:
    stale = os.path.exists(os.path.join(workdir, '.lock'))
    end = finish(setup, ref, workdir, name)
    takeovers.append(takeover(stale, end['output']))
    timing.observe(end['eval_s'])
  elif failure is None:
    end = {'rc': 0, 'differences': differences(ref, workdir), 'output': ''}
  takeovers = [t for t in takeovers if t]
  return {'round': name, 'kills': kills, 'unused': unused, 'failure': failure,
          'takeovers': len(takeovers),
          'silent_takeovers': sum(t['started'] and not t['warned'] for t in takeovers),
          'end_rc': end['rc'], 'differences': end['differences'],
          'end_tail': end['output'][-3000:] if end['rc'] else '',
          'leftovers': leftovers(workdir)}


def kills_case(setup: Setup, ref: dict, kills: int = 20, rounds: int = 3, seed: int = 0,
               timing: Optional[KillTiming] = None, plan: Optional[list] = None) -> dict:
  """SIGKILL `kills` times over `rounds` fresh workdirs, each finished and compared."""
  t0, rng = time.monotonic(), random.Random(f'kills-{seed}')
  # The reference compiled its evaluation: a relaunch's is shorter (the window then follows it).
  timing = timing or KillTiming(eval_window_s=max(0.5, 0.4 * ref['eval_s']))
  queue = [list(k) for k in (plan or kill_plan(kills, rounds, rng))]
  results, failures, extra_rounds = [], [], 0
  while queue:
    kinds = queue.pop(0)
    result = kill_round(setup, ref, kinds, rng, timing, f'kills_{len(results)}')
    results.append(result)
    if result['failure']:
      f = result['failure']
      failures.append(f'{result["round"]}: relaunch {f["launch"]} exited {f["rc"]} by itself '
                      f'(the next rerun exited {f["next_rerun_rc"]}):\n{f["output"]}')
      break
    if result['end_rc'] != 0:
      failures.append(f'{result["round"]}: the final rerun exited {result["end_rc"]}:\n'
                      f'{result["end_tail"]}')
    elif result['differences']:
      failures.append(f'{result["round"]}: outputs differ: {result["differences"]}')
    if result['silent_takeovers']:
      failures.append(f'{result["round"]}: {result["silent_takeovers"]} relaunches took over '
                      'a killed run\'s lock without a warning line mentioning "lock"')
    if result['unused'] and extra_rounds < 3:
      extra_rounds += 1
      queue.append(['claim'] + [k for k in result['unused'] if k != 'claim'])
  landed = [k for r in results for k in r['kills']]
  by_kind = {k: sum(e['kind'] == k for e in landed) for k in KILL_KINDS}
  summary = (f'{len(landed)} SIGKILLs ({", ".join(f"{n} {k}" for k, n in by_kind.items())}) '
             f'over {len(results)} fresh workdirs, each finished by relaunching the same '
             f'command; {sum(r["takeovers"] for r in results)} relaunches found a killed '
             f'run\'s lock and took it over; '
             + ('every finished run identical to the reference' if not failures
                else f'{len(failures)} failures'))
  return case_result('kills', len(landed), failures, results, t0, summary,
                     timing=dataclasses.asdict(timing))


# --------------------------------------------------------------------------- case b: damage, torn

DAMAGE_MODES = ('truncate', 'garble', 'garble_arrays', 'garble_two', 'zeros_arrays',
                'zeros_file')


def zero_16_bytes(path: str) -> None:
  """Zeroes 16 bytes in the middle of a file: the first window from the middle on that holds a
  byte that is not zero yet (so the file does change)."""
  with open(path, 'r+b') as f:
    data = f.read()
    start = max(0, len(data) // 2 - 8)
    while start + 16 < len(data) and not any(data[start:start + 16]):
      start += 16
    f.seek(start)
    f.write(b'\0' * min(16, len(data)))


def _zero_one_file(directory: str, mode: str, rng: random.Random) -> list:
  """'zeros_arrays': 16 bytes zeroed in the largest file (array data, which orbax reads without
  an error: issue 27); 'zeros_file': in one other file, drawn by the seed."""
  names = sorted(os.path.relpath(os.path.join(root, name), directory)
                 for root, _, files in os.walk(directory) for name in files)
  largest = max(names, key=lambda n: os.path.getsize(os.path.join(directory, n)))
  name = largest if mode == 'zeros_arrays' else rng.choice([n for n in names if n != largest])
  zero_16_bytes(os.path.join(directory, name))
  return [name]


def damage_checkpoint(directory: str, mode: str, rng: random.Random) -> list:
  """Truncates every file of the checkpoint to half its size ('truncate'), or overwrites every
  file ('garble') or only the array data files, its metadata intact ('garble_arrays'), with
  random bytes of the same length, or zeroes 16 bytes of one file ('zeros_arrays',
  'zeros_file'); returns the files damaged (paths in the checkpoint)."""
  if mode.startswith('zeros'):
    return _zero_one_file(directory, mode, rng)
  damaged = []
  for root, _, files in os.walk(directory):
    if mode == 'garble_arrays' and os.path.basename(root) != 'd':
      continue  # orbax's OCDBT keeps the arrays' bytes in <item>/**/d/.
    for name in files:
      path = os.path.join(root, name)
      size = os.path.getsize(path)
      if mode == 'truncate':
        os.truncate(path, size // 2)
      else:
        with open(path, 'r+b') as f:
          f.write(rng.randbytes(size))
      damaged.append(os.path.relpath(path, directory))
  return damaged


def damage_case(setup: Setup, ref: dict, modes=DAMAGE_MODES, seed: int = 0) -> dict:
  """Damages the newest checkpoint (or two) of a finished run's copy, then reruns it."""
  t0, rng = time.monotonic(), random.Random(f'damage-{seed}')
  details, failures = [], []
  for mode in modes:
    workdir = copy_of_reference(setup, ref, f'damage_{mode}')
    victims = ref['checkpoints'][-2:] if mode == 'garble_two' else ref['checkpoints'][-1:]
    names = [n for s in victims for n in damage_checkpoint(
        os.path.join(workdir, 'checkpoints', str(s)), 'garble' if mode == 'garble_two' else mode,
        rng)]
    setup.log(f'damage {mode}: {len(names)} files of checkpoints {victims} damaged '
              f'{names if len(names) == 1 else ""}; rerunning')
    end = finish(setup, ref, workdir, f'damage {mode}')
    moved_dir = os.path.join(workdir, 'checkpoints.damaged')
    moved = sorted(os.listdir(moved_dir)) if os.path.isdir(moved_dir) else []
    problems = _end_problems(end)
    for step in victims:
      if not any(re.fullmatch(rf'{step}\.\d{{8}}-\d{{6}}.*', m) for m in moved):
        problems.append(f'checkpoint {step} not moved to checkpoints.damaged/<step>.<time> '
                        f'(there: {moved})')
    warned = warnings_with(end['output'], 'damaged')
    if end['rc'] == 0 and not warned:
      problems.append('no warning line mentioning "damaged"')
    elif end['rc'] == 0 and len(names) == 1 and not any(names[0] in w for w in warned):
      problems.append(f'the warning does not name the damaged file {names[0]}')
    details.append({'mode': mode, 'damaged_steps': victims, 'files': len(names),
                    'file': names[0] if len(names) == 1 else None, 'rc': end['rc'],
                    'moved_aside': moved, 'warnings': warned[:3], 'problems': problems,
                    'seconds': end['seconds']})
    failures += [f'damage {mode}: {p}' for p in problems]
  summary = (f'{len(modes)} damaged workdirs ({", ".join(modes)}): '
             + ('each resumed from the newest intact checkpoint, moved the damaged ones aside '
                'and finished identical to the reference' if not failures
                else f'{len(failures)} problems'))
  return case_result('damage', len(modes), failures, details, t0, summary)


def _end_problems(end: dict) -> list:
  if end['rc'] != 0:
    return [f'the rerun exited {end["rc"]}: ' + '\n'.join(end['output'].splitlines()[-12:])]
  return [f'outputs differ: {d}' for d in end['differences']]


TORN_MODES = ('stopped', 'finished')


def torn_case(setup: Setup, ref: dict, modes=TORN_MODES, seed: int = 0) -> dict:
  """metrics.jsonl ends in half a JSON line: of a run stopped after its last log line but one
  (resumes from the checkpoint before), or of a finished run; then the rerun."""
  t0, rng = time.monotonic(), random.Random(f'torn-{seed}')
  details, failures = [], []
  for mode in modes:
    workdir = copy_of_reference(setup, ref, f'torn_{mode}')
    path = os.path.join(workdir, 'metrics.jsonl')
    with open(path) as f:
      lines = f.readlines()
    last = lines[-1]
    if mode == 'stopped':
      ckpt, logged = ref['checkpoints'][-2], setup.log_steps(0)[-2]
      truncate_run(workdir, ckpt, logged)
      last = next(line for line in lines if json.loads(line)['step'] > logged)
    torn = last[:rng.randrange(1, len(last) - 1)]
    with open(path, 'a') as f:
      f.write(torn)
    setup.log(f'torn {mode}: metrics.jsonl ends in {torn[:40]!r}... ({len(torn)} of '
              f'{len(last)} characters); rerunning')
    end = finish(setup, ref, workdir, f'torn {mode}')
    problems = _end_problems(end)
    warned = warnings_with(end['output'], 'torn')
    if end['rc'] == 0 and not warned:
      problems.append('no warning line mentioning "torn"')
    details.append({'mode': mode, 'torn_chars': len(torn), 'line_chars': len(last),
                    'rc': end['rc'], 'warnings': warned[:3], 'problems': problems,
                    'seconds': end['seconds']})
    failures += [f'torn {mode}: {p}' for p in problems]
  summary = (f'{len(modes)} torn tails ({", ".join(modes)} run): '
             + ('each dropped with a warning, the rerun identical to the reference'
                if not failures else f'{len(failures)} problems'))
  return case_result('torn', len(modes), failures, details, t0, summary)


# --------------------------------------------------------------------------- case c: full disk

def tmpfs_available(root: str) -> Optional[str]:
  """None when a tmpfs can be mounted here, else why not."""
  if os.geteuid() != 0:
    return 'not available here: mounting a tmpfs needs root'
  probe = tempfile.mkdtemp(prefix='tmpfs_probe_', dir=root)
  try:
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe],
                       capture_output=True, text=True)
    if r.returncode:
      return f'not available here: mount -t tmpfs failed ({r.stderr.strip()[:200]})'
    subprocess.run(['umount', probe], check=True)
    return None
  except OSError as e:
    return f'not available here: {e}'
  finally:
    os.rmdir(probe)


def fill(path: str) -> int:
  """Writes a ballast file until the filesystem is full; its size in bytes."""
  written = 0
  with open(path, 'wb', buffering=0) as f:
    for chunk in (1 << 20, 1 << 12, 1):
      block = bytes(chunk)
      while True:
        try:
          written += f.write(block)
        except OSError as e:
          if e.errno != errno.ENOSPC:
            raise
          break
  return written


DISK_MODES = ('training', 'evaluation', 'small')


def full_disk_once(setup: Setup, ref: dict, mode: str, rng: random.Random) -> dict:
  """A workdir on a tmpfs that fills (a ballast file written mid-training or during the final
  evaluation, or a tmpfs too small for the run), the one-line error, then space freed and the
  same command rerun."""
  mount = setup.workdir(f'disk_{mode}')
  os.makedirs(mount)
  small = max(256 << 10, int(ref['bytes'] * 0.6)) // 4096 * 4096
  size = small if mode == 'small' else 64 << 20
  subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', mount], check=True)
  try:
    workdir, ballast = os.path.join(mount, 'run'), os.path.join(mount, 'ballast')
    launch, filled, target = Launch(setup, workdir), 0, None
    if mode != 'small':
      n = setup.num_steps
      # After the first checkpoint and before the last: the error names a checkpoint kept.
      steps = [s for s in setup.log_steps(0) if setup.ckpt_every < s <= n - setup.ckpt_every]
      target = rng.choice(steps or setup.log_steps(0)[:1]) if mode == 'training' else n
      if mode == 'training':
        reached = launch.wait_for_line(rf'step {target}/{n}\b') is not None
      else:  # Once the last step's picture is written: the evaluation and the last checkpoint
        # (in either order) meet the full disk.
        picture = os.path.join(workdir, 'samples', f'step_{n:07d}.png')
        reached = launch.wait_for_path(lambda: os.path.exists(picture))
      if reached:
        launch.sleep(rng.uniform(0, 0.3))
        filled = fill(ballast)
    rc = launch.wait()
    out = launch.output()
    problems = [] if rc == 1 else [f'exit status {rc}, not 1']
    problems += one_line_problems(out, NO_SPACE)
    line = next((r for r in reversed(error_records(out)) if NO_SPACE in r), '')
    missed = rc == 0 and not differences(ref, workdir)
    if missed:  # The run wrote its last file before the ballast filled the disk: no test.
      problems = []
    setup.log(f'full disk {mode}: filled after step {target} ({filled} bytes of ballast) / '
              f'tmpfs of {size} bytes; exit {rc}: {line[:300] or launch.tail(6)}')
    if mode == 'small':
      subprocess.run(['mount', '-o', f'remount,size={64 << 20}', mount], check=True)
    elif os.path.exists(ballast):
      os.remove(ballast)
    end = finish(setup, ref, workdir, f'full disk {mode}')
    problems += _end_problems(end)
    if missed:
      line = 'not tried: the run had written everything before the disk filled (exit 0)'
    return {'mode': mode, 'missed': missed, 'tmpfs_bytes': size, 'filled_after_step': target,
            'ballast_bytes': filled, 'rc': rc, 'error': line or launch.tail(8),
            'output_tail': launch.tail(40) if problems else '',
            'rerun_rc': end['rc'], 'problems': problems, 'seconds': launch.seconds}
  finally:
    reap_all()
    if subprocess.run(['umount', mount], capture_output=True).returncode:
      subprocess.run(['umount', '-l', mount], capture_output=True)


def full_disk_case(setup: Setup, ref: dict, modes=DISK_MODES, seed: int = 0) -> dict:
  t0, rng = time.monotonic(), random.Random(f'disk-{seed}')
  why_not = tmpfs_available(setup.root)
  if why_not:
    setup.log(f'full disk: {why_not}; skipped')
    return case_result('full_disk', 0, [], [], t0, why_not, skipped=why_not)
  details = [full_disk_once(setup, ref, mode, rng) for mode in modes]
  failures = [f'full disk {d["mode"]}: {p}' for d in details for p in d['problems']]
  tried = [d['mode'] for d in details if not d['missed']]
  summary = (f'{len(tried)} full disks ({", ".join(tried)}): '
             + ('each one line "No space left ..." and exit 1; after freeing space the same '
                'command finished identical to the reference' if not failures
                else f'{len(failures)} problems'))
  return case_result('full_disk', len(tried), failures, details, t0, summary)


# --------------------------------------------------------------------------- case d: second run

SECOND_MOMENTS = ('start-up', 'training', 'evaluation')


def _second_while_paused(setup: Setup, first: Launch, moment: str, rng: random.Random) -> dict:
  """At `moment` of the first run: SIGSTOP it, launch the same command, check that it exits 1
  with the in-use line and changed nothing, SIGCONT the first."""
  n, workdir = setup.num_steps, first.workdir
  if moment == 'start-up':
    reached = first.wait_for_path(lambda: os.path.exists(os.path.join(workdir, '.lock')))
  else:
    step = rng.choice(setup.log_steps(0)[:-1]) if moment == 'training' else n
    reached = first.wait_for_line(rf'step {step}/{n}\b') is not None
  if not reached or not first.alive():
    return {'moment': moment, 'problems': [f'the first run ended before the {moment} moment '
                                           f'(exit {first.proc.poll()})']}
  os.kill(first.pid, signal.SIGSTOP)
  try:
    before = workdir_state(workdir)
    second = Launch(setup, workdir)
    rc = second.wait(timeout=300)
    after = workdir_state(workdir)
  finally:
    os.kill(first.pid, signal.SIGCONT)
  out = second.output()
  problems = [] if rc == 1 else [f'exit status {rc}, not 1']
  problems += one_line_problems(out, IN_USE)
  line = next((r for r in error_records(out) if IN_USE in r), '')
  if line and (str(first.pid) not in line or socket.gethostname() not in line):
    problems.append(f'the line does not name the holder (host {socket.gethostname()}, pid '
                    f'{first.pid})')
  if before != after:
    changed = sorted(set(before.items()) ^ set(after.items()))[:6]
    problems.append(f'the workdir changed while the first run was paused: {changed}')
  return {'moment': moment, 'rc': rc, 'seconds': second.seconds, 'line': line or second.tail(8),
          'problems': problems}


def second_case(setup: Setup, ref: dict, moments=SECOND_MOMENTS, simultaneous: int = 1,
                seed: int = 0) -> dict:
  t0, rng = time.monotonic(), random.Random(f'second-{seed}')
  details, failures = [], []
  if moments:
    first = Launch(setup, setup.workdir('second_paused'))
    for moment in moments:
      d = _second_while_paused(setup, first, moment, rng)
      setup.log(f'second process at {moment}: exit {d.get("rc")} in {d.get("seconds")} s: '
                f'{d.get("line", "")[:300]} {d["problems"] or ""}')
      details.append(d)
      failures += [f'second at {moment}: {p}' for p in d['problems']]
    rc = first.wait()
    diffs = differences(ref, first.workdir) if rc == 0 else []
    problems = ([f'the first run exited {rc}:\n{first.tail()}'] if rc else
                [f'the first run\'s outputs differ: {d}' for d in diffs])
    details.append({'moment': 'first run', 'rc': rc, 'seconds': first.seconds,
                    'problems': problems})
    failures += problems
    setup.log(f'second process: the first run exited {rc}; '
              + ('identical to the reference' if not problems else str(problems)))
  for i in range(simultaneous):
    d = _simultaneous(setup, ref, f'second_together_{i}')
    details.append(d)
    failures += [f'two at once ({i}): {p}' for p in d['problems']]
  tries = len(moments) + simultaneous
  summary = (f'{len(moments)} second runs while the first ran (at {", ".join(moments)}) and '
             f'{simultaneous} pair launched at once: '
             + ('each second run exited 1 with one line naming the holder, and wrote nothing; '
                'the first finished identical to the reference' if not failures
                else f'{len(failures)} problems'))
  return case_result('second', tries, failures, details, t0, summary)


def _simultaneous(setup: Setup, ref: dict, name: str) -> dict:
  """Two launches of one fresh workdir at once: one runs to the end, the other exits 1."""
  workdir = setup.workdir(name)
  a, b = Launch(setup, workdir), Launch(setup, workdir)
  rcs = sorted([(a.wait(), a), (b.wait(), b)], key=lambda x: x[0])
  (rc_win, win), (rc_lose, lose) = rcs
  problems = []
  if (rc_win, rc_lose) != (0, 1):
    problems.append(f'exit statuses {rc_win} and {rc_lose}, not 0 and 1:\n{a.tail()}\n'
                    f'{b.tail()}')
  else:
    problems += one_line_problems(lose.output(), IN_USE)
    problems += [f'the outputs differ: {d}' for d in differences(ref, workdir)]
  setup.log(f'two at once: exits {rc_win} and {rc_lose} ({lose.seconds} s); '
            + ('identical to the reference' if not problems else str(problems)))
  return {'moment': 'launched together', 'rc': [rc_win, rc_lose],
          'seconds': [win.seconds, lose.seconds], 'problems': problems,
          'line': next((r for r in error_records(lose.output()) if IN_USE in r), '')}


# --------------------------------------------------------------------------- case e: command lines

CLI_ERRORS = (  # (the flags that replace --config and the overrides, words the line must hold)
    (['--config=' + EXPERIMENT, '--config.train.nope=1'], ['nope', 'num_steps']),
    (['--config=' + EXPERIMENT, '--config.loss.penalties.nope=1.0'], ['nope', 'r1']),
    (['--config=experiments/nope.py'], ['nope.py', 'dcgan_mnist']),
    (['--config=experiments/dcgan_mnist.py:nope'], ['nope', 'runlocal']),
)


def _cli_once(setup: Setup, i: int, flags: list, words: list) -> dict:
  workdir = os.path.join(setup.root, f'cli_{i}')
  shutil.rmtree(workdir, ignore_errors=True)
  command = [setup.python, '-m', 'gan_jax.main', f'--workdir={workdir}', *flags]
  launch = Launch(setup, workdir, command)
  rc = launch.wait(timeout=300)
  out = launch.output()
  problems = [] if rc == 1 else [f'exit status {rc}, not 1']
  records = error_records(out)
  if 'Traceback' in out:
    problems.append('a traceback')
  if len(records) != 1 or '\n' in records[0]:
    problems.append(f'{sum(r.count(chr(10)) + 1 for r in records)} error lines, not one')
  missing = [w for w in words if not any(w in r for r in records)]
  if missing:
    problems.append(f'the error does not mention {missing}')
  if os.path.exists(workdir):
    problems.append('the workdir was created')
  return {'flags': ' '.join(flags), 'rc': rc, 'seconds': launch.seconds,
          'error': '\n'.join(records)[:1500] or launch.tail(8), 'problems': problems}


def cli_case(setup: Setup, parallel: int = 1) -> dict:
  t0 = time.monotonic()
  with futures.ThreadPoolExecutor(parallel) as pool:
    details = list(pool.map(lambda a: _cli_once(setup, a[0], *a[1]), enumerate(CLI_ERRORS)))
  for d in details:
    setup.log(f'cli {d["flags"]}: exit {d["rc"]} in {d["seconds"]} s: '
              f'{d["error"][:200]!r} {d["problems"] or ""}')
  failures = [f'{d["flags"]}: {p}' for d in details for p in d['problems']]
  summary = (f'{len(details)} bad command lines: '
             + ('each one line naming the valid choices, exit 1, no traceback, nothing written'
                if not failures else f'{len(failures)} problems'))
  return case_result('cli', len(details), failures, details, t0, summary)


# --------------------------------------------------------------------------- the digests' cost

DIGEST_COST_SAVES = 15


def digest_cost(setup: Setup, saves: int = DIGEST_COST_SAVES) -> dict:
  """Save and restore times of dcgan_mnist's default state with checkpoint.py's digests and
  without (orbax alone), medians of `saves` each; measured in a child process (this script
  imports no JAX). {'error': ...} when the child failed."""
  directory = os.path.join(setup.root, 'digest_cost')
  shutil.rmtree(directory, ignore_errors=True)
  command = [setup.python, os.path.join(setup.repo, 'scripts', 'chaos.py'),
             '--digest-cost-child', directory, str(saves)]
  r = subprocess.run(command, cwd=setup.repo, env=setup.env(), capture_output=True, text=True,
                     timeout=LAUNCH_TIMEOUT_S)
  lines = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')]
  if r.returncode != 0 or not lines:
    return {'error': f'exit {r.returncode}: ' + '\n'.join(r.stderr.splitlines()[-8:])}
  cost = json.loads(lines[-1][len('RESULT '):])
  setup.log(f'digest cost: {digest_sentence(cost)}')
  return cost


def _median_ms(times: list) -> float:
  return round(1000 * sorted(times)[len(times) // 2], 1)


def _noisy_state(exp):
  """dcgan_mnist's initial state with N(0, 1) added to every float array (as after training:
  the optimizer moments are no longer zeros), placed on the mesh."""
  import jax
  import numpy as np
  rng = np.random.default_rng(0)
  host = jax.device_get(exp.init_state())
  return exp.place(jax.tree.map(
      lambda x: (x + rng.normal(size=x.shape)).astype(x.dtype)
      if np.issubdtype(x.dtype, np.floating) else x, host))


def digest_cost_child(directory: str, saves: int) -> dict:
  """The measurement itself: `saves` saves into a plain orbax CheckpointManager (the options
  checkpoint.Checkpointer gives it) and into a Checkpointer, interleaved, after one of each
  not counted; then as many restores of the last one by each; then the digests alone."""
  from gan_jax import xla_defaults
  xla_defaults.apply()  # As gan_jax.main does, before JAX opens a backend.
  import jax
  import orbax.checkpoint as ocp
  from gan_jax import checkpoint as checkpoint_lib, configs
  from gan_jax.experiment import Experiment
  exp = Experiment(configs.load_experiment(os.path.join(REPO, 'experiments', 'dcgan_mnist.py')))
  state = _noisy_state(exp)
  plain = ocp.CheckpointManager(
      os.path.join(directory, 'plain'), item_handlers=ocp.StandardCheckpointHandler(),
      options=ocp.CheckpointManagerOptions(max_to_keep=3, create=True,
                                           enable_async_checkpointing=False,
                                           cleanup_tmp_directories=True))
  ours = checkpoint_lib.Checkpointer(os.path.join(directory, 'digests'))
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)

  def save_plain(step):
    plain.save(step, args=ocp.args.StandardSave(state))
    plain.wait_until_finished()
  save = _interleaved({'save_without': save_plain, 'save_with': lambda i: ours.save(i, state)},
                      saves)
  restore = _interleaved({
      'restore_without': lambda i: plain.restore(saves, args=ocp.args.StandardRestore(abstract)),
      'restore_with': lambda i: ours.restore(state, saves)}, saves)
  digests = _interleaved({
      'array_digests': lambda i: checkpoint_lib.array_digests(state),
      'file_digests': lambda i: checkpoint_lib.file_digests(ours.step_dir(saves))}, saves)
  ours.close()
  plain.close()
  leaves = jax.tree.leaves(state)
  return {'state_mb': round(sum(x.nbytes for x in leaves) / 1e6, 2), 'arrays': len(leaves),
          'saves': saves, 'devices': jax.device_count(), **save, **restore, **digests}


def _interleaved(fns: dict, n: int) -> dict:
  """'<name>_ms': the median time of fn(i) for i = 1..n, the fns called in turn (in alternating
  order), after a round at i = 0 that is not counted."""
  times = {name: [] for name in fns}
  for i in range(n + 1):
    for name in sorted(fns, reverse=bool(i % 2)):
      t = time.perf_counter()
      fns[name](i)
      if i:
        times[name].append(time.perf_counter() - t)
  return {f'{name}_ms': _median_ms(t) for name, t in times.items()}


def digest_sentence(c: dict) -> str:
  if 'error' in c:
    return f'not measured: {c["error"]}'
  extra = c['save_with_ms'] - c['save_without_ms']
  return (f'saving dcgan_mnist\'s default state ({c["state_mb"]} MB in {c["arrays"]} arrays, '
          f'random values) took {c["save_without_ms"]} ms with orbax alone and '
          f'{c["save_with_ms"]} ms with the digests ({extra:+.1f} ms, '
          f'{100 * extra / c["save_without_ms"]:+.0f}%; medians of {c["saves"]} saves each, '
          f'interleaved); the digests alone: {c["array_digests_ms"]} ms for the arrays (from the '
          f'device), {c["file_digests_ms"]} ms for the files. Restoring it took '
          f'{c["restore_without_ms"]} ms with orbax alone and {c["restore_with_ms"]} ms through '
          'checkpoint.Checkpointer.restore (the saved tree compared with the state\'s, as '
          'before the digests, then its files and restored arrays checked against their '
          'digests; medians as well).')


# --------------------------------------------------------------------------- the report

GUARANTEES = """\
What gan_jax guarantees about a workdir, and which case below checks it:

- **Killed at any moment** (SIGKILL, preemption), start-up included: rerunning the same command
  resumes from the last checkpoint and ends bit for bit like an uninterrupted run: every
  metrics.jsonl value but `steps_per_s`, every sample picture, eval.json. A killed run's lock is
  taken over by the rerun (with a warning). *kills*
- **A damaged checkpoint** (files truncated or overwritten, or 16 bytes of any one file
  zeroed) is moved to `checkpoints.damaged/<step>.<time>` with one warning naming the step and
  the file, and the run resumes from the newest one that restores; nothing is deleted. Orbax
  keeps no checksum of array data, so gan_jax writes sha256 digests with every checkpoint (of
  every array: parameters, optimizer states, EMA, in orbax's step metadata; of every file, in
  `gan_jax_manifest.json`) and checks them at restore; a checkpoint written before the digests
  restores unverified, with a warning. In a run of several processes every process checks the
  same checkpoint and all agree on the step restored (tests/test_workdir.py, 2 processes). *damage*
- **A torn last line of metrics.jsonl** (a kill or a full disk mid-write) is dropped on resume
  with a warning; the lines before it are kept. *torn*
- **A full disk** during a checkpoint, metrics, picture or evaluation write ends the run with one
  line `No space left ...` naming the step and the last checkpoint kept (exit status 1); after
  space is freed the same command resumes and finishes. *full_disk*
- **One run per workdir**: a second run of a workdir in use exits at once with status 1 and one
  line naming the holder (host, pid, since when), writing nothing; the first is untouched. In a
  run of several processes process 0 takes the lock (a dead run's taken over) while the others
  wait, and all stop when it cannot (tests/test_workdir.py). *second*
- **A bad command line** is answered in one line, exit status 1, no traceback, naming the valid
  choices, before anything is written. *cli*
"""


def machine() -> dict:
  cpu = 'unknown'
  try:
    with open('/proc/cpuinfo') as f:
      cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')),
                 cpu)
  except OSError:
    pass

  def version(name):
    try:
      return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      return None

  commit = subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=REPO,
                          capture_output=True, text=True).stdout.strip()
  return {'cpu': cpu, 'cores': os.cpu_count(), 'platform': platform.platform(),
          'python': platform.python_version(), 'jax': version('jax'),
          'orbax': version('orbax-checkpoint'), 'commit': commit or None,
          'load_average_at_start': [round(x, 2) for x in os.getloadavg()]}


def write_report(results: list, ref: dict, args, command: str, info: dict, wall_s: float,
                 out_dir: str, digests: Optional[dict] = None) -> tuple:
  info = dict(info, load_average_at_end=[round(x, 2) for x in os.getloadavg()])
  held = all(r['status'] != 'fail' for r in results)
  payload = {'command': command, 'seed': args.seed, 'held': held, 'wall_s': round(wall_s, 1),
             'machine': info, 'run': ' '.join(ref['command'][1:]).replace(ref['workdir'],
                                                                          '<workdir>'),
             'reference': {k: ref[k] for k in ('seconds', 'startup_s', 'eval_s', 'checkpoints')},
             'cases': results, 'digest_cost': digests}
  # The scratch directory is gone when the report is read: its paths read <scratch>.
  payload = json.loads(json.dumps(payload, default=str).replace(ref['root'], '<scratch>'))
  json_path, md_path = (os.path.join(out_dir, 'reliability.' + e) for e in ('json', 'md'))
  with open(json_path, 'w') as f:
    json.dump(payload, f, indent=1)
    f.write('\n')
  with open(md_path, 'w') as f:
    f.write(markdown(payload))
  return md_path, json_path


def markdown(p: dict) -> str:
  m = p['machine']
  lines = [
      '# Reliability: killed, damaged, full and shared workdirs',
      '',
      f'Generated by `{p["command"]}` (`make chaos`, scripts/chaos.py); do not edit by hand. '
      f'Seed {p["seed"]}; {p["wall_s"] / 60:.1f} minutes on {m["cores"]} x {m["cpu"]} '
      f'({m["platform"]}; Python {m["python"]}, JAX {m["jax"]}, orbax {m["orbax"]}; commit '
      f'{m["commit"]}; load average {m["load_average_at_start"][0]} at the start, '
      f'{m["load_average_at_end"][0]} at the end).',
      '',
      f'**{"Every case held." if p["held"] else "NOT every case held: see the failures below."}**',
      '',
      GUARANTEES,
      f'Each case runs `python {p["run"]}` and compares every run it finishes with an '
      f'uninterrupted run of that command (the reference: {p["reference"]["seconds"]:.0f} s, '
      f'checkpoints {p["reference"]["checkpoints"]} kept): every metrics.jsonl value but '
      '`steps_per_s`, every sample PNG (bytes), eval.json and config.json (bytes) and the steps '
      'in checkpoints/. The relaunches share a JAX compilation cache written by the reference '
      'run alone.',
      '',
      '| case | tries | result | what held |',
      '|---|---|---|---|',
  ]
  for r in p['cases']:
    lines.append(f'| {r["case"]} | {r["tries"]} | {r["status"].upper()} | {r["summary"]} |')
  for r in p['cases']:
    lines += ['', f'## {r["case"]} ({r["status"]}, {r["seconds"]:.0f} s)', '', r['summary'], '']
    lines += _case_lines(r)
    if r['failures']:
      lines += ['', 'Failures:', '']
      lines += ['```'] + [f.replace('```', "'''") for f in r['failures']] + ['```']
  if p.get('digest_cost'):
    lines += ['', '## The cost of the digests', '',
              'Measured by the same command (scripts/chaos.py `digest_cost`: `python '
              'scripts/chaos.py --digest-cost-child DIR N` alone), on the machine above: '
              + digest_sentence(p['digest_cost'])]
  return '\n'.join(lines) + '\n'


def _case_lines(r: dict) -> list:
  d = r['details']
  if r['case'] == 'kills':
    rows = ['| # | workdir | kind | at (s after launch) | landed in | workdir held |',
            '|---|---|---|---|---|---|']
    n = 0
    for rnd in d:
      for k in rnd['kills']:
        n += 1
        rows.append(f'| {n} | {rnd["round"]} | {k["kind"]} | {k["at_s"]} | {k["phase"]} | '
                    f'{_entries(k["workdir_had"], k["checkpoints"])} |')
    left = sorted({x for rnd in d for x in rnd['leftovers']})
    t = r['timing']
    return rows + ['', f'Kinds: claim = within {t["claim_window_s"]} s of the first file '
                   'appearing in a fresh workdir; launch = '
                   f'{"-".join(map(str, t["launch_window_s"]))} s after launch; training = up to '
                   f'{t["training_jitter_s"]} s after a random logged step (a relaunch with no '
                   'step left to train is killed in its evaluation instead); evaluation = during '
                   'the final evaluation. "landed in" is read from the killed process\'s output.'
                   + (f' Left behind by kills (temporary files or unfinished checkpoints, '
                      f'read by no run): {left}.' if left else ' Nothing was left behind (no '
                      'temporary files, no unfinished checkpoints).')]
  if r['case'] == 'cli':
    return ['| command line | exit | s | the answer |', '|---|---|---|---|'] + [
        f'| `{x["flags"]}` | {x["rc"]} | {x["seconds"]} | '
        f'{_cell(x["error"])} |' for x in d]
  if r['case'] == 'second':
    return ['| second run launched | exit | s | its answer |', '|---|---|---|---|'] + [
        f'| {x["moment"]} | {x.get("rc")} | {x.get("seconds")} | {_cell(x.get("line", ""))} |'
        for x in d]
  if r['case'] == 'full_disk':
    if r['skipped_reason']:
      return [r['skipped_reason']]
    return ['| mode | tmpfs | filled after step | exit | the answer | rerun exit |',
            '|---|---|---|---|---|---|'] + [
        f'| {x["mode"]} | {x["tmpfs_bytes"] >> 10} KiB | {x["filled_after_step"]} | {x["rc"]} | '
        f'{_cell(x["error"])} | {x["rerun_rc"]} |' for x in d]
  if r['case'] == 'damage':
    return ['| mode | checkpoints damaged | files | rerun exit | moved aside | warning |',
            '|---|---|---|---|---|---|'] + [
        f'| {x["mode"]} | {x["damaged_steps"]} | {x.get("file") or x["files"]} | {x["rc"]} | '
        f'{", ".join(x["moved_aside"])} | {_cell(" / ".join(x["warnings"]))} |' for x in d]
  if r['case'] == 'torn':
    return ['| run | torn line kept | rerun exit | warning |', '|---|---|---|---|'] + [
        f'| {x["mode"]} | {x["torn_chars"]} of {x["line_chars"]} characters | {x["rc"]} | '
        f'{_cell(" / ".join(x["warnings"]))} |' for x in d]
  return []


def _entries(names: list, steps: list) -> str:
  """A workdir's top entries, its TensorBoard files counted, its checkpoint steps named."""
  events = sum(n.startswith('events.out.tfevents') for n in names)
  shown = [f'checkpoints {steps}' if n == 'checkpoints' else n for n in names
           if not n.startswith('events.out.tfevents')]
  return ', '.join(shown + ([f'{events} TensorBoard files'] if events else [])) or '(nothing)'


def _cell(text: str) -> str:
  text = re.sub(r'^[EWIF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] ', '', text or '')
  return text.replace('|', '\\|').replace('\n', ' ')[:400]


# --------------------------------------------------------------------------- main

def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--kills', type=int, default=20, help='SIGKILLs in the kills case')
  parser.add_argument('--rounds', type=int, default=3, help='fresh workdirs the kills span')
  parser.add_argument('--only', default=','.join(CASES), help=f'cases, of {",".join(CASES)}')
  parser.add_argument('--root', default=None, help='scratch directory (default: a new one)')
  parser.add_argument('--keep', action='store_true', help='keep the scratch directory')
  parser.add_argument('--report-dir', default=os.path.join(REPO, 'docs'),
                      help='where reliability.md/.json go; "" writes none')
  parser.add_argument('--digest-cost-child', nargs=2, metavar=('DIR', 'N'),
                      help='only measure the digests\' cost (N saves in DIR): one RESULT line')
  return parser


def main(argv=None):
  parser = _parser()
  args = parser.parse_args(argv)
  if args.digest_cost_child:
    directory, saves = args.digest_cost_child
    print('RESULT ' + json.dumps(digest_cost_child(directory, int(saves))), flush=True)
    return 0
  cases = [c for c in args.only.split(',') if c]
  unknown = sorted(set(cases) - set(CASES))
  if unknown:
    parser.error(f'unknown cases {unknown}; valid: {list(CASES)}')
  root = args.root or tempfile.mkdtemp(prefix='gan_jax_chaos_')
  os.makedirs(root, exist_ok=True)
  t0 = time.monotonic()

  def log(msg):
    s = int(time.monotonic() - t0)
    print(f'[chaos {s // 60}:{s % 60:02d}] {msg}', flush=True)

  setup = Setup(root=root, log=log)
  info, command = machine(), 'python scripts/chaos.py ' + ' '.join(
      argv if argv is not None else sys.argv[1:])
  log(f'scratch {root}; cases {cases}; seed {args.seed}')
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
  try:
    ref = reference(setup)
    run = {'kills': lambda: kills_case(setup, ref, args.kills, args.rounds, args.seed),
           'damage': lambda: damage_case(setup, ref, seed=args.seed),
           'torn': lambda: torn_case(setup, ref, seed=args.seed),
           'full_disk': lambda: full_disk_case(setup, ref, seed=args.seed),
           'second': lambda: second_case(setup, ref, seed=args.seed),
           'cli': lambda: cli_case(setup)}
    results = []
    for case in cases:
      log(f'--- {case}')
      results.append(run[case]())
      log(f'{case}: {results[-1]["status"].upper()}: {results[-1]["summary"]}')
    cost = digest_cost(setup) if 'damage' in cases else None
  finally:
    reap_all()
    if not args.keep:
      shutil.rmtree(root, ignore_errors=True)
  wall = time.monotonic() - t0
  if args.report_dir:
    paths = write_report(results, ref, args, command.strip(), info, wall, args.report_dir,
                         cost)
    log(f'wrote {", ".join(os.path.relpath(p, REPO) for p in paths)}')
  held = all(r['status'] != 'fail' for r in results)
  log(('every case held' if held else 'FAILED: ' + ', '.join(
      r['case'] for r in results if r['status'] == 'fail')) + f' ({wall / 60:.1f} min)')
  return 0 if held else 1


if __name__ == '__main__':
  sys.exit(main())
