"""experiments/studies/ttq_screen.py and its run kind (gan_jax/study/kind_screen.py): candidates
trained to a few steps, scored at each, their cost, and the page on hand-made records."""
import dataclasses
import json
import os
import subprocess
import sys

import pytest

from gan_jax import configs
from gan_jax.study import Run, engine, kind_screen, kind_ttq, kinds, spec
from tests.conftest import REPO

STUDY = os.path.join(REPO, 'experiments', 'studies', 'ttq_screen.py')


def study(arg=None):
  return engine.load(STUDY, arg)


def run_named(name):
  return next(r for r in study().runs if r.name == name)


def _result(fid, confident, rate):
  m = {'fid': fid, 'confident_percent': confident, 'classes_present': 10, 'precision': 0.5,
       'recall': 0.5, 'density': 0.5, 'coverage': 0.5}
  return {'scores': {'1000': m, '2000': m, '4000': m, '6000': m}, 'steps_per_s': rate,
          'seconds': None}


def test_the_page_ranks_candidates_against_the_default_with_cost_ratios():
  s = study()
  done = {'default': _result(300.0, 80.0, 8.0), 'd64': _result(150.0, 90.0, 4.0),
          'g64': _result(450.0, 70.0, 10.0)}
  records = {r.name: {'result': done[r.name]} if r.name in done else None for r in s.runs}
  page = s.report(spec.Results(runs=s.runs, records=records))
  lines = page.lines
  at = lines.index("Reading (generated from the table), at step 6000 against the default's "
                   "FID 300.0:")
  assert lines[at + 2:at + 4] == [
      "- d64: FID 150.0 (0.50x), 90.0% confident; a step costs 2.00x the default's.",
      "- g64: FID 450.0 (1.50x), 70.0% confident; a step costs 0.80x the default's."]
  assert lines[4].startswith('| candidate | steps/s (1 core) | FID @1000 | FID @2000 | '
                             'FID @4000 | FID @6000 | confident_percent @6000 |')
  assert '| d64 | 4.00 | 150.0 | 150.0 | 150.0 | 150.0 | 90.0 | 10 | 0.50 | 0.50 | 0.50 | 0.50 |' \
      in lines
  assert '- **g64**: a G half as wide: cheaper steps. `model.g_kwargs.dcgan.base_features=64`' \
      in lines
  assert lines[-1].startswith('Not (yet) screened, so not in the table: lr5e-4, ttur, ')
  assert 'd64' not in lines[-1] and page.summary['d64']['fid']['6000'] == 150.0


def test_candidates_train_on_the_earlier_default_with_the_screens_cadences():
  config = kinds.get('screen').config(run_named('g64'))
  assert (config.model.conditional, config.optim.g_lr, config.optim.d_lr) == (False, 2e-4, 2e-4)
  assert config.model.g_kwargs.dcgan.base_features == 64
  assert (config.train.num_steps, config.train.ckpt_every, config.train.ckpt_keep) == (
      6000, 1000, 0)
  assert config.eval.features == 'auto'  # Scored by the protocol; trained without evaluation:
  trained = kinds.experiment_config(kind_screen.training_run(run_named('g64')))
  assert trained.eval.features == 'none'


@pytest.mark.parametrize('steps', [[3, 5], [2, 1], [], [0, 2], 'x'])
def test_bad_steps_are_named_before_training(steps):
  run = Run(name='x', kind='screen', config='experiments/dcgan_mnist.py', args={'steps': steps})
  with pytest.raises(configs.ConfigError, match='each a multiple of the smallest'):
    engine.check(spec.Study(name='x', runs=[run], report=None, command=''))


def test_the_cost_is_the_median_rate_of_the_training_log(tmp_path):
  lines = [{'step': 2, 'steps_per_s': 4.0}, {'step': 2, 'eval/fid': 3.0},
           {'step': 4, 'steps_per_s': 1.0}, {'step': 6, 'steps_per_s': 9.0}]
  with open(tmp_path / 'metrics.jsonl', 'w') as f:
    f.write('\n'.join(json.dumps(x) for x in lines) + '\n')
  assert kind_screen.median_rate(str(tmp_path)) == 4.0
  assert kind_screen.median_rate(str(tmp_path / 'none')) is None


def test_a_result_is_read_only_when_made_for_the_run_as_declared(tmp_path):
  run = run_named('g64')
  kind_ttq.write_result(run, str(tmp_path), kind_ttq.flat(kinds.get('screen').config(run)),
                        {'scores': {}}, kind_screen.RESULT)
  assert kinds.get('screen').result(run, str(tmp_path)) == {'scores': {}}
  longer = dataclasses.replace(run, args={'steps': [1000, 2000, 4000, 8000]})
  assert kinds.get('screen').result(longer, str(tmp_path)) is None
  other = dataclasses.replace(run, overrides={**run.overrides, 'optim.b1': 0.0})
  assert kinds.get('screen').result(other, str(tmp_path)) is None


@pytest.mark.slow  # Trains two candidates 4 steps each in subprocesses and scores 4 checkpoints.
def test_the_runlocal_study_trains_scores_resumes_and_reads_back(tmp_path):
  cmd = [sys.executable, '-m', 'gan_jax.study', 'experiments/studies/ttq_screen.py:runlocal',
         '--workdir', str(tmp_path / 'runs'), '--docs_dir', str(tmp_path / 'docs')]
  first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
  with open(tmp_path / 'runs' / 'no_ema' / kind_screen.RESULT) as f:
    r = json.load(f)['result']
  assert set(r['scores']) == {'2', '4'} and r['steps_per_s'] > 0
  assert all(m['fid'] >= 0 and 0 <= m['confident_percent'] <= 100 for m in r['scores'].values())
  with open(tmp_path / 'runs' / 'no_ema' / 'config.json') as f:
    config = json.load(f)  # Screened on the earlier default, whatever the default is today.
  assert (config['model']['conditional'], config['optim']['g_lr']) == (False, 2e-4)
  md = (tmp_path / 'docs' / 'ttq_screen_runlocal.md').read_text()
  assert '| no_ema |' in md and '`optim.ema_decay=0.0`' in md and '2 of 2 runs finished' in md
  second = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  assert '0 runs trained by this process; 2 of 2 finished.' in second.stderr, second.stderr
