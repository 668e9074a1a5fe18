"""experiments/studies/mode_collapse.py: equal CPU budgets turned into steps, each method's
settings, the report on hand-made records (closed forms), and the :runlocal study end to end."""
import json
import os
import subprocess
import sys

import pytest

from gan_jax import configs
from gan_jax.study import engine
from gan_jax.study import kinds
from gan_jax.study import spec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'mode_collapse.py')
RATES = {('stacked_mnist', 'gan'): 10.0, ('stacked_mnist', 'pacgan2'): 6.0,
         ('stacked_mnist', 'r3gan'): 2.5, ('grid25', 'gan'): 100.0,
         ('grid25', 'pacgan2'): 70.0, ('grid25', 'r3gan'): 33.3}


@pytest.fixture
def module(monkeypatch):
  m = configs.load_module(STUDY)
  monkeypatch.setattr(m, 'STEPS_PER_S', RATES)
  return m


def test_the_budget_is_the_same_minutes_at_each_method_s_rate(module):
  study = module.get_study()
  assert len(study.runs) == 18 and [r.seed for r in study.runs[:6]] == [0] * 6
  steps = {(r.labels['data'], r.labels['method']): r.overrides['train.num_steps']
           for r in study.runs}
  minutes = module.BUDGET_MINUTES
  # Rate x 60 x minutes, rounded down to a multiple of 4.
  assert steps['stacked_mnist', 'gan'] == 600 * minutes // 4 * 4
  assert steps['grid25', 'r3gan'] == int(33.3 * 60 * minutes) // 4 * 4
  for run in study.runs:
    rate = RATES[run.labels['data'], run.labels['method']]
    assert abs(run.overrides['train.num_steps'] / rate / 60 - minutes) < 4 / rate / 60 + 1e-9


def test_each_method_s_settings(module):
  study = module.get_study()
  config = {(r.labels['data'], r.labels['method']): kinds.experiment_config(r)
            for r in study.runs if r.seed == 1}
  assert all(c.seed == 1 for c in config.values())
  gan, pac = config['stacked_mnist', 'gan'], config['stacked_mnist', 'pacgan2']
  assert (gan.model.pack, gan.data.batch_size, pac.model.pack, pac.data.batch_size) == (1, 64,
                                                                                         2, 128)
  assert gan.eval.num_samples == 26_000 and gan.loss.name == 'non_saturating'
  for data in ('stacked_mnist', 'grid25'):
    r3 = config[data, 'r3gan']
    assert r3.loss.name == 'rpgan' and r3.loss.penalties.r1 == r3.loss.penalties.r2 == 0.025
    assert (r3.optim.b1, r3.optim.b2, r3.optim.burnin.b2_start) == (0.0, 0.99, 0.9)
    assert r3.optim.burnin.steps == r3.train.num_steps // 2
    assert r3.optim.ema_decay ** 200 == pytest.approx(0.5)  # A 200-step half-life.
    assert r3.train.eval_every == r3.train.num_steps
  smnist = config['stacked_mnist', 'r3gan']
  assert smnist.model.generator == 'r3gan' and smnist.data.batch_size == 64
  assert tuple(smnist.model.g_kwargs.r3gan.features) == (32, 24, 16)
  assert tuple(smnist.model.d_kwargs.r3gan.features) == (16, 24, 32)
  grid = config['grid25', 'r3gan']
  assert grid.model.generator == 'mlp' and grid.model.g_kwargs.mlp.norm == 'none'
  assert config['grid25', 'gan'].model.g_kwargs.mlp.norm == 'batch'
  assert config['grid25', 'pacgan2'].data.batch_size == 200


def test_without_a_measured_rate_the_study_is_refused(module, monkeypatch):
  monkeypatch.setattr(module, 'STEPS_PER_S', {**RATES, ('grid25', 'r3gan'): None})
  with pytest.raises(configs.ConfigError,
                     match=r"no measured rate for \[\('grid25', 'r3gan'\)\].*steps_per_second"):
    module.get_study()
  with pytest.raises(configs.ConfigError, match='Unknown study argument'):
    module.get_study('fast')


def record(step: int, seconds: float, **metrics) -> dict:
  return {'result': {'step': step, 'metrics': metrics, 'seconds': seconds}, 'machine': 'test',
          'versions': {}}


def test_report_rows_are_mean_std_over_seeds(module):
  study = module.get_study()
  records = {}
  for r in study.runs:
    d, m, s = r.labels['data'], r.labels['method'], r.seed
    steps = r.overrides['train.num_steps']
    if d == 'stacked_mnist':
      modes = {'gan': 100, 'pacgan2': 900, 'r3gan': 500}[m] + 10 * s  # 100, 110, 120 ...
      records[r.name] = record(steps, 360 + 6 * s, modes_captured=modes,
                               kl_to_uniform=1.0 + 0.1 * s)
    elif m != 'r3gan':
      records[r.name] = record(steps, 360, modes_captured=20 + s, high_quality_percent=50.0,
                               kl_to_uniform=None if s == 2 else 0.5)
  page = study.report(spec.Results(runs=study.runs, records=records))
  steps = module.steps_of('stacked_mnist', 'pacgan2', module.BUDGET_MINUTES)
  # Modes 910 ± 10; minutes (360, 366, 372) / 60 = 6.1 ± 0.1; KL 1.1 ± 0.1.
  assert (f'| stacked_mnist | pacgan2 | 3 | {steps:,} | 6.1 ± 0.1 | 910.0 ± 10.0 | — | '
          '1.10 ± 0.10 | — |') in page.lines
  # KL of the seeds that have one: 0.5 ± 0; no grid25 r3gan row (unfinished).
  assert any(line.startswith('| grid25 | gan | 3 |') and '| 21.0 ± 1.0 | 50.0 ± 0.0 | '
             '0.50 ± 0.00 | PacGAN Table 1: 17.3 / 94.8% / 0.70 |' in line for line in page.lines)
  assert not any(line.startswith('| grid25 | r3gan') for line in page.lines)
  assert '- stacked_mnist r3gan: 0: 500 / 1.00; 1: 510 / 1.10; 2: 520 / 1.20' in page.lines
  assert '- grid25 gan: 0: 20 / 50.0 / 0.50; 1: 21 / 50.0 / 0.50; 2: 22 / 50.0 / —' in page.lines
  assert ('- stacked_mnist: most modes captured by pacgan2 (modes, mean ± std over seeds: '
          'gan 110.0 ± 10.0, pacgan2 910.0 ± 10.0, r3gan 510.0 ± 10.0).') in page.lines
  assert page.summary['stacked_mnist_gan']['modes_captured'] == {'mean': 110.0, 'std': 10.0,
                                                                 'count': 3}
  assert page.summary['grid25_gan']['kl_to_uniform']['count'] == 2
  assert 'minutes of one core' in '\n'.join(page.lines)


def test_steps_per_second_refuses_a_study_without_rate_runs(capsys):
  sys.path.insert(0, os.path.join(REPO, 'scripts'))
  try:
    import steps_per_second
  finally:
    sys.path.pop(0)
  with pytest.raises(SystemExit):
    steps_per_second.main([os.path.join(REPO, 'experiments', 'studies', 'pacgan.py')])
  assert 'defines no rate_runs()' in capsys.readouterr().err


@pytest.mark.slow
def test_runlocal_study_trains_every_method_and_reports(tmp_path):
  cmd = [sys.executable, '-m', 'gan_jax.study', f'{STUDY}:runlocal',
         f'--workdir={tmp_path / "runs"}', f'--docs_dir={tmp_path / "docs"}']
  r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200)
  assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
  payload = json.load(open(tmp_path / 'docs' / 'mode_collapse_runlocal.json'))
  assert len(payload['runs']) == 6
  page = (tmp_path / 'docs' / 'mode_collapse_runlocal.md').read_text()
  for data in ('stacked_mnist', 'grid25'):
    for method in ('gan', 'pacgan2', 'r3gan'):
      assert f'| {data} | {method} | 1 | 4 |' in page, (data, method)
  study = engine.load(STUDY, 'runlocal')
  assert [r.name for r in study.runs] == [f'{d}_{m}/seed0' for d in ('stacked_mnist', 'grid25')
                                          for m in ('gan', 'pacgan2', 'r3gan')]
