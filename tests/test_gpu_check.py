"""scripts/gpu_check.py --smoke: every part runs on the CPU and writes its numbers.

The GPU machine has no tensorflow-datasets, so the script runs here with it blocked from import.
On the CPU the "device" and the CPU are one backend, so part (a) must find no difference at all.
Compiled programs are kept in JAX's persistent cache (gan_jax's cache folder), so runs after the
first are faster (about 1.5 minutes on a busy 2-core machine; the first, about 4).
"""
import json
import math
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # Starts a process that trains.

# Runs the script as __main__ with tensorflow_datasets absent: a None entry in sys.modules makes
# `import` fail with ModuleNotFoundError and importlib.util.find_spec return None.
BLOCKED_RUN = """
import runpy, sys
sys.modules['tensorflow_datasets'] = None
sys.argv = ['scripts/gpu_check.py'] + sys.argv[1:]
runpy.run_path('scripts/gpu_check.py', run_name='__main__')
"""


def numbers(tree):
  """Every int and float in a JSON tree (bools left out)."""
  if isinstance(tree, dict):
    return [x for v in tree.values() for x in numbers(v)]
  if isinstance(tree, list):
    return [x for v in tree for x in numbers(v)]
  return [tree] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
  out = tmp_path_factory.mktemp('gpu_check')
  r = subprocess.run([sys.executable, '-c', BLOCKED_RUN, '--smoke', f'--out={out}'], cwd=REPO,
                     capture_output=True, text=True, timeout=1200,
                     env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert r.returncode == 0, r.stderr[-3000:]
  with open(out / 'gpu.json') as f:
    return out, json.load(f)


def test_every_part_is_done_with_finite_numbers(smoke):
  out, report = smoke
  assert report['smoke'] and 'gpu_check.py --smoke' in report['command']
  parts = report['parts']
  assert sorted(parts) == ['a_correctness', 'b_speed', 'c_seeds', 'd_science']
  for name, part in parts.items():
    assert part['status'] == 'done', (name, part.get('error'))
    values = numbers(part)
    assert len(values) > 3, name
    assert all(math.isfinite(v) for v in values), name
  md = (out / 'gpu.md').read_text()
  for heading in ('## a.', '## b.', '## c.', '## d.'):
    assert heading in md


def test_correctness_on_one_backend_is_exact(smoke):
  a = smoke[1]['parts']['a_correctness']
  one = a['one_update']['default']
  assert one['max_abs'] == 0 and one['max_scaled'] == 0 and one['within_tolerance']
  assert a['one_update']['within_tolerance']
  assert a['run_twice']['bit_identical']
  assert a['run_twice_deterministic'].get('bit_identical'), a['run_twice_deterministic']
  assert a['run_twice_deterministic']['xla_flags'].find('xla_gpu_deterministic_ops') >= 0
  assert a['checkpoint']['equal'] and a['checkpoint']['restored_on'] == ['cpu']


def test_speed_seeds_and_science_have_their_rows(smoke):
  parts = smoke[1]['parts']
  speed = parts['b_speed']
  assert speed['matmul_bf16']['flop_per_s'] > 0
  assert {r['dtype'] for r in speed['rows']} == {'float32', 'bfloat16'}
  assert all(r['gan_jax_steps_per_s'] > 0 and r['flops_per_step'] > 0 for r in speed['rows'])
  assert [r['seed_layout'] for r in parts['c_seeds']['rows']] == ['loop', 'vmap', 'loop']
  runs = parts['d_science']['runs']
  assert set(runs) == {'ring8_pack1', 'grid25_pack2', 'stacked_mnist_pack2'}
  for r in runs.values():
    assert r['steps'] == r['target_steps'] and r['mean']['modes_captured'] is not None
