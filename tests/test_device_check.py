"""gan_jax/device_check.py: tree comparisons by closed form; on the CPU, where the default device
is the CPU, an update, a rerun and a checkpoint round trip find no difference at all."""
import numpy as np
import pytest

from gan_jax import bench
from gan_jax import device_check


def test_compare_trees_by_hand():
  a = {'x': np.array([1.0, 2.0]), 'y': np.array([0.0, 4.0])}
  b = {'x': np.array([1.0, 2.0]), 'y': np.array([0.0, 2.0])}
  assert device_check.compare_trees(a, b) == {
      'max_abs': 2.0, 'max_scaled': 1.0, 'worst_leaf': "['y']", 'bit_identical': False,
      'leaves': 2}
  # The largest difference (y: 2 of 8) is not the largest scaled one (x: 0.5 of 0.5).
  c = {'x': np.array([0.0, 1.0]), 'y': np.array([10.0])}
  d = {'x': np.array([0.0, 0.5]), 'y': np.array([8.0])}
  r = device_check.compare_trees(c, d)
  assert (r['max_abs'], r['max_scaled'], r['worst_leaf']) == (2.0, 1.0, "['x']")
  same = device_check.compare_trees(a, a)
  assert (same['max_abs'], same['max_scaled'], same['bit_identical']) == (0.0, 0.0, True)


def test_one_backend_finds_no_difference(tmp_path):
  config = bench.narrowed(bench.reference_config('dcgan28', 8))
  one = device_check.update_vs_cpu(config, 1e-2)
  assert one['default']['max_abs'] == 0 and one['within_tolerance'] and 'highest' not in one
  twice = device_check.run_twice(config, 2)
  assert twice['bit_identical'] and twice['steps'] == 2
  ckpt = device_check.checkpoint_to_cpu(config, str(tmp_path))
  assert ckpt == {'saved_on': 'cpu', 'restored_on': ['cpu'], 'equal': True, 'max_abs': 0.0}
