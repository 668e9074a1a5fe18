"""The chaos runs' setup (cadences, command, environment) and one launched process."""
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPERIMENT = 'experiments/dcgan_mnist.py:runlocal'
# The final evaluation on the 500 test digits with 64 samples: every launch of an evaluating run
# builds the reference features, and the test split keeps that to a second.
EVAL_OVERRIDES = ('--config.eval.reference_split=test', '--config.eval.num_samples=64')
LAUNCH_TIMEOUT_S = 900


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

  def line_time(self, pattern: str) -> Optional[float]:
    """Seconds after launch of the first line matching `pattern`, or None."""
    regex = re.compile(pattern)
    return next((round(t, 2) for t, line in self.lines if regex.search(line)), None)

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
    """Waits for the end (SIGKILL after `timeout`); the exit status."""
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
