"""Sweeps: point construction, every point trained and tabulated, resumability."""
import csv
import json
import os

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import sweep
from gan_jax import train
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


def test_sweep_trains_tabulates_and_resumes(tmp_path, monkeypatch):
  path = tmp_path / 'tiny_sweep.py'
  path.write_text(SWEEP_FILE.format(repo=REPO))
  workdir = tmp_path / 'runs'
  # Two shards split the points. Shard 1/2 trains only the second point; shard 0/2 runs "at the
  # same time" (here: while shard 1 trains), so shard 1, finishing last, tabulates both points.
  (minimax, minimax_config, minimax_dir), _ = sweep.plan(str(path), None, str(workdir))
  trained = []

  caches = []

  def train_and_other_shard(config, point_dir, eval_cache):
    trained.append(os.path.basename(point_dir))
    caches.append(eval_cache)
    out = original(config, point_dir, eval_cache=eval_cache)
    assert not os.path.exists(minimax_dir)  # Shard 1 never trains shard 0's point.
    original(minimax_config, minimax_dir)  # The other shard finishing meanwhile.
    return out

  original = train.train_and_evaluate
  monkeypatch.setattr(train, 'train_and_evaluate', train_and_other_shard)
  rows = sweep.run_sweep(str(path), None, str(workdir), metric='modes_captured', shard=(1, 2))
  monkeypatch.undo()
  assert trained == ['name=hinge']
  assert len(caches) == 1 and isinstance(caches[0], dict)  # The sweep's own cache.
  assert [o for o, _ in rows] == [minimax, {'loss.name': 'hinge'}]
  assert (workdir / 'results.md').read_text().count('\n| ') == 2
  assert not list(workdir.glob('*.tmp*'))
  rows = sweep.run_sweep(str(path), None, str(workdir), metric='modes_captured', shard=(0, 2))
  assert [o for o, _ in rows] == [{'loss.name': 'minimax'}, {'loss.name': 'hinge'}]
  with open(workdir / 'results.csv') as f:
    table = list(csv.DictReader(f))
  for (overrides, _), line in zip(rows, table):
    saved = json.load(open(workdir / sweep.point_name(overrides) / 'eval.json'))
    per_seed = [saved['seeds'][s]['high_quality_percent'] for s in ('0', '1')]
    np.testing.assert_allclose(float(line['high_quality_percent_mean']), np.mean(per_seed))
    np.testing.assert_allclose(float(line['high_quality_percent_std']), np.std(per_seed, ddof=1))
    assert line['loss.name'] == overrides['loss.name'] and line['num_seeds'] == '2'
  assert (workdir / 'results.md').read_text().count('\n| ') == 2  # A row per point.
  assert (workdir / 'results.png').exists()
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


def test_mnist_losses_sweep_plans_every_loss(tmp_path):
  from gan_jax import losses, sweep
  from tests.conftest import REPO
  points = sweep.plan(os.path.join(REPO, 'experiments', 'mnist_losses.py'), 'runlocal',
                      str(tmp_path))
  assert sorted(c.loss.name for _, c, _ in points) == sorted(losses.LOSSES)
