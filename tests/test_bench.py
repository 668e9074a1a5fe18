"""gan_jax/bench.py: the torch reference's configs, the timed update, the torch subprocess."""
import os
import sys
import time

import jax
import numpy as np
import pytest

from gan_jax import bench
from gan_jax import configs
from gan_jax import parallel
from gan_jax import provenance
from tests.conftest import load_experiment


def test_reference_config_is_the_torch_reference_step():
  """torch_reference.py's step: non-saturating loss, Adam(2e-4, 0.5, 0.999), leaky slope 0.2
  (dcgan28), a 128-d latent on 32x32 images (sngan_cnn32)."""
  c = bench.reference_config('dcgan28', 64)
  assert (c.loss.name, c.optim.g_lr, c.optim.d_lr, c.optim.b1, c.optim.b2) == (
      'non_saturating', 2e-4, 2e-4, 0.5, 0.999)
  assert c.model.g_kwargs.dcgan.leaky_slope == c.model.d_kwargs.dcgan.leaky_slope == 0.2
  assert (c.data.source, c.data.batch_size, c.model.dtype) == ('mnist5k', 64, 'float32')
  s = bench.reference_config('sngan_cnn32', 256, 'bfloat16')
  assert (s.model.generator, s.model.latent_dim, s.data.image_size, s.data.batch_size,
          s.model.dtype) == ('sngan_cnn32', 128, 32, 256, 'bfloat16')


def test_an_unknown_arch_is_one_line_naming_the_valid_ones():
  with pytest.raises(configs.ConfigError, match=r"Unknown reference arch 'dcgan64'; valid: "
                     r"\['dcgan28', 'sngan_cnn32'\]"):
    bench.reference_config('dcgan64', 64)


def test_narrowed_keeps_the_batch():
  c = bench.narrowed(bench.reference_config('dcgan28', 24))
  assert c.data.batch_size == 24 and c.eval.num_samples == 256


def test_step_counts_every_update_of_every_call():
  """One compiling call in the constructor, then rate(3) calls of steps_per_call = 2 updates
  each, cycling over 2 batches: the state's step is (1 + 3) x 2 for each seed."""
  config = load_experiment('ring8', 'runlocal')
  config.train.steps_per_call, config.num_seeds = 2, 2
  step = bench.Step(config, num_batches=2)
  assert len(step.batches) == 2 and step.compile_s > 0
  assert step.rate(3) > 0
  np.testing.assert_array_equal(np.asarray(parallel.to_host(step.state.step)), [8, 8])
  flops = step.flops()
  assert flops['compiled'] > 0 and flops['unoptimized'] > 0


def test_alternating_ms_takes_turns_and_times_each():
  """Each function: per repeat one untimed call and `calls` timed ones; a sleep of 10 / 20 ms
  takes at least that long."""
  counts = [0, 0]

  def sleeper(i, seconds):
    def f():
      counts[i] += 1
      time.sleep(seconds)
    return f
  ms = bench.alternating_ms([sleeper(0, 0.01), sleeper(1, 0.02)], (), repeats=3, calls=2)
  assert counts == [9, 9]
  assert ms[0] >= 10 and ms[1] >= 20


def test_matmul_rate_reports_its_size():
  r = bench.matmul_rate(32, 2)
  assert (r['n'], r['reps']) == (32, 2) and r['flop_per_s'] > 0


def test_device_description_names_the_devices_and_the_host():
  assert bench.device_description() == (f'{jax.device_count()} x cpu: {provenance.machine()}')


@pytest.fixture
def fake_reference(tmp_path, monkeypatch):
  """A torch_reference.py that prints its arguments as the reference prints its JSON line, or
  fails when asked for arch 'broken'."""
  path = tmp_path / 'torch_reference.py'
  path.write_text('import json, sys\n'
                  'if "broken" in sys.argv: sys.exit("no CUDA here")\n'
                  'print("warming up")\n'
                  'print(json.dumps({"steps_per_s": 12.5, "argv": sys.argv[1:]}))\n')
  monkeypatch.setattr(bench, 'TORCH_REFERENCES', (str(tmp_path / 'absent.py'), str(path)))
  return path


def test_torch_rate_passes_the_sizes_and_reads_the_last_line(fake_reference):
  r = bench.torch_rate('dcgan28', 8, 3, repeats=2, warmup=1, python=sys.executable)
  assert bench.torch_reference() == str(fake_reference)
  assert r == {'steps_per_s': 12.5, 'argv': ['--arch', 'dcgan28', '--batch', '8', '--steps', '3',
                                             '--repeats', '2', '--warmup', '1', '--device',
                                             'cpu']}


def test_torch_rate_failure_says_why(fake_reference):
  with pytest.raises(RuntimeError, match='no CUDA here'):
    bench.torch_rate('broken', 8, 3, python=sys.executable)


def test_no_reference_is_a_file_not_found_naming_the_places(tmp_path, monkeypatch):
  monkeypatch.setattr(bench, 'TORCH_REFERENCES', (str(tmp_path / 'a.py'), str(tmp_path / 'b.py')))
  with pytest.raises(FileNotFoundError, match='a.py'):
    bench.torch_reference()
  assert os.path.basename(bench.TORCH_PYTHON) == 'python'
