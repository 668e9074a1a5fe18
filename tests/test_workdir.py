"""The workdir's rules: same config or refused, start-up leftovers accepted, one run at a time."""
import json
import os
import subprocess
import sys
import time

import pytest

from gan_jax import workdir as workdir_lib


def test_start_up_leftovers_are_not_another_run(tiny_config, tmp_path):
  # What a kill during start-up could leave before config.json existed (older versions made
  # checkpoints/ first): an empty checkpoints/, orbax temporaries, a lock, an empty metrics file.
  (tmp_path / 'checkpoints' / '2.orbax-checkpoint-tmp-123').mkdir(parents=True)
  (tmp_path / 'metrics.jsonl').write_text('')
  (tmp_path / 'samples').mkdir()
  assert workdir_lib.check_workdir(tiny_config, str(tmp_path)) == str(tmp_path)
  (tmp_path / 'checkpoints' / '2').mkdir()  # A finished checkpoint: another run's output.
  with pytest.raises(workdir_lib.WorkdirError, match='no config.json'):
    workdir_lib.check_workdir(tiny_config, str(tmp_path))


def test_claim_writes_config_under_the_lock(tiny_config, tmp_path):
  lock = workdir_lib.claim(str(tmp_path), tiny_config, is_writer=True)
  holder = json.load(open(tmp_path / '.lock'))
  assert holder['pid'] == os.getpid() and json.load(open(tmp_path / 'config.json'))
  with pytest.raises(workdir_lib.WorkdirError, match=f'in use by another run .*pid {os.getpid()}'):
    workdir_lib.WorkdirLock(str(tmp_path)).ensure_free()  # Alive: this very process.
  lock.release()
  assert not (tmp_path / '.lock').exists()
  assert workdir_lib.claim(str(tmp_path), tiny_config, is_writer=False) is None


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
  dead = subprocess.Popen([sys.executable, '-c', 'pass'])
  dead.wait()
  import socket
  (tmp_path / '.lock').write_text(json.dumps({'host': socket.gethostname(), 'pid': dead.pid,
                                              'start': 1, 'since': time.time()}))
  lock = workdir_lib.WorkdirLock(str(tmp_path))
  lock.ensure_free()
  lock.acquire()
  assert json.load(open(tmp_path / '.lock'))['pid'] == os.getpid()
  lock.release()
  (tmp_path / '.lock').write_text('{"host": "vm", "pi')  # Torn by a kill mid-write.
  lock.acquire()
  lock.release()


def test_lock_of_a_live_process_on_another_host_is_respected(tmp_path):
  (tmp_path / '.lock').write_text(json.dumps({'host': 'elsewhere', 'pid': 1, 'since': 0}))
  with pytest.raises(workdir_lib.WorkdirError, match='host elsewhere, pid 1'):
    workdir_lib.WorkdirLock(str(tmp_path)).acquire()
  assert json.load(open(tmp_path / '.lock'))['host'] == 'elsewhere'  # Untouched.


def test_disk_full_message_names_step_and_checkpoint():
  e = workdir_lib.disk_full('/w', 12, 'a checkpoint', 8)
  assert 'No space left on device in /w at step 12' in str(e) and 'step 8' in str(e)
  assert 'starts over' in str(workdir_lib.disk_full('/w', 4, 'metrics', None))


def test_another_config_is_refused_naming_the_flags_that_resume_it(tiny_config, tmp_path):
  saved = json.loads(tiny_config.to_json())
  saved['optim']['d_lr'], saved['model']['latent_dim'] = 0.5, 7
  saved['train']['num_steps'] = 99  # Resumable: neither a difference nor a flag.
  (tmp_path / 'config.json').write_text(json.dumps(saved))
  with pytest.raises(workdir_lib.WorkdirError) as e:
    workdir_lib.check_workdir(tiny_config, str(tmp_path))
  message = str(e.value)
  assert f'optim.d_lr: 0.5 in the workdir, {tiny_config.optim.d_lr!r} now' in message
  assert message.endswith("To resume the workdir's run as it was, add: "
                          '--config.model.latent_dim=7 --config.optim.d_lr=0.5')


# --- Two processes: the lock and the damaged-checkpoint fallback (tests/workdir_worker.py) -----

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'workdir_worker.py')


def _free_port() -> int:
  import socket
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _two_processes(workdir: str, tmp_path, num_steps: int, timeout: float = 300) -> list:
  """Runs the 2 processes of one run to `num_steps`: (exit status, RESULT, stderr) of each. A
  process still running after `timeout` seconds is killed and fails the test (a hang)."""
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu',
         'XLA_FLAGS': '--xla_force_host_platform_device_count=1'}
  coordinator = f'127.0.0.1:{_free_port()}'
  procs = [subprocess.Popen(
      [sys.executable, WORKER, workdir, str(tmp_path / f'p{i}.npz'), coordinator, '2', str(i),
       str(num_steps)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for i in range(2)]
  deadline, results = time.monotonic() + timeout, []
  try:
    for i, p in enumerate(procs):
      try:
        out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
      except subprocess.TimeoutExpired:
        pytest.fail(f'process {i} still ran after {timeout} s: a hang')
      lines = [l for l in out.splitlines() if l.startswith('RESULT ')]
      assert lines, f'process {i} exited {p.returncode} without a result:\n{err[-3000:]}'
      results.append((p.returncode, json.loads(lines[-1][len('RESULT '):]), err))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()
  return results


def _zero_16_bytes_of_largest_file(step_dir) -> str:
  files = [os.path.join(r, f) for r, _, fs in os.walk(step_dir) for f in fs]
  path = max(files, key=os.path.getsize)
  with open(path, 'r+b') as f:
    f.seek(os.path.getsize(path) // 2 - 8)
    f.write(b'\0' * 16)
  return os.path.relpath(path, step_dir)


def _dead_pid() -> int:
  dead = subprocess.Popen([sys.executable, '-c', 'pass'])
  dead.wait()
  return dead.pid


@pytest.mark.slow
def test_two_processes_take_a_stale_lock_and_agree_on_the_older_checkpoint(tmp_path):
  import socket
  import numpy as np
  workdir = str(tmp_path / 'run')
  for rc, result, err in _two_processes(workdir, tmp_path, num_steps=4):
    assert rc == 0 and result['resumed'] == [None], err[-3000:]
  ckpts = os.path.join(workdir, 'checkpoints')
  assert sorted(os.listdir(ckpts)) == ['2', '4']
  damaged = _zero_16_bytes_of_largest_file(os.path.join(ckpts, '4'))
  (tmp_path / 'run' / '.lock').write_text(json.dumps(  # A run killed on this host.
      {'host': socket.gethostname(), 'pid': _dead_pid(), 'start': 1, 'since': time.time()}))
  (rc0, r0, err0), (rc1, r1, err1) = _two_processes(workdir, tmp_path, num_steps=6)
  assert rc0 == 0 and rc1 == 0, (err0[-3000:], err1[-3000:])
  assert r0['resumed'] == r1['resumed'] == [2]  # Both fell back to the same older step.
  assert 'Took over' in err0 and '.lock' in err0  # Process 0 took the dead run's lock over.
  warning = [l for l in err0.splitlines() if 'is damaged' in l]
  assert len(warning) == 1 and 'step 4' in warning[0] and damaged in warning[0], warning
  assert [n.split('.')[0] for n in os.listdir(ckpts + '.damaged')] == ['4']  # Moved once.
  assert sorted(os.listdir(ckpts)) == ['2', '4', '6'] and not os.path.exists(
      os.path.join(workdir, '.lock'))
  with np.load(tmp_path / 'p0.npz') as a, np.load(tmp_path / 'p1.npz') as b:
    for k in a.files:
      np.testing.assert_array_equal(a[k], b[k])  # The same state on both, bit for bit.


@pytest.mark.slow
def test_two_processes_both_stop_when_a_live_run_holds_the_lock(tmp_path):
  import socket
  (tmp_path / 'run').mkdir()
  (tmp_path / 'run' / '.lock').write_text(json.dumps(  # This test process: alive.
      {'host': socket.gethostname(), 'pid': os.getpid(), 'start': None, 'since': time.time()}))
  (rc0, r0, err0), (rc1, r1, err1) = _two_processes(str(tmp_path / 'run'), tmp_path, 4,
                                                    timeout=180)
  assert rc0 == rc1 == 1, (err0[-2000:], err1[-2000:])
  assert r0['error'].startswith('WorkdirError:') and 'in use by another run' in r0['error']
  assert r1['error'].startswith('ProcessError: Process 0 of the run stopped at "workdir_free"')
  assert 'in use by another run' in r1['error']
  assert sorted(os.listdir(tmp_path / 'run')) == ['.lock']  # Nothing written by either.
