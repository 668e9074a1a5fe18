"""scripts/gpu_check.py: the driver of the GPU studies (experiments/studies/gpu_*.py).

--smoke runs every study's `:runlocal` variant on the CPU, with tensorflow-datasets blocked from
import (the GPU machine has none): a module of that name on PYTHONPATH that raises. On the CPU
the "device" and the CPU are one backend, so part a must find no difference at all. About 10
minutes on a busy 2-core machine (every run is a process of its own).
"""
import json
import math
import os
import runpy
import subprocess
import sys

import pytest

from gan_jax import bench
from tests.conftest import REPO

DRIVER = os.path.join(REPO, 'scripts', 'gpu_check.py')
# Runs declared by each study's :runlocal variant.
RUNS = {'gpu_correctness': 4, 'gpu_speed': 4, 'gpu_seeds': 3, 'gpu_pacgan': 2,
        'gpu_stacked_mnist': 1}


def has_torch() -> bool:
  try:
    bench.torch_reference()
  except FileNotFoundError:
    return False
  return os.path.exists(bench.TORCH_PYTHON)


def numbers(tree):
  """Every int and float in a JSON tree (bools left out)."""
  if isinstance(tree, dict):
    return [x for v in tree.values() for x in numbers(v)]
  if isinstance(tree, list):
    return [x for v in tree for x in numbers(v)]
  return [tree] if isinstance(tree, (int, float)) and not isinstance(tree, bool) else []


def driver(args, tmp_path, timeout=1800):
  block = tmp_path / 'block'
  block.mkdir(exist_ok=True)
  (block / 'tensorflow_datasets.py').write_text(
      'raise ModuleNotFoundError("tensorflow_datasets is blocked (the GPU machine has none)")\n')
  return subprocess.run([sys.executable, DRIVER, *args], cwd=REPO, capture_output=True,
                        text=True, timeout=timeout,
                        env={**os.environ, 'JAX_PLATFORMS': 'cpu', 'PYTHONPATH': str(block)})


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
  tmp = tmp_path_factory.mktemp('gpu_check')
  parts = 'abcde' if has_torch() else 'acde'
  r = driver(['--smoke', f'--out={tmp / "out"}', f'--parts={parts}'], tmp)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
  pages = {}
  for name in RUNS:
    path = tmp / 'out' / f'{name}_runlocal.json'
    if path.exists():
      pages[name] = json.loads(path.read_text())
  return tmp, pages


@pytest.mark.slow
def test_every_part_records_every_run_with_finite_numbers(smoke):
  tmp, pages = smoke
  assert set(pages) == set(RUNS) - (set() if has_torch() else {'gpu_speed'})
  for name, page in pages.items():
    assert len(page['runs']) == RUNS[name], name
    values = numbers(page['runs'])
    assert values and all(math.isfinite(v) for v in values), name
  md = (tmp / 'out' / 'gpu.md').read_text()
  assert 'SMOKE RUN' in md
  for name in pages:
    assert f'[{name}_runlocal.md]({name}_runlocal.md) | {RUNS[name]} |' in md, name


@pytest.mark.slow
def test_correctness_on_one_backend_is_exact(smoke):
  r = {k: v['result'] for k, v in smoke[1]['gpu_correctness']['runs'].items()}
  one = r['update_vs_cpu']
  assert one['default']['max_abs'] == 0 and one['default']['max_scaled'] == 0
  assert one['within_tolerance'] and r['run_twice']['bit_identical']
  assert r['run_twice_deterministic']['bit_identical']
  assert '--xla_gpu_deterministic_ops=true' in r['run_twice_deterministic']['xla_flags']
  assert r['checkpoint_to_cpu']['equal'] and r['checkpoint_to_cpu']['restored_on'] == ['cpu']
  assert smoke[1]['gpu_correctness']['summary']['headline'] == '4 of 4 checks hold'


@pytest.mark.slow
def test_speed_seeds_and_science_have_their_numbers(smoke):
  pages = smoke[1]
  if 'gpu_speed' in pages:
    rows = pages['gpu_speed']['summary']['rows']
    assert set(rows) == {'dcgan28/8/float32', 'dcgan28/8/bfloat16'}
    assert all(r['gan_jax_steps_per_s'] > 0 and r['flops_per_step'] > 0 and r['ratio'] > 0
               for r in rows.values())
  seeds = pages['gpu_seeds']['summary']['rows']
  assert [r['seed_layout'] for r in seeds.values()] == ['loop', 'vmap', 'loop']
  assert seeds['one_seed']['time_vs_one_seed'] == 1.0
  for run in pages['gpu_pacgan']['runs'].values():
    result = run['result']
    assert result['step'] == 16 and len(result['seeds']) == 2
    assert all(m['modes_captured'] is not None for m in result['seeds'].values())
  stacked = pages['gpu_stacked_mnist']['runs']['stacked_mnist_pack2']['result']
  assert stacked['step'] == 8 and stacked['metrics']['modes_captured'] >= 1


@pytest.mark.slow
def test_report_only_rewrites_every_page_byte_for_byte(smoke):
  tmp = smoke[0]
  out = tmp / 'out'
  before = {p: (out / p).read_bytes() for p in os.listdir(out) if p.endswith(('.md', '.json'))}
  r = driver(['--smoke', f'--out={out}', '--report_only'], tmp, timeout=600)
  assert r.returncode == 0, r.stderr[-3000:]
  assert before == {p: (out / p).read_bytes() for p in before}


def test_gpu_md_lists_every_part_from_its_json(tmp_path):
  """The page by hand: a part with a .json is a row with its link, run count, machines and
  headline; a part without one says so."""
  gpu_check = runpy.run_path(DRIVER)
  (tmp_path / 'gpu_speed.json').write_text(json.dumps({
      'summary': {'headline': 'fast'},
      'runs': {'a': {'machine': 'M2'}, 'b': {'machine': 'M1'}, 'c': {'machine': 'M2'}}}))
  lines = gpu_check['page'](str(tmp_path), [('a', 'gpu_correctness'), ('b', 'gpu_speed')], False)
  assert lines[-2:] == ['| a | gpu_correctness.md: not made yet | 0 | — | — |',
                        '| b | [gpu_speed.md](gpu_speed.md) | 3 | M1; M2 | fast |']
  assert gpu_check['page_name']('gpu_pacgan', 'short') == 'gpu_pacgan_short'


def test_bad_parts_are_one_line(tmp_path):
  r = subprocess.run([sys.executable, DRIVER, '--parts', 'az'], cwd=REPO, capture_output=True,
                     text=True)
  assert r.returncode == 2 and "--parts: unknown ['z']; valid: abcde" in r.stderr
