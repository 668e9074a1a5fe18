"""scripts/shards.py: a shard's own runs first, then the others' not held by another process."""
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
