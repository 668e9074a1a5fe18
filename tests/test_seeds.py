"""num_seeds (replicas by loop or vmap) and train.steps_per_call (lax.scan over steps)."""
import os

import jax
import numpy as np
import pytest

from tests.conftest import load_experiment, train_records
from gan_jax import configs
from gan_jax import state as state_lib
from gan_jax import train


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _max_rel_diff(a, b):
  return max(float(np.max(np.abs(x - y))) / max(float(np.max(np.abs(y))), 1e-12)
             for x, y in zip(_leaves(a), _leaves(b)))


def recipe():
  """dcgan_mnist:runlocal with the recipe the tolerances below were set on (an unconditional G
  at lr 2e-4: tests/golden_runs.py's; the default's lr 5e-4 amplifies vmap's float32 reordering)."""
  from gan_jax import sweep
  from tests.golden_runs import DCGAN_MNIST_BEFORE_ISSUE_16
  return sweep.apply_overrides(load_experiment('dcgan_mnist', 'runlocal'),
                               DCGAN_MNIST_BEFORE_ISSUE_16)


@pytest.fixture(scope='module')
def lone_runs(tmp_path_factory):
  """Seeds 0 and 1 each trained alone: the reference of both layouts, trained once."""
  tmp = tmp_path_factory.mktemp('lone')
  config = recipe()
  alone = []
  for seed in (0, 1):
    config.seed = seed
    alone.append(train.train_and_evaluate(config, str(tmp / f'seed{seed}')))
  return tmp, alone


@pytest.fixture(scope='module', params=['loop', 'vmap'])
def two_seed_runs(request, tmp_path_factory, lone_runs):
  """Seeds 0 and 1 trained together in one layout (each test of the module reads the same runs)."""
  tmp = tmp_path_factory.mktemp('seeds')
  config = recipe()
  config.num_seeds = 2
  config.train.seed_layout = request.param
  both = train.train_and_evaluate(config, str(tmp / 'both'))
  lone_dir, alone = lone_runs
  for seed in (0, 1):
    os.symlink(lone_dir / f'seed{seed}', tmp / f'seed{seed}')
  return tmp, both, alone, request.param


@pytest.mark.slow
def test_each_replica_matches_its_lone_run(two_seed_runs):
  tmp, both, alone, layout = two_seed_runs
  for i in (0, 1):
    replica = state_lib.replica(both, i)
    lone = state_lib.replica(alone[i], 0)
    if layout == 'loop':
      # The same update on each slice, but compiled into one program with the other replica's:
      # XLA fuses and orders float32 ops differently (measured ~4e-7 relative after 4 steps).
      assert _max_rel_diff(replica, lone) < 1e-5
    else:
      # vmap turns each convolution over per-seed weights into a batched one, whose float32
      # sums may run in another order: equal up to rounding, amplified a little by Adam.
      assert _max_rel_diff(replica, lone) < 1e-4
  # The replicas are different runs: other initialisation, latents and data order.
  assert _max_rel_diff(state_lib.replica(both, 0), state_lib.replica(alone[1], 0)) > 1e-2


@pytest.mark.slow
def test_seeded_outputs(two_seed_runs):
  tmp, _, _, _ = two_seed_runs
  records = train_records(str(tmp / 'both' / 'metrics.jsonl'))
  assert [(r['step'], r['seed']) for r in records] == [(2, 0), (2, 1), (4, 0), (4, 1)]
  lone = train_records(str(tmp / 'seed1' / 'metrics.jsonl'))
  np.testing.assert_allclose([r['d_loss'] for r in records if r['seed'] == 1],
                             [r['d_loss'] for r in lone], rtol=1e-4)
  for seed in (0, 1):
    assert sorted(os.listdir(tmp / 'both' / 'samples' / f'seed_{seed}')) == [
        'step_0000002.png', 'step_0000004.png']


@pytest.mark.slow
def test_steps_per_call_matches_one_step_per_call(tiny_config, tmp_path):
  tiny_config.train.num_steps = 4
  one = train.train_and_evaluate(tiny_config, str(tmp_path / 'one'))
  tiny_config.train.steps_per_call = 2
  two = train.train_and_evaluate(tiny_config, str(tmp_path / 'two'))
  assert two.step.tolist() == [4]
  # The scanned body is compiled on its own and may fuse differently: equal up to rounding.
  assert _max_rel_diff(two, one) < 1e-5
  m1 = train_records(str(tmp_path / 'one' / 'metrics.jsonl'))
  m2 = train_records(str(tmp_path / 'two' / 'metrics.jsonl'))
  assert [r['step'] for r in m2] == [r['step'] for r in m1] == [2, 4]
  np.testing.assert_allclose([r['g_loss'] for r in m2], [r['g_loss'] for r in m1], rtol=1e-4)
  assert sorted(os.listdir(tmp_path / 'two' / 'samples')) == ['step_0000002.png',
                                                              'step_0000004.png']


def test_cadences_must_be_multiples_of_steps_per_call(tiny_config):
  tiny_config.train.steps_per_call = 3
  with pytest.raises(configs.ConfigError, match=r'(?s)train.num_steps=4 must be a multiple of '
                     r'train.steps_per_call=3.*train.log_every=2'):
    configs.validate(tiny_config)
  tiny_config.train.steps_per_call = 1
  tiny_config.num_seeds = 0
  with pytest.raises(configs.ConfigError, match='num_seeds must be an integer >= 1, got 0'):
    configs.validate(tiny_config)


def _ulps(a, b) -> int:
  """The largest distance in float32 ulps between two float32 arrays."""
  a, b = (np.asarray(x, np.float32).view(np.int32).astype(np.int64) for x in (a, b))
  return int(np.max(np.abs(a - b)))


@pytest.mark.slow
def test_scanned_steps_equal_single_calls_to_the_last_ulps():
  # steps_per_call=K is one lax.scan whose body is the update (parallel.scan_steps), for the
  # default's features (conditional, DiffAugment, EMA). The body is compiled as a computation of
  # its own, where XLA fuses some reductions (the gradient norms, the losses' means) in another
  # order: the first step's metrics agree within 2 float32 ulps, and every step's within 1e-5;
  # the state after 3 steps within a relative 1e-3 of each tensor's scale (Adam's m / sqrt(v)
  # turns an ulp of a near-zero gradient into a step of about lr, 5e-4 here: measured 1.5e-4).
  from gan_jax import parallel
  from gan_jax.experiment import Experiment
  config = load_experiment('dcgan_mnist', 'runlocal')
  config.augment.policy = 'color,translation,cutout'
  exp = Experiment(config)
  update = exp.reference_update()
  one, scan = jax.jit(update), jax.jit(parallel.scan_steps(update))
  start = state_lib.replica(exp.init_state(), 0)
  batches = [exp.batchers[0].step_batch(t, 1) for t in range(3)]
  state, singles = start, []
  for batch in batches:
    state, metrics = one(state, batch)
    singles.append(metrics)
  scanned, stacked = scan(start, jax.tree.map(lambda *xs: np.stack(xs), *batches))
  assert int(scanned.step) == 3 and all(np.shape(v) == (3,) for v in stacked.values())
  for key, value in singles[0].items():
    assert _ulps(value, stacked[key][0]) <= 2, key
  for t in range(3):
    np.testing.assert_allclose([float(singles[t][k]) for k in sorted(stacked)],
                               [float(stacked[k][t]) for k in sorted(stacked)], rtol=1e-5)
  assert _max_rel_diff(scanned, state) < 1e-3
