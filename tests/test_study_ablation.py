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
  assert ('the non-saturating and hinge losses without spectral norm cover the most modes '
          '(8 of 8 on ring8, 21 of 25 on grid25)') in text
  # WGAN-GP keeps its 4 modes under spectral norm: no 'for every loss'; 4 of 8 is no collapse.
  assert ('spectral norm in D does not lower grid25\'s coverage for wasserstein + GP 10 (for '
          'example non-saturating 21.0 → 9.0 modes, hinge 21.0 → 9.0)') in text
  assert ('WGAN-GP with one critic step per G step covers at most 4 of 8 modes on ring8 and 4 of '
          '25 modes on grid25**') in text
  assert 'no metric moves between the evaluation at 2,500 steps' in text  # Mid = final means.
  assert '% high quality is low everywhere' in text
  assert 'large (minimax without spectral norm on ring8: 8.0 ± 1.0 modes)' in text  # First max.
  assert 'XLA\'s default CPU kernels' not in text  # Records made by the study, not converted.
  assert page.figure is not None


def grid(study, modes: dict, hq: float = 10.0, note: str = 'test') -> dict:
  """Records of every point: seeds (m - 1, m, m + 1) of modes m = modes[data, loss, sn] (else
  modes[data, sn]), % hq `hq`, mid-run modes m + 1."""
  records = {}
  for r in study.runs:
    d, l, sn = r.labels['data'], r.labels['loss'], r.labels['spectral_norm']
    m = modes.get((d, l, sn), modes.get((d, sn)))
    records[r.name] = {**record([(m - 1, hq, 0.5), (m, hq, 0.5), (m + 1, hq, 0.5)],
                                [(m + 1, hq, 0.5)] * 3), 'machine': note}
  return records


def test_reading_states_the_claims_the_records_support(study):
  modes = {('ring8', False): 8, ('ring8', True): 7, ('grid25', False): 20, ('grid25', True): 10,
           ('ring8', 'wasserstein + GP 10', False): 2, ('ring8', 'wasserstein + GP 10', True): 2,
           ('grid25', 'wasserstein + GP 10', False): 6, ('grid25', 'wasserstein + GP 10', True): 3,
           ('grid25', 'least_squares', True): 8}
  note = 'not recorded (...; converted from scripts/ablation_table.py\'s docs/ablation.json at x)'
  text = '\n'.join(study.report(spec.Results(runs=study.runs,
                                              records=grid(study, modes, note=note))).lines)
  # Every loss keeps 10/20, 3/6 or 8/20 of its grid25 modes: within (0.35, 0.65).
  assert ('spectral norm in D roughly halves grid25\'s coverage for every loss (for example '
          'non-saturating 20.0 → 10.0 modes, hinge 20.0 → 10.0)') in text
  # 2 < 8/3 and 6 < 25/3.
  assert 'WGAN-GP with one critic step per G step collapses on both data sets (at most 6 modes)'\
      in text
  assert 'every metric still moves' not in text and 'modes still moves between' in text
  assert 'XLA\'s default CPU kernels' in text  # Every record converted from the old page.


def test_reading_says_what_the_records_show_where_the_claims_fail(study):
  modes = {('ring8', False): 8, ('ring8', True): 8, ('grid25', False): 20, ('grid25', True): 16,
           ('grid25', 'minimax', False): 24, ('grid25', 'minimax', True): 4}
  text = '\n'.join(study.report(spec.Results(runs=study.runs,
                                              records=grid(study, modes, hq=60.0))).lines)
  assert ('the most modes are covered on ring8 by ' + ' and '.join(
      f'{l} {w} spectral norm' for l in ('minimax', 'non_saturating', 'wasserstein + GP 10',
                                         'least_squares', 'hinge') for w in ('without', 'with'))
          + ' (8 of 8) and on grid25 by minimax without spectral norm (24 of 25)') in text
  # Kept 16/20 = 80% (four losses) and 4/24 = 17% (minimax): mean (4 * 0.8 + 1/6) / 5 = 67%.
  assert ('spectral norm in D lowers grid25\'s coverage for every loss, keeping 17% to 80% of the '
          'modes covered without it (67% on average; for example non-saturating 20.0 → 16.0 '
          'modes, hinge 20.0 → 16.0)') in text
  assert 'covers at most 8 of 8 modes on ring8 and 20 of 25 modes on grid25' in text
  assert '% high quality reaches 60.0' in text


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
