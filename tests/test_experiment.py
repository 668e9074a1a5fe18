"""Experiment: fixed seed and step axes whatever the config, and the training update against the
one-device reference."""
import jax
import numpy as np
import pytest

from gan_jax import state as state_lib
from gan_jax.experiment import Experiment


@pytest.mark.slow
@pytest.mark.parametrize('num_seeds,steps_per_call', [(1, 1), (2, 2)])
def test_ranks_do_not_depend_on_config(tiny_config, num_seeds, steps_per_call):
  tiny_config.num_seeds = num_seeds
  tiny_config.train.steps_per_call = steps_per_call
  exp = Experiment(tiny_config)
  state = exp.init_state()
  lone = state_lib.init_state(tiny_config.seed, exp.generator, exp.discriminator,
                              tiny_config.model.latent_dim, exp.g_tx, exp.d_tx)
  for stacked, single in zip(jax.tree.leaves(state), jax.tree.leaves(lone)):
    assert stacked.shape == (num_seeds, *single.shape)
  batch = exp.step_batch(0)
  assert batch['image'].shape == (steps_per_call, num_seeds, 1, 8, 28, 28, 1)
  assert batch['label'].shape == (steps_per_call, num_seeds, 1, 8)
  state, metrics = jax.jit(exp.update_fn())(exp.place(state), exp.device_batch(0))
  assert all(v.shape == (steps_per_call, num_seeds) for v in metrics.values())
  assert np.all(np.asarray(state.step) == steps_per_call)


@pytest.mark.slow
def test_training_update_of_one_seed_equals_the_reference(tiny_config):
  """One seed, one device: the training update (seed loop, step loop, shard_map) computes the
  plain update, up to float32 rounding (XLA compiles the two programs differently: ~1 ulp)."""
  exp = Experiment(tiny_config)
  state = exp.place(exp.init_state())
  ref = state_lib.replica(exp.init_state(), 0)
  update, reference = jax.jit(exp.update_fn()), jax.jit(exp.reference_update())
  for t in range(2):
    state, metrics = update(state, exp.device_batch(t))
    ref, ref_metrics = reference(ref, exp.batchers[0].step_batch(t, 1))
  for a, b in zip(jax.tree.leaves(state_lib.replica(state, 0)), jax.tree.leaves(ref)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
  for k, v in ref_metrics.items():
    np.testing.assert_allclose(float(metrics[k][0, 0]), float(v), rtol=1e-5, err_msg=k)


def test_each_seed_trains_on_its_own_class_subset(tiny_config):
  """data.per_class: seed i's batches come only from its subset (subset seed subset_seed + i),
  the same images class_subset gives the classifier of the augmentation protocol."""
  from gan_jax import data as data_lib
  config = tiny_config
  config.num_seeds, config.data.per_class, config.data.subset_seed = 2, 3, 7
  config.model.conditional = True
  exp = Experiment(config)
  full = exp.dataset
  for i, batcher in enumerate(exp.batchers):
    subset = data_lib.class_subset(full, 3, 7 + i)
    allowed = {row.tobytes() for row in subset.get(np.arange(subset.size))}
    seen = np.concatenate([batcher.batch(k) for k in range(8)])
    assert {row.tobytes() for row in seen} <= allowed
    assert np.all(np.bincount(exp.train_sets[i].labels) == 3)
  assert not np.array_equal(exp.train_sets[0].get(np.arange(30)),
                            exp.train_sets[1].get(np.arange(30)))
