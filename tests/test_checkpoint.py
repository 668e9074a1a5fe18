import jax
import numpy as np
import pytest

from gan_jax import checkpoint as checkpoint_lib
from gan_jax.experiment import Experiment


def test_round_trip_keeps_last_three(tiny_config, tmp_path):
  exp = Experiment(tiny_config)
  update = jax.jit(exp.update_fn())
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path / 'ckpt'))
  state = exp.init_state()
  saved = {}
  for t in range(5):
    state, _ = update(state, exp.step_batch(t))
    ckpt.save(t + 1, state)
    saved[t + 1] = jax.device_get(state)
  assert ckpt.all_steps() == [3, 4, 5] and ckpt.latest_step() == 5
  for step in (4, 5):
    restored = ckpt.restore(exp.init_state(), step)
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(saved[step])):
      assert a.dtype == b.dtype
      np.testing.assert_array_equal(a, b)
  assert ckpt.restore(exp.init_state()).step.tolist() == [5]  # One seed: (1,).
  ckpt.close()
  # max_to_keep None (train.ckpt_keep=0) keeps every checkpoint.
  every = checkpoint_lib.Checkpointer(str(tmp_path / 'every'), max_to_keep=None)
  for step in range(1, 6):
    every.save(step, state)
  assert every.all_steps() == [1, 2, 3, 4, 5]
  every.close()


def test_relative_path_becomes_absolute(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  ckpt = checkpoint_lib.Checkpointer('rel/ckpt')
  assert ckpt.directory == str(tmp_path / 'rel' / 'ckpt')
  ckpt.close()


def test_mismatched_checkpoint_names_it(tiny_config, tmp_path):
  exp = Experiment(tiny_config)
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path / 'ckpt'))
  ckpt.save(1, exp.init_state())
  tiny_config.model.g_kwargs.dcgan.base_features = 32
  other = Experiment(tiny_config)
  with pytest.raises(checkpoint_lib.CheckpointError, match='Cannot restore checkpoint step 1'):
    ckpt.restore(other.init_state())
  ckpt.close()


def _damage(step_dir):
  """Overwrites every file of a checkpoint with garbage of the same size."""
  import os
  for root, _, files in os.walk(step_dir):
    for name in files:
      path = os.path.join(root, name)
      size = os.path.getsize(path)
      with open(path, 'wb') as f:
        f.write(b'\x00garbage' * (size // 8 + 1))


def test_damaged_newest_checkpoint_is_moved_aside_and_an_older_one_restored(tiny_config,
                                                                               tmp_path):
  import os
  exp = Experiment(tiny_config)
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path / 'checkpoints'))
  state = exp.init_state()
  ckpt.save(2, state)
  ckpt.save(4, state.replace(step=state.step + 4))
  _damage(tmp_path / 'checkpoints' / '4')
  restored, step = ckpt.restore_latest(exp.init_state())
  assert step == 2 and restored.step.tolist() == [0]
  assert ckpt.all_steps() == [2]
  aside = os.listdir(tmp_path / 'checkpoints.damaged')
  assert len(aside) == 1 and aside[0].startswith('4.')  # Moved, not deleted.
  ckpt.close()


def test_mismatch_and_damage_get_different_messages(tiny_config, tmp_path):
  exp = Experiment(tiny_config)
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path / 'ckpt'))
  ckpt.save(1, exp.init_state())
  tiny_config.model.g_kwargs.dcgan.base_features = 32
  with pytest.raises(checkpoint_lib.CheckpointError, match='does not match this config'):
    ckpt.restore_latest(Experiment(tiny_config).init_state())
  _damage(tmp_path / 'ckpt' / '1')
  with pytest.raises(checkpoint_lib.DamagedCheckpointError, match='damaged'):
    ckpt.restore(exp.init_state(), 1)
  ckpt.close()
