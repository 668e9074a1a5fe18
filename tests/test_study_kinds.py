"""The 'gan' run kind: a run counts only when it trained under the study's declared config to its
last step, and its training time is summed from its log."""
import json
import os

import pytest

from gan_jax.study import engine, kinds

STUDY = engine.load(os.path.join(os.path.dirname(__file__), '..', 'experiments', 'studies',
                                 'pacgan.py'))
RUN = next(r for r in STUDY.runs if r.name == 'grid25_pack1/seed0')
STEPS = 10000


def write_run(run_dir, config: dict, step: int):
  os.makedirs(run_dir, exist_ok=True)
  with open(os.path.join(run_dir, 'config.json'), 'w') as f:
    json.dump(config, f)
  with open(os.path.join(run_dir, 'eval.json'), 'w') as f:
    json.dump({'step': step, 'seeds': {'0': {'modes_captured': 20}}}, f)


def today() -> dict:
  return json.loads(kinds.experiment_config(RUN).to_json())  # As gan_jax.main saves it.


def test_the_run_config_is_the_experiment_with_the_runs_overrides():
  config = kinds.experiment_config(next(r for r in STUDY.runs if r.name == 'ring8_pack2/seed3'))
  assert (config.data.source, config.model.pack, config.data.batch_size, config.seed) == (
      'ring8', 2, 200, 3)
  assert config.model.d_kwargs.mlp.maxout_pieces == 5 and config.train.num_steps == STEPS
  assert kinds.main_command(RUN, '/w')[3:6] == ['--config=experiments/grid25.py', '--workdir=/w',
                                                '--mode=train']


def test_a_run_of_todays_experiment_is_read(tmp_path):
  write_run(tmp_path, today(), STEPS)
  assert kinds.gan_result(RUN, str(tmp_path)) == {'step': STEPS,
                                                  'metrics': {'modes_captured': 20},
                                                  'seconds': None}


@pytest.mark.parametrize('field, value, counts', [
    ('model.init_std', 0.5, False),    # Trained under another experiment: not read.
    ('optim.b1', 0.2, False),
    ('eval.bn_stats', 'standing', False),  # Evaluated otherwise: not this run's numbers either.
    ('train.log_every', 7, True),      # A field a resumed run may change: still this run.
])
def test_a_run_of_another_experiment_is_not_read(tmp_path, field, value, counts):
  config = today()
  section, key = field.split('.')
  assert config[section][key] != value
  config[section][key] = value
  write_run(tmp_path, config, STEPS)
  assert (kinds.gan_result(RUN, str(tmp_path)) is not None) == counts


@pytest.mark.parametrize('step', [STEPS - 2500, STEPS + 2500])
def test_a_run_short_of_its_steps_or_past_them_is_not_this_runs(tmp_path, step):
  write_run(tmp_path, today(), step)
  assert kinds.gan_result(RUN, str(tmp_path)) is None


def test_training_seconds_sum_each_logged_interval_once(tmp_path):
  """Steps 0-100 at 10 steps/s (10 s), 100-300 at 20 (10 s), step 300 logged again by a resumed
  run at 40 (it replaces the first: 200 / 40 = 5 s), and lines without a rate: 15 s."""
  records = [{'step': 100, 'steps_per_s': 10.0}, {'step': 300, 'steps_per_s': 20.0},
             {'step': 300, 'eval/modes_captured': 8}, {'step': 300, 'steps_per_s': 40.0}]
  (tmp_path / 'metrics.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in records) + '\n')
  assert kinds.training_seconds(str(tmp_path)) == pytest.approx(15.0)
  assert kinds.training_seconds(str(tmp_path / 'absent')) is None
