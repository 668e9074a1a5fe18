"""scripts/shards.py: a shard's own runs first, then the others' not held by another process."""
import json

import pytest

from scripts import shards


def test_a_held_run_is_not_taken_and_the_lock_is_released(tmp_path):
  run = str(tmp_path / 'a' / 'seed0')
  with shards.run_lock(run) as held:
    assert held
    with shards.run_lock(run) as again:  # A second open file description, as another process.
      assert not again
  with shards.run_lock(run) as held:
    assert held


def test_a_shard_trains_its_share_then_the_rest_skipping_held_and_finished(tmp_path, capsys):
  runs, done, order = list('abcde'), {'c'}, []
  directory = lambda r: str(tmp_path / r)

  def train(r):
    order.append(r)
    done.add(r)

  with shards.run_lock(directory('e')):  # 'e' is training in another process.
    trained = shards.work(runs, '1/2', done.__contains__, train, directory)
  assert order == ['b', 'd', 'a'] and trained == 3  # Its share (b, d), then a; c done, e held.
  out = capsys.readouterr().out
  assert 'e: training in another process, skipped' in out
  assert '3 runs trained by this process (shard 1/2); 4 of 5 finished.' in out


def test_a_failing_run_is_reported_and_the_others_go_on(tmp_path, capsys):
  done = set()

  def train(r):
    if r == 'b':
      raise RuntimeError('exit status 1')
    done.add(r)

  with pytest.raises(SystemExit, match=r'1 runs failed: b \(their errors are above'):
    shards.work(list('abc'), None, done.__contains__, train, lambda r: str(tmp_path / r))
  assert done == {'a', 'c'}
  assert 'b: failed: RuntimeError: exit status 1' in capsys.readouterr().out
  with shards.run_lock(str(tmp_path / 'b')) as held:
    assert held  # Released after the failure.


@pytest.mark.parametrize('bad', ['2/2', 'x', '1/0', '-1/2'])
def test_bad_shard_is_named(bad):
  with pytest.raises(ValueError, match='--shard'):
    shards.parse(bad)
  assert shards.parse(None) == (0, 1) and shards.parse('1/2') == (1, 2)


def test_training_seconds_sum_each_logged_interval_once(tmp_path):
  """Steps 0-100 at 10 steps/s (10 s), 100-300 at 20 (10 s), step 300 logged again by a resumed
  run at 40 (it replaces the first: 200 / 40 = 5 s), and lines without a rate: 15 s."""
  records = [{'step': 100, 'steps_per_s': 10.0}, {'step': 300, 'steps_per_s': 20.0},
             {'step': 300, 'eval/modes_captured': 8}, {'step': 300, 'steps_per_s': 40.0}]
  (tmp_path / 'metrics.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in records) + '\n')
  assert shards.training_seconds(str(tmp_path)) == pytest.approx(15.0)
  assert shards.training_seconds(str(tmp_path / 'absent')) == 0.0
  line = shards.time_line([str(tmp_path)] * 4, 90.0)
  assert 'of the 4 runs' in line and ': 1.0 min.' in line and 'invocation: 1.5 min' in line
