"""experiments/studies/augmentation_lowdata.py: each method's GAN settings (checked before any
run: every cell's config is valid), the paired verdict on hand-made records, and the :runlocal
study end to end."""
import os
import subprocess
import sys

import pytest

from gan_jax import configs
from gan_jax.study import Run, kinds, spec
from gan_jax.study import kind_augmentation

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'augmentation_lowdata.py')


@pytest.fixture(scope='module')
def module():
  return configs.load_module(STUDY)


def test_cells_and_each_method_s_gan(module):
  study = module.get_study()
  assert len(study.runs) == 5 * 2
  assert [r.name for r in study.runs[:3]] == ['ada/n=10,seed=0', 'ada/n=25,seed=0',
                                              'ada/n=10,seed=1']
  ada = [kind_augmentation.cell_config(r) for r in study.runs
         if r.seed == 3 and r.labels['n'] == '25'][0]
  assert (ada.ada.mode, ada.augment.policy, ada.loss.name) == ('adaptive', '', 'non_saturating')
  assert (ada.ada.target, ada.ada.kimg) == (0.6, 100.0)
  assert tuple(ada.protocol.per_class) == (25,) and tuple(ada.protocol.seeds) == (3,)
  assert ada.model.conditional and ada.train.num_steps == 2000 and ada.optim.g_lr == 2e-4
  configs.validate(ada)  # A valid config: no error when the cell runs.


def _result(classical, gan1, gan4):
  return {'accuracy': {'real': 0.8, 'real+classical': classical, 'real+gan_x1+classical': gan1,
                       'real+gan_x4+classical': gan4, 'gan_only': 0.7},
          'gan_test': 0.9, 'seconds': 60.0, 'gan_seconds': 30.0}


def test_the_verdict_needs_every_seed_and_more_than_the_spread(module):
  runs = [Run(name=f'ada/n=10,seed={s}', kind='augmentation', seed=s,
              labels={'method': 'ada', 'n': '10'}) for s in range(3)]
  # x1 higher by 1, 2, 3 points (mean 2 > std 1): beats; x4 by 3, -1, 1: not in every seed.
  records = {r.name: {'result': _result(0.9, 0.9 + d1 / 100, 0.9 + d4 / 100)}
             for r, d1, d4 in zip(runs, (1, 2, 3), (3, -1, 1))}
  results = spec.Results(runs=runs, records=records)
  page = module.report(results)
  text = '\n'.join(page.lines)
  assert ('- N = 10, real+gan_x1+classical against real+classical: +2.0 ± 1.0 (higher in 3 of 3 '
          'seeds): **beats it by more than the seeds\' spread**.') in text
  assert ('- N = 10, real+gan_x4+classical against real+classical: +1.0 ± 2.0 (higher in 2 of 3 '
          'seeds): does not beat it') in text
  assert '| real+classical | 90.0 ± 0.0 (3) |' in text
  assert 'Cost: 3 min summed over the 3 cells (2 min training the GANs)' in text


@pytest.mark.slow  # Two runlocal cells (a GAN and its classifiers each) in a subprocess.
def test_runlocal_study_runs_every_method(tmp_path):
  r = subprocess.run([sys.executable, '-m', 'gan_jax.study', f'{STUDY}:runlocal', '--workdir',
                      str(tmp_path / 'runs'), '--docs_dir', str(tmp_path / 'docs')],
                     cwd=REPO, capture_output=True, text=True, timeout=900)
  assert r.returncode == 0, r.stderr[-3000:]
  md = (tmp_path / 'docs' / 'augmentation_lowdata_runlocal.md').read_text()
  assert '## ada' in md and 'N = 5' in md and 'Cost:' in md
