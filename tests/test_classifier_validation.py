"""gan_jax/classifier_validation.py, run kind 'classifier' and the classifier_recipe study."""
import os

import numpy as np
import pytest

from gan_jax import classifier_validation as cv
from gan_jax import configs
from gan_jax.study import Run, spec
from gan_jax.study import engine

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'classifier_recipe.py')
LABELS = np.repeat(np.arange(3), 20)  # 3 classes of 20 examples.


@pytest.mark.parametrize('per_class', [None, 5])
def test_split_sets_aside_n_val_per_class_and_keeps_the_parts_apart(per_class):
  keep, val = cv.split(LABELS, per_class, seed=4, n_val=6)
  assert np.bincount(LABELS[val]).tolist() == [6, 6, 6]
  assert not set(keep) & set(val)
  if per_class is None:  # The whole rest of the split.
    assert sorted(np.concatenate([keep, val])) == list(range(60))
  else:
    assert np.bincount(LABELS[keep]).tolist() == [5, 5, 5]


def test_split_validation_part_depends_on_the_seed_only():
  val = cv.split(LABELS, None, 1, 6)[1]
  assert np.array_equal(cv.split(LABELS, 3, 1, 6)[1], val)
  assert not np.array_equal(cv.split(LABELS, None, 2, 6)[1], val)


def test_recipe_applies_overrides_and_refuses_unknown_fields():
  cfg = cv.recipe({'batch_size': 64, 'steps': 400})
  assert (cfg.batch_size, cfg.steps, cfg.weight_decay) == (64, 400, 0.0)
  with pytest.raises(ValueError, match='Unknown classifier fields'):
    cv.recipe({'batch': 64})


@pytest.mark.parametrize('default, alternative, expected', [
    ((90.0, 1.0), (91.5, 0.5), True),   # +1.5 > max(1.0, 0.5).
    ((90.0, 1.0), (90.9, 0.2), False),  # +0.9 < 1.0.
    ((90.0, 0.5), (91.0, 1.0), False),  # Exactly one std: not more than it.
    ((90.0, 0.0), (89.0, 0.0), False),
])
def test_wins_by_more_than_the_larger_std(default, alternative, expected):
  assert cv.wins(default, alternative) is expected


def test_replaces_only_when_it_wins_in_every_setting():
  assert cv.replaces([(90, 1), (95, 0.5)], [(92, 0.5), (96, 0.2)])
  assert not cv.replaces([(90, 1), (95, 0.5)], [(92, 0.5), (95.4, 0.2)])
  with pytest.raises(ValueError, match='same settings'):
    cv.replaces([(90, 1)], [(92, 0.5), (96, 0.2)])


def test_study_declares_every_recipe_setting_and_seed():
  study = engine.load(STUDY)
  assert len(study.runs) == (3 + 2) * 2 * 3
  for run in study.runs:
    assert run.kind == 'classifier' and run.args['seed'] == run.seed
  hashes = {engine.config_hash(r) for r in study.runs}
  assert len(hashes) == len(study.runs)  # Seed and recipe are in every run's hash.
  with pytest.raises(configs.ConfigError, match='valid: runlocal'):
    engine.load(STUDY, 'nope')


def _record(run, result):
  return {'result': result, 'machine': 'm', 'versions': {}}


def test_report_states_mean_std_seconds_and_verdict_of_the_runs():
  study = engine.load(STUDY, 'runlocal')  # digits, N = 10, shift1 vs shift2, seeds 0 and 1.
  accuracy = {('shift1', 0): 0.90, ('shift1', 1): 0.94, ('shift2', 0): 0.99, ('shift2', 1): 0.97}
  records = {r.name: _record(r, {'accuracy': accuracy[r.name.split('_')[2].split('/')[0],
                                                      r.seed], 'seconds': 1.5})
             for r in study.runs}
  page = study.report(spec.Results(runs=study.runs, records=records))
  text = '\n'.join(page.lines)
  assert '| digits | 10 | default for 8x8 (max_shift 1) | 92.0 ± 2.8 | 3 |' in text
  assert '| digits | 10 | max_shift 2 (the 28x28 default) | 98.0 ± 1.4 | 3 |' in text
  assert '- digits: max_shift 2 (the 28x28 default) replaces the default.' in text  # +6 > 2.8.
  assert '- digits / 10 / default for 8x8 (max_shift 1): 0: 90.0; 1: 94.0' in text
  assert page.summary['digits/10/default for 8x8 (max_shift 1)']['std'] == pytest.approx(
      100 * np.std([0.90, 0.94], ddof=1))


def test_report_of_converted_runs_keeps_the_old_pages_rows():
  study = engine.load(STUDY, 'runlocal')
  rows = {'shift1': {'mean': 93.3, 'std': 0.0, 'seconds': 5},
          'shift2': {'mean': 89.1, 'std': 3.3, 'seconds': 5}}
  records = {r.name: _record(r, {'accuracy': None, 'seconds': None,
                                 'page_row': rows[r.name.split('_')[2].split('/')[0]]})
             for r in study.runs}
  text = '\n'.join(study.report(spec.Results(runs=study.runs, records=records)).lines)
  assert '| digits | 10 | max_shift 2 (the 28x28 default) | 89.1 ± 3.3 | 5 |' in text
  assert 'does not beat default for 8x8 (max_shift 1) on validation; kept.' in text
  assert 'were not kept' in text


def test_kind_reads_only_a_result_of_the_same_args(tmp_path):
  from gan_jax.study import kinds
  from gan_jax.study import result_files
  kind = kinds.get('classifier')
  run = Run(name='a/seed0', kind='classifier', args={'data': 'digits', 'seed': 0})
  assert kind.config(run) is None and kind.result(run, str(tmp_path)) is None
  result_files.save(run, str(tmp_path), {'accuracy': 0.5, 'seconds': 1.0})
  assert kind.result(run, str(tmp_path)) == {'accuracy': 0.5, 'seconds': 1.0}
  other = Run(name='a/seed0', kind='classifier', args={'data': 'mnist5k', 'seed': 0})
  assert kind.result(other, str(tmp_path)) is None


# End to end: a study at :runlocal size (make test keeps one run of each entry point).
def test_runlocal_study_trains_reports_and_reports_again_byte_for_byte(tmp_path):
  from gan_jax.study import __main__ as cli
  docs = tmp_path / 'docs'
  argv = [f'{STUDY}:runlocal', f'--workdir={tmp_path / "runs"}', f'--docs_dir={docs}']
  assert cli.main(argv) == 0
  first = {p: (docs / p).read_bytes() for p in os.listdir(docs)}
  assert sorted(first) == ['classifier_recipe_runlocal.json', 'classifier_recipe_runlocal.md']
  text = first['classifier_recipe_runlocal.md'].decode()
  assert '4 of 4 runs finished' in text and 'Per seed (validation accuracy, %):' in text
  assert cli.main([f'{STUDY}:runlocal', '--report_only', f'--docs_dir={docs}']) == 0
  assert {p: (docs / p).read_bytes() for p in os.listdir(docs)} == first
