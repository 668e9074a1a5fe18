import jax
import numpy as np
import pytest

from gan_jax import checkpoint as checkpoint_lib
from gan_jax import train


def test_round_trip_keeps_last_three(tiny_config, tmp_path):
  exp = train.Experiment(tiny_config)
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
  assert int(ckpt.restore(exp.init_state()).step) == 5
  ckpt.close()


def test_relative_path_becomes_absolute(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  ckpt = checkpoint_lib.Checkpointer('rel/ckpt')
  assert ckpt.directory == str(tmp_path / 'rel' / 'ckpt')
  ckpt.close()


def test_mismatched_checkpoint_names_it(tiny_config, tmp_path):
  exp = train.Experiment(tiny_config)
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path / 'ckpt'))
  ckpt.save(1, exp.init_state())
  tiny_config.model.g_kwargs.dcgan.base_features = 32
  other = train.Experiment(tiny_config)
  with pytest.raises(checkpoint_lib.CheckpointError, match='Cannot restore checkpoint step 1'):
    ckpt.restore(other.init_state())
  ckpt.close()
