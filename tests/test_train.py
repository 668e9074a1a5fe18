"""End-to-end: outputs, reproducibility, resume, bad inputs, and `python -m gan_jax.main`."""
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import experiment
from gan_jax import logbook
from gan_jax import train
from gan_jax import workdir as workdir_lib
from tests.conftest import REPO, eval_records, load_experiment, train_records


TIMING = ('steps_per_s',)


def _strip_timing(records):
  return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def _assert_states_identical(a, b):
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))  # Bit for bit.


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  """(config, workdir, final state) of one dcgan_mnist:runlocal run, shared by the tests that
  only read its outputs or rerun it unchanged."""
  from gan_jax import sweep
  from tests.conftest import load_experiment
  from tests.golden_runs import DCGAN_MNIST_BEFORE_ISSUE_16
  # The recipe these checks were written for (an 8x8 grid, lr 2e-4): tests/conftest.py's.
  config = sweep.apply_overrides(load_experiment('dcgan_mnist', 'runlocal'),
                                 DCGAN_MNIST_BEFORE_ISSUE_16)
  workdir = str(tmp_path_factory.mktemp('finished') / 'run')
  return config, workdir, train.train_and_evaluate(config, workdir)


def test_run_writes_every_output(finished_run):
  _, workdir, _ = finished_run
  assert json.load(open(os.path.join(workdir, 'config.json')))['optim']['g_lr'] == 2e-4
  records = train_records(os.path.join(workdir, 'metrics.jsonl'))
  assert [r['step'] for r in records] == [2, 4]
  for key in ('d_loss', 'g_loss', 'steps_per_s', 'd_real', 'd_fake', 'd_grad_norm', 'g_grad_norm'):
    assert all(np.isfinite(r[key]) for r in records), key
  assert sorted(os.listdir(os.path.join(workdir, 'samples'))) == [
      'step_0000002.png', 'step_0000004.png']
  grid = np.asarray(Image.open(os.path.join(workdir, 'samples', 'step_0000004.png')))
  assert grid.shape == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 tiles of 28 pixels, 2-pixel borders.
  assert any(n.startswith('events.out.tfevents') for n in os.listdir(workdir))
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  assert ckpt.all_steps() == [2, 4]
  # Evaluated once, at the end (train.eval_every=0), with the mnist_classifier protocol.
  assert [r['step'] for r in eval_records(os.path.join(workdir, 'metrics.jsonl'))] == [4]
  assert json.load(open(os.path.join(workdir, 'eval.json')))['protocol']['features'] == (
      'mnist_classifier')
  ckpt.close()


def _read_events(workdir):
  """Parses TensorBoard event files (TFRecord framing) with tensorboardX's own protobufs."""
  import struct
  from tensorboardX.proto import event_pb2
  events = []
  for name in sorted(os.listdir(workdir)):
    if not name.startswith('events.out.tfevents'):
      continue
    data = open(os.path.join(workdir, name), 'rb').read()
    pos = 0
    while pos < len(data):
      (length,) = struct.unpack('<Q', data[pos:pos + 8])
      event = event_pb2.Event()
      event.ParseFromString(data[pos + 12:pos + 12 + length])
      events.append(event)
      pos += 12 + length + 4
  return events


def test_tensorboard_events_hold_scalars_and_grid(finished_run):
  _, workdir, _ = finished_run
  scalars, images = {}, []
  for event in _read_events(workdir):
    for value in event.summary.value:
      if value.HasField('image'):
        images.append((event.step, value.tag, value.image.width, value.image.height))
      else:
        scalars.setdefault(value.tag, []).append(event.step)
  assert scalars['d_loss'] == [2, 4] and scalars['g_loss'] == [2, 4] and 'steps_per_s' in scalars
  assert images == [(2, 'samples', 242, 242), (4, 'samples', 242, 242)]


# Same seed, same numbers: tests/test_golden.py reruns six runs against stored values exactly.


@pytest.mark.slow
def test_stopped_and_resumed_run_equals_uninterrupted(tiny_config, tmp_path):
  tiny_config.train.num_steps = 6
  full = train.train_and_evaluate(tiny_config, str(tmp_path / 'full'))
  resumed_dir = str(tmp_path / 'resumed')
  tiny_config.train.num_steps = 3  # Stops after the checkpoint at step 2 and one more step.
  train.train_and_evaluate(tiny_config, resumed_dir)
  # Simulate a stop between checkpoints: drop checkpoint 3, keep its logged metrics line.
  import shutil
  shutil.rmtree(os.path.join(resumed_dir, 'checkpoints', '3'))
  tiny_config.train.num_steps = 6
  resumed = train.train_and_evaluate(tiny_config, resumed_dir)
  _assert_states_identical(full, resumed)
  m_full = train_records(str(tmp_path / 'full' / 'metrics.jsonl'))
  m_res = train_records(os.path.join(resumed_dir, 'metrics.jsonl'))
  # The resumed log is the uninterrupted one: step 3's stale line is gone, steps 2, 4, 6 match.
  assert _strip_timing(m_res) == _strip_timing(m_full)


def test_finished_run_is_not_retrained(finished_run):
  config, workdir, a = finished_run
  b = train.train_and_evaluate(config, workdir)
  _assert_states_identical(a, b)
  assert len(train_records(os.path.join(workdir, 'metrics.jsonl'))) == 2
  assert len(eval_records(os.path.join(workdir, 'metrics.jsonl'))) == 1  # Not re-evaluated.


def test_workdir_of_another_config_is_refused(finished_run):
  config, workdir, _ = finished_run
  before = open(os.path.join(workdir, 'metrics.jsonl')).read()
  config = config.copy_and_resolve_references()
  config.optim.d_lr = 1e-3
  with pytest.raises(workdir_lib.WorkdirError, match='optim.d_lr: 0.0002 in the workdir, 0.001 now'):
    train.train_and_evaluate(config, workdir)
  assert open(os.path.join(workdir, 'metrics.jsonl')).read() == before


def test_workdir_that_is_a_file_or_has_foreign_outputs(tiny_config, tmp_path):
  (tmp_path / 'f').write_text('x')
  with pytest.raises(workdir_lib.WorkdirError, match='is a file'):
    workdir_lib.check_workdir(tiny_config, str(tmp_path / 'f'))
  (tmp_path / 'old' / 'checkpoints' / '2').mkdir(parents=True)  # A finished checkpoint.
  with pytest.raises(workdir_lib.WorkdirError, match='no config.json'):
    workdir_lib.check_workdir(tiny_config, str(tmp_path / 'old'))


def test_non_finite_loss_stops_naming_step_and_keeps_checkpoint(tiny_config, tmp_path,
                                                                monkeypatch):
  # Real images turn to NaN from step 3 on: D's loss is NaN at step 3.
  original = experiment.Experiment.step_batch
  monkeypatch.setattr(experiment.Experiment, 'step_batch',
                      lambda self, t: {**original(self, t), 'image': original(self, t)['image']
                                       * (np.nan if t >= 2 else 1.0)})
  tiny_config.train.num_steps = 6
  tiny_config.train.log_every = 3
  workdir = str(tmp_path / 'run')
  with pytest.raises(logbook.NonFiniteError, match='Non-finite .*d_loss.* at step 3.*step 2, is kept'):
    train.train_and_evaluate(tiny_config, workdir)
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  assert ckpt.all_steps() == [2]
  restored = ckpt.restore(experiment.Experiment(tiny_config).init_state())
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(restored))
  ckpt.close()


def test_shape_mismatch_fails_before_compiling(tiny_config):
  tiny_config.data.image_size = 30  # Not a multiple of 4: the DCGAN cannot make it.
  with pytest.raises(configs.ConfigError, match=r'\(28, 28, 1\).*\(30, 30, 1\).*image_size'):
    experiment.Experiment(tiny_config)


def test_tfds_source_end_to_end(tiny_config, tmp_path):
  import tensorflow_datasets as tfds
  tiny_config.data.source = 'tfds:mnist'
  tiny_config.train.num_steps = 2
  with tfds.testing.mock_data(num_examples=16):
    state = train.train_and_evaluate(tiny_config, str(tmp_path / 'run'))
  assert state.step.tolist() == [2]  # (seeds,)


@pytest.mark.slow
def test_mlp_experiment_trains(tmp_path):
  from tests.conftest import load_experiment
  state = train.train_and_evaluate(load_experiment('mlp_mnist', 'runlocal'), str(tmp_path / 'r'))
  assert state.step.tolist() == [4]  # (seeds,)


def _main(*args, cwd=REPO):
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu'}
  return subprocess.run([sys.executable, '-m', 'gan_jax.main', *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=300)


def test_main_end_to_end_with_override(tmp_path):
  workdir = tmp_path / 'run'
  r = _main('--config=experiments/dcgan_mnist.py:runlocal', f'--workdir={workdir}',
            '--config.optim.g_lr=1e-4', '--config.train.num_steps=2')
  assert r.returncode == 0, r.stderr[-3000:]
  assert json.load(open(workdir / 'config.json'))['optim']['g_lr'] == 1e-4
  assert [x['step'] for x in train_records(str(workdir / 'metrics.jsonl'))] == [2]
  assert 'steps/s' in r.stderr and 'ETA' in r.stderr and str(workdir) in r.stderr
  os.remove(workdir / 'eval.json')
  r = _main('--config=experiments/dcgan_mnist.py:runlocal', f'--workdir={workdir}',
            '--config.optim.g_lr=1e-4', '--config.train.num_steps=2', '--mode=eval')
  assert r.returncode == 0, r.stderr[-3000:]
  assert 'eval at step 2' in r.stderr and json.load(open(workdir / 'eval.json'))['step'] == 2


def test_main_bad_config_fails_cleanly_before_compiling(tmp_path):
  r = _main('--config=experiments/dcgan_mnist.py:runlocal', f'--workdir={tmp_path / "run"}',
            '--config.loss.name=hinge_typo')
  assert r.returncode == 1
  assert "Unknown loss.name 'hinge_typo'" in r.stderr and 'Traceback' not in r.stderr
  assert not (tmp_path / 'run').exists()  # Nothing written for a run that cannot start.


@pytest.mark.parametrize('name', ['grid25'])  # ring8 runs in tests/test_golden.py.
def test_mixture_experiment_trains_and_draws_scatter(name, tmp_path):
  from tests.conftest import load_experiment
  config = load_experiment(name, 'runlocal')
  assert config.data.source == name and config.model.g_kwargs.mlp.output_activation == 'linear'
  state = train.train_and_evaluate(config, str(tmp_path / 'r'))
  assert state.step.tolist() == [4]  # (seeds,)
  picture = np.asarray(Image.open(tmp_path / 'r' / 'samples' / 'step_0000004.png'))
  assert picture.shape == (256, 256) and (picture == 255).sum() > 0  # Dots drawn.


@pytest.mark.slow
def test_published_setup_trains_locally(tmp_path):
  name = 'cgan_projection_cifar10'
  # The conditional ResNet with projection: SN, hinge, n_dis 5, linear decay (the most parts).
  config = load_experiment(name, 'runlocal')
  state = train.train_and_evaluate(config, str(tmp_path / name))
  assert np.all(np.asarray(state.step) == config.train.num_steps)
  assert all(np.isfinite(np.asarray(p)).all() for p in jax.tree.leaves(state.g_params))


@pytest.mark.slow
def test_full_disk_is_one_error_and_the_rerun_resumes(tiny_config, tmp_path, monkeypatch):
  import errno
  workdir = str(tmp_path / 'run')
  save = checkpoint_lib.Checkpointer.save

  def save_until_full(self, step, state):
    if step == 4:
      raise OSError(errno.ENOSPC, 'No space left on device', 'checkpoints/4')
    return save(self, step, state)
  monkeypatch.setattr(checkpoint_lib.Checkpointer, 'save', save_until_full)
  with pytest.raises(workdir_lib.DiskFullError,
                     match='at step 4 while writing a checkpoint.*last checkpoint kept is step 2'):
    train.train_and_evaluate(tiny_config, workdir)
  assert not os.path.exists(os.path.join(workdir, '.lock'))  # Released on the way out.
  monkeypatch.setattr(checkpoint_lib.Checkpointer, 'save', save)
  state = train.train_and_evaluate(tiny_config, workdir)
  assert state.step.tolist() == [4]
  assert [r['step'] for r in train_records(os.path.join(workdir, 'metrics.jsonl'))] == [2, 4]


@pytest.mark.slow
def test_a_kill_right_after_start_up_leaves_a_workdir_that_reruns(tiny_config, tmp_path,
                                                                  monkeypatch):
  workdir = str(tmp_path / 'run')

  def killed(*args, **kwargs):
    raise KeyboardInterrupt  # Stands for SIGKILL just after the workdir was claimed.
  monkeypatch.setattr(checkpoint_lib, 'Checkpointer', killed)
  with pytest.raises(KeyboardInterrupt):
    train.train_and_evaluate(tiny_config, workdir)
  assert os.path.exists(os.path.join(workdir, 'config.json'))
  os.makedirs(os.path.join(workdir, 'checkpoints'))  # What orbax may have created by then.
  monkeypatch.undo()
  assert train.train_and_evaluate(tiny_config, workdir).step.tolist() == [4]
