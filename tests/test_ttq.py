"""scripts/ttq.py: the recipes' definitions, the snapshot a budget scores, the page's reading."""
from scripts import ttq

# The previous default (issue 16's first recipe, docs/ttq.md's ema999), field by field: the runs
# of docs/ttq.md were trained under it, so a change of today's default must not change it.
EMA999 = {'model.conditional': 'False', 'data.batch_size': '32', 'loss.name': 'non_saturating',
          'optim.g_lr': '0.0002', 'optim.d_lr': '0.0002', 'optim.b1': '0.5',
          'optim.ema_decay': '0.999', 'optim.ema_start': '1000', 'augment.policy': 'translation',
          'model.g_kwargs.dcgan.base_features': '128', 'model.d_kwargs.dcgan.base_features': '32',
          'train.num_steps': '5750', 'eval.bn_stats': 'standing'}


def test_the_earlier_recipes_stay_what_they_were_trained_as():
  config = ttq.resolved(ttq.RECIPES['ema999'][0])
  assert {k: config[k] for k in EMA999} == EMA999
  before = ttq.resolved(ttq.RECIPES['before'][0])
  assert (before['model.conditional'], before['loss.name'], before['train.num_steps'],
          before['model.g_kwargs.dcgan.base_features']) == ('False', 'minimax', '3500', '256')


def test_a_budget_scores_the_newest_snapshot_within_it():
  seen = {250: 50.0, 500: 100.0, 750: 170.0}
  assert ttq.snapshot_at(seen, 120.0) == 500
  assert ttq.snapshot_at(seen, 40.0) is None
  assert ttq.snapshot_at(seen, 600.0) == 750


def _metrics(fid, confident):
  return {'fid': fid, 'confident_percent': confident, 'classes_present': 10}


def _result(conditional, fid, confident):
  config = None if conditional is None else {'model.conditional': str(conditional)}
  return {'10': _metrics(fid, confident), 'config': config}


def test_reading_says_when_the_default_uses_labels_and_the_best_without():
  results = {'default': _result(True, 40.0, 97.0), 'torch': _result(None, 380.0, 72.0),
             'ema999': _result(False, 320.0, 78.0), 'cond_x': _result(True, 30.0, 98.0)}
  lines = ttq.reading(results, [10.0])
  assert lines[2] == ('- 10 min: default FID 40.0 / 97.0% confident against torch 380.0 / '
                      '72.0%: ahead on both.')
  assert lines[3].endswith('classes): met by the default.')
  assert lines[4].startswith('- The default is class-conditional')
  assert lines[4].endswith('Without labels the best at 10 min is ema999: FID 320.0, 78.0% '
                           'confident.')


def test_reading_of_an_unconditional_default_has_no_labels_caveat():
  results = {'default': _result(False, 300.0, 78.0), 'torch': _result(None, 380.0, 72.0)}
  lines = ttq.reading(results, [10.0])
  assert lines[-1].endswith('classes): not met by the default.')
  assert not any('class-conditional' in line for line in lines)


def test_a_result_recorded_before_a_field_existed_is_still_the_same_recipe():
  now = ttq.resolved(ttq.RECIPES['ema999'][0])
  older = {k: v for k, v in now.items() if k != 'optim.simultaneous'}  # Added since, at default.
  assert ttq.identity(older) == ttq.identity(now)
  assert ttq.training_fields(older) == ttq.training_fields(now)
  other = {**older, 'optim.g_lr': '0.0005'}
  assert ttq.identity(other) != ttq.identity(now)
