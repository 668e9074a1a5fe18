"""experiments/studies/ttq_uncond.py: every recipe uses no label and is stopped by the budget, not
its steps; the goal's verdict and the table's cells on hand-made records."""
import os

import pytest

from gan_jax import configs
from gan_jax.study import kinds, spec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'ttq_uncond.py')


@pytest.fixture(scope='module')
def module():
  return configs.load_module(STUDY)


def test_runs_are_seed_major_and_use_no_label(module):
  study = module.get_study()
  assert not study.shardable  # Timed: alone on the machine.
  assert [r.seed for r in study.runs] == [s for s in (0, 1, 2) for _ in module.RECIPES]
  for run in study.runs:
    config = kinds.experiment_config(run)
    configs.validate(config)
    # Without labels: unconditional, or conditioned on k-means clusters of the images.
    assert not config.model.conditional or config.data.clusters > 0, run.name
    assert config.train.num_steps == module.STEPS and config.seed == run.seed
    assert run.args['budgets'] == [2, 5, 10]


def _snap(fid, sure, kl, step=1000):
  return {'fid': fid, 'confident_percent': sure, 'class_kl': kl, 'classes_present': 10,
          'precision': 0.5, 'recall': 0.5, 'step': step}


def test_goal_and_table_on_hand_made_records(module):
  recipes = {'a': ({}, 'recipe a')}
  runs = module.runs(recipes, (0, 1), [10])
  snaps = [_snap(50.0, 95.0, 0.01), _snap(70.0, 95.0, 0.01)]  # Seed 1 misses the FID goal.
  records = {r.name: {'result': {'snapshots': {'10': m}}} for r, m in zip(runs, snaps)}
  page = module.report(spec.Results(runs=runs, records=records), recipes, 'cmd', [10])
  text = '\n'.join(page.lines)
  assert '| a | 10 | 2 | 1000 ± 0 | 60.0 ± 14.1 | 95.0 ± 0.0 | 0.010 ± 0.000 |' in text
  assert text.count('1 of 2 |') == 1
  assert '- a: FID 60.0, 95.0% confident, class KL 0.010: goal met on average.' in text
  assert '- a: 0: 50.0 / 95.0 / 0.010 / 1000; 1: 70.0 / 95.0 / 0.010 / 1000' in text
  assert module.met(_snap(60.0, 90.0, 0.02)) and not module.met(_snap(60.0, 89.9, 0.0))
  assert not module.met({'fid': None, 'confident_percent': 99.0, 'class_kl': 0.0})


@pytest.mark.slow  # Two 4-step runlocal runs timed and scored in subprocesses.
def test_runlocal_study_end_to_end(tmp_path):
  import subprocess
  import sys
  r = subprocess.run([sys.executable, '-m', 'gan_jax.study', f'{STUDY}:runlocal', '--workdir',
                      str(tmp_path / 'runs'), '--docs_dir', str(tmp_path / 'docs')],
                     cwd=REPO, capture_output=True, text=True, timeout=900)
  assert r.returncode == 0, r.stderr[-3000:]
  md = (tmp_path / 'docs' / 'ttq_uncond_runlocal.md').read_text()
  assert '| ema999 | 0.5 | 1 |' in md and '| clusters_ada | 0.5 | 1 |' in md
