"""gan_jax/study/kind_device.py: a device measurement's args, its result file, its failures."""
import json
import os

import pytest

from gan_jax import configs
from gan_jax.study import Run
from gan_jax.study import kind_device
from gan_jax.study import kinds


def test_the_kind_is_found_by_name():
  assert 'device' in kinds.known() and kinds.get('device') is kind_device.KIND


def test_an_unknown_measure_is_one_line_naming_the_valid_ones():
  run = Run(name='x', kind='device', args={'measure': 'fft'})
  with pytest.raises(configs.ConfigError, match=r"Run x: unknown device measure 'fft'; valid: "
                     r"\['checkpoint_to_cpu', 'matmul', 'run_twice', 'torch_speed', "
                     r"'update_speed', 'update_vs_cpu'\]"):
    kind_device.config(run)


def test_a_result_is_read_only_under_the_same_args(tmp_path):
  run = Run(name='m', kind='device', args={'measure': 'matmul', 'n': 8, 'reps': 1})
  assert kind_device.result(run, str(tmp_path)) is None
  with open(tmp_path / 'result.json', 'w') as f:
    json.dump({'args': {**run.args, 'n': 16}, 'seed': 0, 'result': {'flop_per_s': 1.0}}, f)
  assert kind_device.result(run, str(tmp_path)) is None
  with open(tmp_path / 'result.json', 'w') as f:
    json.dump({'args': run.args, 'seed': 0, 'result': {'flop_per_s': 1.0}}, f)
  assert kind_device.result(run, str(tmp_path)) == {'flop_per_s': 1.0}


def test_a_run_measures_in_its_own_process_with_its_flags(tmp_path):
  run = Run(name='m', kind='device', args={'measure': 'matmul', 'n': 16, 'reps': 1,
                                           'xla_flags': '--xla_gpu_deterministic_ops=true'})
  kind_device.train(run, str(tmp_path / 'm'))
  r = kind_device.result(run, str(tmp_path / 'm'))
  assert (r['n'], r['reps']) == (16, 1) and r['flop_per_s'] > 0


def test_a_run_on_another_backend_fails_in_one_line(tmp_path):
  run = Run(name='m', kind='device', args={'measure': 'matmul', 'n': 16, 'reps': 1,
                                           'platform': 'gpu'})
  with pytest.raises(RuntimeError, match=r"matmul exited with 1: This run measures a gpu "
                     r"device; JAX's backend here is cpu"):
    kind_device.train(run, str(tmp_path / 'm'))
  assert not os.path.exists(tmp_path / 'm' / 'result.json')
