"""Data parallel over 8 CPU devices and multi-process runs, each in subprocesses of their own
(the device count is fixed when JAX starts)."""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import eval_records, train_records, REPO


WORKER = os.path.join(REPO, 'tests', 'parallel_worker.py')


def _run(args, devices=8, timeout=600):
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu',
         'XLA_FLAGS': f'--xla_force_host_platform_device_count={devices}'}
  r = subprocess.run([sys.executable, WORKER, *args], env=env, capture_output=True, text=True,
                     timeout=timeout)
  assert r.returncode == 0, r.stderr[-3000:]
  line = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')][-1]
  return json.loads(line[len('RESULT '):])


@pytest.mark.slow
def test_data_parallel_equals_single_device():
  # float32 sums over the batch are split into 8 partial sums and then pmean'd: the same
  # numbers added in another order, so results differ in the last bits (relative ~1e-7 per
  # reduction), which Adam's m / sqrt(v) can amplify for parameters whose gradient is ~0.
  # Tolerance: 1e-5 of each tensor's scale after 3 steps.
  r = _run(['equivalence', '3', 'sync'])
  assert r['devices'] == 8
  assert r['replicas_equal']  # The state is the same on every device.
  assert r['max_rel_diff'] < 1e-5, r
  assert r['metrics_diff'] < 1e-4, r


@pytest.mark.slow
def test_seeds_and_steps_per_call_compose_with_data_parallel():
  # 2 seeds vmapped, 2 steps per call, over 8 devices: each replica matches its seed's lone
  # single-device run (tolerance as above, plus vmap's batched convolutions: see test_seeds).
  r = _run(['equivalence', '4', 'sync', '2', '2'])
  assert r['replicas_equal']
  assert r['max_rel_diff'] < 1e-4, r
  assert r['metrics_diff'] < 1e-3, r


@pytest.mark.slow
def test_per_device_batch_norm_runs_and_differs():
  r = _run(['equivalence', '2', 'per_device'])
  assert r['replicas_equal']
  # Each device normalises its 2 images by their own statistics: a different function.
  assert r['max_rel_diff'] > 1e-4, r


@pytest.mark.slow
def test_batch_size_not_divisible_by_devices_fails_before_compiling():
  r = _run(['bad_batch'])
  assert r['error'] and 'data.batch_size=12' in r['error'] and '8 devices' in r['error']


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _load(path):
  with np.load(path) as f:
    return [f[k] for k in sorted(f.files, key=lambda k: int(k.split('_')[1]))]


@pytest.mark.slow
def test_two_processes_train_like_one(tmp_path):
  env = {**os.environ, 'JAX_PLATFORMS': 'cpu', 'XLA_FLAGS': '--xla_force_host_platform_device_count=1'}
  coordinator = f'127.0.0.1:{_free_port()}'
  workdir = str(tmp_path / 'multi')
  procs = [subprocess.Popen(
      [sys.executable, WORKER, 'train_process', workdir, str(tmp_path / f'p{i}.npz'),
       coordinator, '2', str(i)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True) for i in range(2)]
  for p in procs:
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
    assert '"processes": 2' in out and '"devices": 2' in out
  p0, p1 = _load(tmp_path / 'p0.npz'), _load(tmp_path / 'p1.npz')
  assert len(p0) == len(p1) > 0
  for a, b in zip(p0, p1):
    np.testing.assert_array_equal(a, b)  # Both processes hold the same parameters, bit for bit.
  # Process 0 alone wrote the logs; both wrote the checkpoints together.
  metrics = os.path.join(workdir, 'metrics.jsonl')
  assert [r['step'] for r in train_records(metrics)] == [2, 4]
  assert [r['step'] for r in eval_records(metrics)] == [4]  # Evaluated by both, written once.
  assert json.load(open(os.path.join(workdir, 'eval.json')))['step'] == 4
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['2', '4']
  # A single process with one device, same config and seed: the same run, up to the float32
  # reduction order of the 2-way gradient average (see test_data_parallel_equals_single_device).
  _run(['train', str(tmp_path / 'single'), str(tmp_path / 'single.npz')], devices=1)
  single = _load(tmp_path / 'single.npz')
  for a, b in zip(p0, single):
    scale = max(float(np.max(np.abs(b))), 1e-12)
    assert float(np.max(np.abs(a - b))) / scale < 1e-5
