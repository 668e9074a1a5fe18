"""experiments/studies/precision_ab.py and the measure train_mode_bn_coverage: each variant is
grid25.py with its overrides, a run is read as a variant's only if it trained under that
variant's config, the report on hand-made records (closed forms), and the :runlocal study end to
end."""
import json
import os

import pytest

from gan_jax import configs
from gan_jax.reports import pages
from gan_jax.study import __main__ as study_cli
from gan_jax.study import engine
from gan_jax.study import kinds
from gan_jax.study import measures
from gan_jax.study import spec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'precision_ab.py')
M = ('modes_captured', 'high_quality_percent', 'kl_to_uniform')


@pytest.fixture(scope='module')
def study():
  return engine.load(STUDY)


def run_of(study, variant, seed=0):
  return next(r for r in study.runs if r.labels['variant'] == variant and r.seed == seed)


def test_variants_pin_the_initialisation_they_measure(study):
  """grid25.py's own initialisation changed under the A/B (issue 16): every variant names its
  init_std, so each row keeps meaning what its name says."""
  assert len(study.runs) == 18 and [r.seed for r in study.runs[:7]] == [0] * 6 + [1]
  inits = {r.labels['variant']: kinds.experiment_config(r).model.init_std for r in study.runs}
  assert inits == {'baseline': 0.0, 'normal_init': 0.02, 'adam_b1_0.2': 0.0, 'both': 0.02,
                   'simultaneous': 0.0, 'normal_init_simultaneous': 0.02}
  config = kinds.experiment_config(run_of(study, 'adam_b1_0.2', 2))
  assert (config.optim.b1, config.data.source, config.model.pack) == (0.2, 'grid25', 1)
  assert (config.seed, config.train.num_steps) == (2, 10000)
  assert all(r.args == {'measures': ['train_mode_bn_coverage']} for r in study.runs)


def write_run(run_dir, config, step=10000):
  """A finished-looking run directory: config.json, eval.json and the measure's cache."""
  os.makedirs(run_dir, exist_ok=True)
  numbers = {'modes_captured': 20, 'high_quality_percent': 10.0, 'kl_to_uniform': 0.5}
  files = {'config.json': json.loads(config.to_json()),
           'eval.json': {'step': step, 'seeds': {'0': numbers}},
           'measures.json': {'step': step, 'train_mode_bn_coverage': {'0': numbers}}}
  for name, content in files.items():
    with open(os.path.join(run_dir, name), 'w') as f:
      json.dump(content, f)


def test_a_run_is_read_only_as_the_variant_it_trained(study, tmp_path):
  run = run_of(study, 'adam_b1_0.2')
  write_run(tmp_path / 'a', kinds.experiment_config(run))
  result = kinds.gan_result(run, str(tmp_path / 'a'))
  assert result['step'] == 10000 and result['train_mode_bn_coverage']['0']['modes_captured'] == 20
  # Trained with b1 0.2 under PacGAN's initialisation: that is `both`, not adam_b1_0.2.
  write_run(tmp_path / 'b', kinds.experiment_config(run_of(study, 'both')))
  assert kinds.gan_result(run, str(tmp_path / 'b')) is None
  write_run(tmp_path / 'c', kinds.experiment_config(run), step=9999)  # Short of its steps.
  assert kinds.gan_result(run, str(tmp_path / 'c')) is None


def record(run, eval_hq: float, train_hq: float) -> dict:
  eval_bn = {'modes_captured': 20, 'high_quality_percent': eval_hq, 'kl_to_uniform': 0.5}
  train_bn = {'modes_captured': 18, 'high_quality_percent': train_hq, 'kl_to_uniform': None}
  return {'result': {'step': 10000, 'metrics': eval_bn, 'seconds': None,
                     'train_mode_bn_coverage': {str(run.seed): train_bn}},
          'machine': 'test', 'versions': {}}


def test_report_on_hand_made_records(study):
  hq = {'baseline': ([10.0, 12.0, 14.0], [11.0, 11.0, 11.0]),
        'both': ([36.0, 38.0, 40.0], [30.0, 33.0, 36.0])}
  records = {run_of(study, v, s).name: record(run_of(study, v, s), e[s], t[s])
             for v, (e, t) in hq.items() for s in range(3)}
  page = study.report(spec.Results(runs=study.runs, records=records))
  assert ('| baseline | `model.init_std=0.0` | 3 | 20.0 ± 0.0 | 12.0 ± 2.0 | 0.50 ± 0.00 | '
          '18.0 ± 0.0 | 11.0 ± 0.0 | — |') in page.lines
  assert ('| normal_init | `model.init_std=0.02` | 0 | — | — | — | — | — | — |'
          in page.lines)
  assert ('- both: 38.0 ± 2.0 (+26.0 points; 3 seeds); sampled with train-mode BN 33.0 ± 3.0.'
          in page.lines)
  # |12 - 35.5| > 3 + 2: outside; |38 - 35.5| <= 3 + 2: within.
  assert any(line.endswith('baseline 12.0 (outside), both 38.0 (within).')
             for line in page.lines)
  assert '- baseline: 0: 10.0 / 11.0; 1: 12.0 / 11.0; 2: 14.0 / 11.0' in page.lines
  assert page.summary['table']['both']['train_bn']['high_quality_percent'] == pytest.approx(
      {'mean': 33.0, 'std': 3.0, 'count': 3})
  assert page.figure is not None


def test_without_a_baseline_there_is_no_reading(study):
  run = run_of(study, 'both')
  page = study.report(spec.Results(runs=study.runs, records={run.name: record(run, 40.0, 30.0)}))
  assert not any(line.startswith('Reading') for line in page.lines)
  assert '- both: 0: 40.0 / 30.0' in page.lines


def test_train_mode_bn_coverage_refuses_data_without_modes(tmp_path):
  config = configs.load_experiment(os.path.join(REPO, 'experiments', 'dcgan_mnist.py'))
  with pytest.raises(configs.ConfigError, match='train_mode_bn_coverage: mode_coverage '
                                                'evaluates the 2-D mixtures'):
    measures.get('train_mode_bn_coverage')(config, str(tmp_path))


def save_untrained(run_dir, config, shift_stats: bool) -> None:
  """An untrained checkpoint of config's state; shift_stats: its G's running batch-norm
  statistics moved far from any batch's."""
  import jax
  from gan_jax import checkpoint, workdir
  from gan_jax.experiment import Experiment
  exp = Experiment(config)
  state = exp.init_state()
  if shift_stats:
    state = state.replace(g_vars=jax.tree.map(lambda x: 100.0 * x + 3.0, state.g_vars))
  ckpt = checkpoint.Checkpointer(workdir.checkpoint_dir(str(run_dir)))
  try:
    ckpt.save(1, exp.place(state))
  finally:
    ckpt.close()


@pytest.mark.slow  # Over 10 s: builds, saves and restores two states.
def test_train_mode_bn_coverage_ignores_the_running_statistics(tmp_path):
  """Train-mode batch norm normalises by the sample batch's own statistics: moving the running
  ones changes nothing; each seed of a run of two is measured under its own key."""
  config = configs.load_experiment(os.path.join(REPO, 'experiments', 'grid25.py'), 'runlocal')
  config.num_seeds = 2
  save_untrained(tmp_path / 'a', config, shift_stats=False)
  save_untrained(tmp_path / 'b', config, shift_stats=True)
  a = measures.train_mode_bn_coverage(config, str(tmp_path / 'a'))
  assert sorted(a) == ['0', '1'] and all(sorted(m) == sorted(M) for m in a.values())
  assert a == measures.train_mode_bn_coverage(config, str(tmp_path / 'b'))


@pytest.mark.slow
def test_runlocal_study_end_to_end(tmp_path):
  """baseline and both, one seed, 4 steps; the measure samples each final checkpoint; the page
  regenerates from its .json byte for byte."""
  args = [STUDY + ':runlocal', '--workdir', str(tmp_path / 'runs'),
          '--docs_dir', str(tmp_path / 'docs')]
  assert study_cli.main(args) == 0
  docs = tmp_path / 'docs'
  first = {p: (docs / p).read_bytes() for p in os.listdir(docs)}
  page = first['precision_ab_runlocal.md'].decode()
  assert '2 of 2 runs finished' in page and '- both: 0: ' in page
  for name, r in pages.read(str(docs), 'precision_ab_runlocal')['runs'].items():
    measured = r['result']['train_mode_bn_coverage']['0']
    assert sorted(measured) == sorted(M) and 0 <= measured['high_quality_percent'] <= 100
    assert 0 <= measured['modes_captured'] <= 25
    with open(tmp_path / 'runs' / name / 'measures.json') as f:
      assert json.load(f)['train_mode_bn_coverage']['0'] == measured  # Cached beside the run.
  assert study_cli.main([STUDY + ':runlocal', '--report_only', '--docs_dir', str(docs)]) == 0
  assert first == {p: (docs / p).read_bytes() for p in os.listdir(docs)}
