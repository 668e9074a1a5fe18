"""Same run on any number of devices and processes (issue 27): every experiment's `:runlocal`, with
its default features and every DiffAugment op on, trains the same numbers on 1 and 8 CPU devices,
one of each kind (image, conditional, dropout, points with packing, text with Gumbel noise, a
gradient penalty) in 2 processes, and the default on 2 and 4 devices, up to the float32
summation order of the cross-device averages. Each device count is a process of its own
(tests/invariance_worker.py); the runs are split over two processes at a time (2 cores).
"""
import json
import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO


WORKER = os.path.join(REPO, 'tests', 'invariance_worker.py')
# float32 sums split into per-device partial sums and then averaged: the same numbers added in
# another order. At the first step every metric agreed within a relative 3e-6 (most within 2e-7);
# the updates then grow the differences, most through Adam, whose first steps move a parameter by
# about lr x sign(gradient) and so turn an ulp of a near-zero gradient into a full step: after 3
# steps sngan_cnn_cifar10 (hinge, spectral norm, 5 D steps a step) differed by a relative 1.3e-3,
# as much on the code before issue 27 with no random stream at all (augmentation off).
# With several D steps a step (optim.n_critic > 1) the first step's second D step and its G step
# already read Adam-updated parameters: measured on cgan_projection_cifar10 at 2 D steps, its
# step-0 g_grad_norm differed by a relative 1.75e-4. Those runs take RTOL_LATER from the start.
RTOL_FIRST, RTOL_LATER, ATOL = 2e-5, 5e-3, 1e-6


def _env(devices: int) -> dict:
  return {**os.environ, 'JAX_PLATFORMS': 'cpu',
          'XLA_FLAGS': f'--xla_force_host_platform_device_count={devices}'}


def _worker(out, devices, cpu_devices, runs=None, extra=()):
  env = _env(cpu_devices)
  if runs:
    env['INVARIANCE_RUNS'] = runs
  return subprocess.Popen([sys.executable, WORKER, str(out), devices, *extra], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(procs, timeout=1500):
  for p in procs:
    _, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err[-3000:]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _one_d_step(name: str) -> bool:
  from tests import invariance_worker
  return invariance_worker.config_of(name).optim.n_critic == 1


def _differences(got: list, want: list, what: str, strict_first: bool = True) -> list:
  out = []
  for t, (g, w) in enumerate(zip(got, want)):
    assert sorted(g) == sorted(w), what
    rtol = RTOL_FIRST if t == 0 and strict_first else RTOL_LATER
    out += [f'{what} step {t} {k}: {g[k]!r} vs {w[k]!r}' for k in w
            if not abs(g[k] - w[k]) <= ATOL + rtol * abs(w[k])]
  return out + ([f'{what}: {len(got)} steps vs {len(want)}'] if len(got) != len(want) else [])


PROCESS_RUNS = 'dcgan_mnist,mlp_mnist,ring8_pacgan2,text_gan_gumbel,wgan_gp_cifar10'


def _merge(paths) -> dict:
  parts = [json.load(open(p)) for p in paths]
  return {**parts[0], 'results': {k: v for p in parts for k, v in p['results'].items()}}


@pytest.fixture(scope='module')
def results(tmp_path_factory):
  from tests import invariance_worker
  tmp = tmp_path_factory.mktemp('invariance')
  names = list(invariance_worker.RUNS)
  halves = [','.join(names[i::2]) for i in range(2)]
  _wait([_worker(tmp / f'one_eight_{i}.json', '1,8', 8, runs=h) for i, h in enumerate(halves)])
  coordinator = f'127.0.0.1:{_free_port()}'
  _wait([_worker(tmp / 'processes.json', 'all', 1, runs=PROCESS_RUNS,
                 extra=(coordinator, '2', str(i))) for i in range(2)] +
        [_worker(tmp / 'two_four.json', '2,4', 8, runs='dcgan_mnist')])
  return {'one_eight': _merge([tmp / f'one_eight_{i}.json' for i in range(2)]),
          **{name: json.load(open(tmp / f'{name}.json')) for name in ('two_four', 'processes')}}


@pytest.mark.slow
def test_every_experiment_trains_alike_on_1_and_8_devices(results):
  runs = results['one_eight']['results']
  assert results['one_eight']['devices'] == 8 and len(runs) >= 17
  diffs = [d for name, by_size in runs.items()
           for d in _differences(by_size['8'], by_size['1'], f'{name} on 8 devices',
                                 _one_d_step(name))]
  assert not diffs, '\n'.join(diffs[:20])


@pytest.mark.slow
def test_the_default_trains_alike_on_2_and_4_devices(results):
  one = results['one_eight']['results']['dcgan_mnist']['1']
  for size in ('2', '4'):
    got = results['two_four']['results']['dcgan_mnist'][size]
    assert not _differences(got, one, f'dcgan_mnist on {size} devices')


@pytest.mark.slow
def test_each_kind_of_experiment_trains_alike_in_2_processes(results):
  assert results['processes']['processes'] == 2 and results['processes']['devices'] == 2
  assert sorted(results['processes']['results']) == sorted(PROCESS_RUNS.split(','))
  single = results['one_eight']['results']
  diffs = [d for name, by_size in results['processes']['results'].items()
           for d in _differences(by_size['2'], single[name]['1'], f'{name} in 2 processes',
                                 _one_d_step(name))]
  assert not diffs, '\n'.join(diffs[:20])


@pytest.mark.slow
def test_the_check_sees_a_device_dependent_stream(results):
  # The tolerance catches what issue 27 measured before the fix: DiffAugment's draws folded with
  # the device index moved the default's d_loss at the first step by a relative 4e-3
  # (1.31216 on one device, 1.31736 on eight) and by 11% at the fourth.
  one = results['one_eight']['results']['dcgan_mnist']['1']
  moved = [{k: v * (1 + 4e-3) if t == 0 else v for k, v in step.items()}
           for t, step in enumerate(one)]
  assert _differences(moved, one, 'moved')
  assert not _differences(one, one, 'same')
  assert _one_d_step('dcgan_mnist')  # The strict first step applies to the default.


def test_capped_d_steps_keep_several():
  from tests import invariance_worker
  steps = {name: invariance_worker.config_of(name).optim.n_critic
           for name in invariance_worker.RUNS}
  assert max(steps.values()) == invariance_worker.MAX_N_CRITIC == 2, steps
  assert steps['dcgan_mnist'] == 1 and steps['wgan_gp_cifar10'] == 2
