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
