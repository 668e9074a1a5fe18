"""scripts/pacgan_table.py: a run counts only when it trained under today's experiment."""
import json
import os

import pytest

from scripts import pacgan_table

RUN = ('grid25', 1, 0)  # data, pack, seed
STEPS, EVERY = 10000, 2500


def write_run(workdir, config: dict, step: int):
  d = pacgan_table.run_dir(str(workdir), *RUN)
  os.makedirs(d, exist_ok=True)
  with open(os.path.join(d, 'config.json'), 'w') as f:
    json.dump(config, f)
  with open(os.path.join(d, 'eval.json'), 'w') as f:
    json.dump({'step': step, 'seeds': {'0': {'modes_captured': 20}}}, f)


def today():
  return json.loads(pacgan_table.run_config(*RUN, STEPS, EVERY).to_json())  # As main saves it.


def test_run_config_is_the_experiment_with_the_runs_command_line():
  config = pacgan_table.run_config('ring8', 2, 3, STEPS, EVERY)
  assert (config.data.source, config.model.pack, config.data.batch_size, config.seed) == (
      'ring8', 2, 200, 3)
  assert config.model.d_kwargs.mlp.maxout_pieces == 5 and config.train.num_steps == STEPS


def test_a_run_of_todays_experiment_is_read(tmp_path):
  write_run(tmp_path, today(), STEPS)
  assert pacgan_table.finished(*RUN, STEPS, EVERY, str(tmp_path))['step'] == STEPS
  rows = pacgan_table.collect(str(tmp_path), 1, STEPS, EVERY)
  assert rows[('grid25', 1)] == {0: {'modes_captured': 20}} and rows[('ring8', 1)] == {}


@pytest.mark.parametrize('field, value, counts', [
    ('model.init_std', 0.5, False),    # Trained under another experiment: not read.
    ('optim.b1', 0.2, False),
    ('eval.bn_stats', 'standing', False),  # Evaluated otherwise: not today's numbers either.
    ('train.log_every', 7, True),      # A field a resumed run may change: still today's run.
])
def test_a_run_of_another_experiment_is_not_read(tmp_path, field, value, counts):
  config = today()
  section, key = field.split('.')
  assert config[section][key] != value
  config[section][key] = value
  write_run(tmp_path, config, STEPS)
  assert (pacgan_table.finished(*RUN, STEPS, EVERY, str(tmp_path)) is not None) == counts


def test_a_run_short_of_the_steps_is_not_finished(tmp_path):
  write_run(tmp_path, today(), STEPS - EVERY)
  assert pacgan_table.finished(*RUN, STEPS, EVERY, str(tmp_path)) is None


def test_a_run_trained_further_is_finished_but_not_in_the_table(tmp_path, capsys):
  write_run(tmp_path, today(), STEPS + EVERY)
  assert pacgan_table.finished(*RUN, STEPS, EVERY, str(tmp_path)) is not None  # Not retrained.
  assert pacgan_table.collect(str(tmp_path), 1, STEPS, EVERY)[('grid25', 1)] == {}
  assert 'grid25 pack 1 seed 0: not read' in capsys.readouterr().out
