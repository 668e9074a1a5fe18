"""The full disk case: the workdir on a small tmpfs (root only) filled mid-run by a ballast file,
or too small from the start: one line 'No space left ...' and exit 1; after the space is freed
the same command resumes and finishes like the reference."""
import errno
import os
import random
import subprocess
import tempfile
import time
from typing import Optional

from tests.chaos.launch import Launch, Setup, reap_all
from tests.chaos.output import NO_SPACE, error_records, one_line_problems
from tests.chaos.runs import case_result, end_problems, finish
from tests.chaos.workdir import differences

DISK_MODES = ('training', 'evaluation', 'small')


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


def _fill_mid_run(setup: Setup, launch: Launch, mode: str, ballast: str,
                  rng: random.Random) -> tuple:
  """Fills the disk after a random logged step ('training') or once the last step's picture
  is written ('evaluation'): (the step aimed after, the ballast's bytes)."""
  n = setup.num_steps
  # After the first checkpoint and before the last: the error names a checkpoint kept.
  steps = [s for s in setup.log_steps(0) if setup.ckpt_every < s <= n - setup.ckpt_every]
  target = rng.choice(steps or setup.log_steps(0)[:1]) if mode == 'training' else n
  if mode == 'training':
    reached = launch.wait_for_line(rf'step {target}/{n}\b') is not None
  else:  # Once the last step's picture is written: the evaluation and the last checkpoint
    # (in either order) meet the full disk.
    picture = os.path.join(launch.workdir, 'samples', f'step_{n:07d}.png')
    reached = launch.wait_for_path(lambda: os.path.exists(picture))
  if not reached:
    return target, 0
  launch.sleep(rng.uniform(0, 0.3))
  return target, fill(ballast)


def _on_full_disk(setup: Setup, ref: dict, mode: str, mount: str, size: int,
                  rng: random.Random) -> dict:
  """Runs in mount/run until the disk is full, frees the space, reruns to the end."""
  workdir, ballast = os.path.join(mount, 'run'), os.path.join(mount, 'ballast')
  launch, filled, target = Launch(setup, workdir), 0, None
  if mode != 'small':
    target, filled = _fill_mid_run(setup, launch, mode, ballast, rng)
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
  problems += end_problems(end)
  if missed:
    line = 'not tried: the run had written everything before the disk filled (exit 0)'
  return {'mode': mode, 'missed': missed, 'tmpfs_bytes': size, 'filled_after_step': target,
          'ballast_bytes': filled, 'rc': rc, 'error': line or launch.tail(8),
          'output_tail': launch.tail(40) if problems else '',
          'rerun_rc': end['rc'], 'problems': problems, 'seconds': launch.seconds}


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
    return _on_full_disk(setup, ref, mode, mount, size, rng)
  finally:
    reap_all()
    if subprocess.run(['umount', mount], capture_output=True).returncode:
      subprocess.run(['umount', '-l', mount], capture_output=True)


def case(setup: Setup, ref: dict, modes=DISK_MODES, seed: int = 0) -> dict:
  """Each mode's full disk (skipped, with the reason, where no tmpfs can be mounted)."""
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
