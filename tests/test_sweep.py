"""Sweeps: point construction, every point trained and tabulated, resumability."""
import csv
import json
import os

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import sweep
from tests.conftest import REPO, train_records

SWEEP_FILE = '''
import os
from gan_jax import configs, sweep

def get_config(arg=None):
  config = configs.load_experiment(os.path.join({repo!r}, 'experiments', 'ring8.py'), 'runlocal')
  config.num_seeds = 2
  config.eval.num_samples = 200
  return config

def get_sweep(arg=None):
  return sweep.product({{'loss.name': ['minimax', 'hinge']}})
'''


def test_point_builders():
  assert sweep.product({'a': [1, 2], 'b': ['x', 'y']}) == [
      {'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
  assert sweep.zip_points({'a': [1, 2], 'b': ['x', 'y']}) == [{'a': 1, 'b': 'x'},
                                                              {'a': 2, 'b': 'y'}]
  with pytest.raises(configs.ConfigError, match='one length'):
    sweep.zip_points({'a': [1, 2], 'b': ['x']})
  assert sweep.cross([{'a': 1}, {'a': 2, 'c': 0}], [{'b': 3}]) == [{'a': 1, 'b': 3},
                                                                  {'a': 2, 'c': 0, 'b': 3}]
  assert sweep.point_name({'loss.name': 'hinge', 'model.d_kwargs.mlp.spectral_norm': True}) == (
      'name=hinge,spectral_norm=True')
  assert sweep.parse_shard('1/2') == (1, 2) and sweep.parse_shard(' 0 / 1 ') == (0, 1)
  for bad in ('2/2', '1', '-1/2', 'a/b', '0/0'):
    with pytest.raises(configs.ConfigError, match='expected i/n'):
      sweep.parse_shard(bad)


def test_loss_ablation_plans_twenty_valid_points(tmp_path):
  points = sweep.plan(os.path.join(REPO, 'experiments', 'loss_ablation.py'), 'runlocal',
                      str(tmp_path))
  assert len(points) == 20
  wgan = [c for o, c, _ in points if o['loss.name'] == 'wasserstein']
  assert all(c.loss.penalties.gradient_penalty == 10.0 for c in wgan) and len(wgan) == 4
  assert {c.data.source for _, c, _ in points} == {'ring8', 'grid25'}
  assert len({d for _, _, d in points}) == 20
  # Flax's initial weights, as docs/ablation.md was made, though ring8.py now draws PacGAN's.
  assert {c.model.init_std for _, c, _ in points} == {0.0}


def test_bad_override_names_the_field(tmp_path):
  config = configs.load_experiment(os.path.join(REPO, 'experiments', 'ring8.py'))
  with pytest.raises(configs.ConfigError, match="no field 'loss.nme'"):
    sweep.apply_overrides(config, {'loss.nme': 'hinge'})
  path = tmp_path / 'nosweep.py'
  path.write_text('def get_config(arg=None):\n  return None\n')
  with pytest.raises(configs.ConfigError, match='defines no get_sweep'):
    sweep.load_sweep(str(path))


@pytest.mark.slow
def test_sweep_trains_tabulates_and_resumes(tmp_path):
  """Each point a study-engine run under its lock: a point another process holds is left to it,
  then taken over; finished points are read, not retrained; a longer sweep resumes them."""
  from gan_jax.study import engine
  path = tmp_path / 'tiny_sweep.py'
  path.write_text(SWEEP_FILE.format(repo=REPO))
  workdir = tmp_path / 'runs'
  minimax, hinge = sweep.runs(str(path))
  # Shard 1/2 takes the hinge point first, then any other; "another shard" holds minimax.
  with engine.run_lock(str(workdir / minimax.name)) as held:
    assert held
    rows = sweep.run_sweep(str(path), None, str(workdir), metric='modes_captured', shard='1/2')
  assert [r['overrides'] for r in rows] == [{'loss.name': 'hinge'}]
  assert not (workdir / 'name=minimax').exists()  # Never trained while held elsewhere.
  assert (workdir / 'results.md').read_text().count('\n| ') == 1
  rows = sweep.run_sweep(str(path), None, str(workdir), metric='modes_captured', shard=(0, 2))
  assert [r['overrides'] for r in rows] == [{'loss.name': 'minimax'}, {'loss.name': 'hinge'}]
  with open(workdir / 'results.csv') as f:
    table = list(csv.DictReader(f))
  for row, line in zip(rows, table):
    saved = json.load(open(workdir / sweep.point_name(row['overrides']) / 'eval.json'))
    per_seed = [saved['seeds'][s]['high_quality_percent'] for s in ('0', '1')]
    np.testing.assert_allclose(float(line['high_quality_percent_mean']), np.mean(per_seed))
    np.testing.assert_allclose(float(line['high_quality_percent_std']), np.std(per_seed, ddof=1))
    assert line['loss.name'] == row['overrides']['loss.name'] and line['num_seeds'] == '2'
  assert (workdir / 'results.md').read_text().count('\n| ') == 2  # A row per point.
  assert (workdir / 'results.png').read_bytes()[:4] == b'\x89PNG'
  assert not list(workdir.glob('*.tmp*'))
  # Finished points are read, not retrained.
  metrics = workdir / 'name=hinge' / 'metrics.jsonl'
  before = metrics.read_text()
  sweep.run_sweep(str(path), None, str(workdir))
  assert metrics.read_text() == before
  # A point short of its final step resumes from its checkpoint (here: the sweep grows longer).
  path.write_text(SWEEP_FILE.format(repo=REPO).replace(
      '  return config', '  config.train.num_steps = 6\n  return config'))
  sweep.run_sweep(str(path), None, str(workdir))
  steps = [r['step'] for r in train_records(str(metrics)) if r['seed'] == 0]
  assert steps == [2, 4, 6]
  assert json.load(open(workdir / 'name=hinge' / 'eval.json'))['step'] == 6


def test_points_become_study_runs(tmp_path):
  runs = sweep.runs('experiments/loss_ablation.py')
  assert [r.name for r in runs] == [sweep.point_name(p) for p in sweep.load_sweep(
      os.path.join(REPO, 'experiments', 'loss_ablation.py'))]
  assert all(r.kind == 'gan' and r.config == 'experiments/loss_ablation.py' and r.seed == 0
             and r.labels == r.overrides for r in runs)
  path = tmp_path / 'seeds.py'
  path.write_text(SWEEP_FILE.format(repo=REPO).replace("{'loss.name': ['minimax', 'hinge']}",
                                                       "{'seed': [3, 4]}"))
  assert [(r.name, r.seed) for r in sweep.runs(str(path))] == [('seed=3', 3), ('seed=4', 4)]


def test_rows_and_results_files_from_hand_made_records(tmp_path):
  from gan_jax.study import Run
  run = Run(name='p', overrides={'loss.name': 'hinge'}, seed=0)
  seeds = {'0': {'fid': 10.0, 'kl': None}, '1': {'fid': 14.0, 'kl': 0.5},
           '2': {'fid': 18.0, 'kl': 0.7}}
  row = sweep.summarize(run, {'result': {'step': 4, 'seeds': seeds}})
  assert row['num_seeds'] == 3 and row['mean'] == pytest.approx({'fid': 14.0, 'kl': 0.6})
  assert row['std'] == pytest.approx({'fid': 4.0, 'kl': 0.02 ** 0.5})
  one = sweep.summarize(Run(name='q', overrides={'loss.name': 'minimax'}, seed=5),
                        {'result': {'step': 4, 'metrics': {'fid': 3.0, 'kl': None}}})
  assert (one['num_seeds'], one['mean'], one['std']) == (1, {'fid': 3.0, 'kl': None},
                                                         {'fid': 0.0, 'kl': None})
  paths = sweep.write_results(str(tmp_path), [row, one], 'kl', {'kind': 'test'})
  md = open(paths[1]).read().splitlines()
  assert md[:4] == ['| loss.name | seeds | fid | kl |', '|---|---|---|---|',
                    '| hinge | 3 | 14 ± 4 | 0.6 ± 0.14 |', '| minimax | 1 | 3 ± 0 | — |']
  assert md[-1].endswith('protocol: {"kind": "test"}.')
  with open(paths[0]) as f:
    header, first, second = list(csv.reader(f))
  assert header == ['loss.name', 'num_seeds', 'fid_mean', 'fid_std', 'kl_mean', 'kl_std']
  assert first[:2] == ['hinge', '3'] and second == ['minimax', '1', '3.0', '0.0', '', '']
  np.testing.assert_allclose([float(x) for x in first[2:]], [14.0, 4.0, 0.6, 0.02 ** 0.5])
  png = open(paths[2], 'rb').read()
  assert png[:4] == b'\x89PNG'
  sweep.write_results(str(tmp_path), [row, one], 'kl', {'kind': 'test'})
  assert open(paths[2], 'rb').read() == png  # The same numbers, the same bytes.


def test_mnist_losses_sweep_plans_every_loss(tmp_path):
  from gan_jax import losses, sweep
  from tests.conftest import REPO
  points = sweep.plan(os.path.join(REPO, 'experiments', 'mnist_losses.py'), 'runlocal',
                      str(tmp_path))
  assert sorted(c.loss.name for _, c, _ in points) == sorted(losses.LOSSES)
