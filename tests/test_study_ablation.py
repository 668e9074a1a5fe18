"""experiments/studies/ablation.py and the measure mid_run_evals: the sweep's 20 points as runs,
the report on hand-made records (closed forms), and the :runlocal study end to end."""
import json
import os

import pytest

from gan_jax import configs
from gan_jax.reports import pages
from gan_jax.study import __main__ as study_cli
from gan_jax.study import engine
from gan_jax.study import measures
from gan_jax.study import spec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'ablation.py')
M = ('modes_captured', 'high_quality_percent', 'kl_to_uniform')


@pytest.fixture(scope='module')
def study():
  return engine.load(STUDY)


def record(seeds: list, mid: list = None, step: int = 5000) -> dict:
  """A 'gan' record of one run of len(seeds) seeds: seeds[i] = (modes, % hq, KL) of seed i."""
  result = {'step': step, 'seeds': {str(i): dict(zip(M, v)) for i, v in enumerate(seeds)},
            'seconds': None}
  if mid is not None:
    result['mid_run_evals'] = {'2500': {str(i): {k: x for k, x in zip(M, v) if x is not None}
                                        for i, v in enumerate(mid)}}
  return {'result': result, 'machine': 'test', 'versions': {}}


def run_named(study, data, loss, sn):
  return next(r for r in study.runs if r.labels == {'data': data, 'loss': loss,
                                                    'spectral_norm': sn})


def test_runs_are_the_sweeps_twenty_points(study):
  assert len(study.runs) == 20 and study.name == 'ablation'
  assert {r.seed for r in study.runs} == {0}
  assert all(r.args == {'measures': ['mid_run_evals']} for r in study.runs)
  wgan = run_named(study, 'grid25', 'wasserstein + GP 10', True)
  assert wgan.name == 'source=grid25,name=wasserstein,gradient_penalty=10.0,spectral_norm=True'
  config = engine.kinds.experiment_config(wgan)
  assert (config.num_seeds, config.train.num_steps, config.train.eval_every) == (3, 5000, 2500)
  assert (config.model.init_std, config.loss.penalties.gradient_penalty) == (0.0, 10.0)
  assert config.model.d_kwargs.mlp.spectral_norm and config.data.source == 'grid25'


def test_report_rows_are_mean_std_over_seeds_with_the_mid_run_mean(study):
  minimax = run_named(study, 'ring8', 'minimax', False)
  records = {minimax.name: record([(7, 20.0, 0.5), (8, 30.0, 0.3), (9, 40.0, None)],
                                  [(5, 10.0, 0.8), (6, 12.0, 1.0), (7, 14.0, None)])}
  page = study.report(spec.Results(runs=study.runs, records=records))
  # Modes 8 ± 1 (mid 6), % hq 30 ± 10 (mid 12), KL of two seeds: 0.4 ± sqrt(0.02) (mid 0.9).
  assert ('| minimax | no | 8.0 ± 1.0 [6.0] | 30.0 ± 10.0 [12.0] | '
          '0.40 ± 0.14 (2 of 3 seeds defined) [0.90] |') in page.lines
  assert '**ring8** (5,000 steps, 3 seeds a row; in brackets: at step 2,500)' in page.lines
  assert any('from 1 of 20 points' in line for line in page.lines)
  assert not any(line.startswith('**grid25**') for line in page.lines)
  assert '## What it shows' not in page.lines  # Its rows are not all finished.
  row = page.summary['rows'][minimax.name]
  assert row['final']['kl_to_uniform'] == pytest.approx({'mean': 0.4, 'std': 0.02 ** 0.5,
                                                         'count': 2})


def test_undefined_everywhere_and_no_mid_run_evaluation(study):
  hinge = run_named(study, 'grid25', 'hinge', True)
  records = {hinge.name: record([(0, 0.0, None)] * 3)}
  page = study.report(spec.Results(runs=study.runs, records=records))
  assert '| hinge | yes | 0.0 ± 0.0 | 0.0 ± 0.0 | undefined |' in page.lines
  assert '**grid25** (5,000 steps, 3 seeds a row)' in page.lines


def test_reading_takes_its_numbers_from_the_records(study):
  modes = {('ring8', False): 8, ('ring8', True): 7, ('grid25', False): 21, ('grid25', True): 9}
  records = {}
  for r in study.runs:
    m = modes[(r.labels['data'], r.labels['spectral_norm'])]
    m = 4 if r.labels['loss'].startswith('wasserstein') else m
    records[r.name] = record([(m - 1, 10.0, 0.5), (m, 10.0, 0.5), (m + 1, 10.0, 0.5)],
                             [(m, 10.0, 0.5)] * 3)
  page = study.report(spec.Results(runs=study.runs, records=records))
  text = '\n'.join(page.lines)
  assert '(8 of 8 on ring8, 21 of 25 on grid25)' in text
  assert 'non-saturating 21.0 → 9.0 modes, hinge 21.0 → 9.0' in text
  assert 'at most 4 modes' in text and 'grid25: 9.0 ± 1.0 modes' in text
  assert page.figure is not None


def test_mid_run_evals_reads_the_logged_evaluations_before_the_last_step(tmp_path):
  lines = [{'step': 2, 'seed': 0, 'g_loss': 1.0},
           {'step': 2, 'seed': 0, 'eval/modes_captured': 3.0, 'eval/kl_to_uniform': 0.5},
           {'step': 2, 'seed': 1, 'eval/modes_captured': 4.0},
           {'step': 2, 'seed': 1, 'eval/modes_captured': 5.0},  # Redone after a resume.
           {'step': 4, 'seed': 0, 'eval/modes_captured': 6.0}]  # The final evaluation.
  with open(tmp_path / 'metrics.jsonl', 'w') as f:
    f.write(''.join(json.dumps(line) + '\n' for line in lines))
  config = configs.base_config()
  config.train.num_steps = 4
  assert measures.get('mid_run_evals')(config, str(tmp_path)) == {
      '2': {'0': {'modes_captured': 3.0, 'kl_to_uniform': 0.5}, '1': {'modes_captured': 5.0}}}
  assert measures.mid_run_evals(config, str(tmp_path / 'none')) == {}


def test_unknown_measure_lists_the_valid_ones():
  with pytest.raises(configs.ConfigError,
                     match=r"Unknown measure 'nope'; valid measures: \['mid_run_evals', "):
    measures.get('nope')


@pytest.mark.slow
def test_runlocal_study_end_to_end(tmp_path):
  """Two runs of 3 seeds, 4 steps, evaluated at step 2 and 4; the page regenerates from its
  .json byte for byte."""
  args = [STUDY + ':runlocal', '--workdir', str(tmp_path / 'runs'),
          '--docs_dir', str(tmp_path / 'docs')]
  assert study_cli.main(args) == 0
  docs = tmp_path / 'docs'
  first = {p: (docs / p).read_bytes() for p in os.listdir(docs)}
  assert sorted(first) == [f'ablation_runlocal.{e}' for e in ('json', 'md', 'png')]
  page = first['ablation_runlocal.md'].decode()
  assert '2 of 2 runs finished' in page and 'in brackets: at step 2)' in page
  runs = pages.read(str(docs), 'ablation_runlocal')['runs']
  for r in runs.values():
    assert sorted(r['result']['seeds']) == ['0', '1', '2'] and r['result']['step'] == 4
    assert sorted(r['result']['mid_run_evals']['2']) == ['0', '1', '2']
  assert study_cli.main([STUDY + ':runlocal', '--report_only', '--docs_dir', str(docs)]) == 0
  assert first == {p: (docs / p).read_bytes() for p in os.listdir(docs)}
