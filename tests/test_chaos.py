"""The short version of `make chaos` (tests/chaos/): each case once, on a 12-step run.

Every finished run is compared with an uninterrupted one bit for bit (metrics.jsonl but
steps_per_s, sample PNGs, eval.json, config.json, checkpoint steps). Each test failed on the code
before the workdir's guarantees (issue 15): a kill as the workdir was claimed left checkpoints/
without config.json and every rerun was refused; there was no lock to find and take over after a
kill; a damaged newest checkpoint and a torn metrics.jsonl line stopped every resume with an error
(and 16 zeroed bytes of its arrays restored silently, issue 27);
a second process raced the first; a full disk and some bad command lines ended in tracebacks.
The last test holds docs/reliability.md to a pure function of docs/reliability.json.
"""
import os
import shutil

import pytest

from tests.chaos import cli, damage, full_disk, kills, page, runs, second, torn
from tests.chaos.__main__ import main
from tests.chaos.digest_cost import digest_cost, digest_sentence
from tests.chaos.launch import Setup, reap_all
from tests.conftest import REPO

slow = pytest.mark.slow  # Starts processes: in `make test-all`, not `make test`.


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
  s = Setup(root=str(tmp_path_factory.mktemp('chaos')), num_steps=12, log_every=2,
            sample_every=4, ckpt_every=4, log=print)
  yield s
  reap_all()


@pytest.fixture(scope='module')
def ref(setup):
  """The uninterrupted run (it alone writes the compilation cache the others read)."""
  return runs.reference(setup)


def _assert_held(result):
  assert result['status'] == 'pass', '\n'.join(result['failures'])


@slow
def test_kills_at_startup_training_and_evaluation_resume_bit_for_bit(setup, ref):
  # Killed as the workdir is claimed, after a logged step (pictures, checkpoint and metrics being
  # written) and during the final evaluation; each time the same command is launched again.
  timing = kills.KillTiming(claim_window_s=0.0, training_jitter_s=0.0,
                            eval_window_s=min(1.5, 0.5 * ref['eval_s']))
  result = kills.case(setup, ref, plan=[['claim', 'training', 'evaluation']], timing=timing)
  _assert_held(result)
  landed = [k for r in result['details'] for k in r['kills']]
  assert landed[0]['kind'] == 'claim' and landed[0]['workdir_had'], landed  # Inside start-up.
  assert {'training', 'evaluation'} <= {k['kind'] for k in landed}, landed
  assert sum(r['takeovers'] for r in result['details']) >= 2  # Killed runs' locks taken over.


@slow
def test_damaged_newest_checkpoint_is_moved_aside(setup, ref):
  _assert_held(damage.case(setup, ref, modes=('garble',)))


@slow
def test_zeroed_bytes_in_the_newest_checkpoint_fall_back_to_the_older_one(setup, ref):
  # Issue 27: 16 zero bytes in the middle of the arrays' largest file restored silently (orbax
  # keeps no checksum of array data). Now the digests catch it: one warning naming the step
  # and the file, the older checkpoint restored, the run finished bit for bit.
  result = damage.case(setup, ref, modes=('zeros_arrays',))
  _assert_held(result)
  detail = result['details'][0]
  assert detail['file'] and '/d/' in detail['file'], detail  # orbax's array data.
  assert any(detail['file'] in w for w in detail['warnings']), detail['warnings']


@slow
def test_digest_cost_is_measured(setup):
  cost = digest_cost(setup, saves=2)  # `python -m tests.chaos --digest-cost-child DIR 2`.
  assert 'error' not in cost, cost
  assert cost['state_mb'] > 10 and cost['arrays'] > 50  # dcgan_mnist's default state.
  assert all(cost[k] > 0 for k in ('save_without_ms', 'save_with_ms', 'array_digests_ms',
                                    'file_digests_ms', 'restore_with_ms'))
  assert f'{cost["save_with_ms"]} ms with the digests' in digest_sentence(cost)


@slow
def test_torn_metrics_line_is_dropped(setup, ref):
  _assert_held(torn.case(setup, ref, modes=('finished',)))


@slow
def test_second_process_exits_in_use_and_first_finishes(setup, ref):
  _assert_held(second.case(setup, ref, moments=('training',), simultaneous=0))


@slow
def test_bad_command_lines_answer_in_one_line(setup):
  _assert_held(cli.case(setup, parallel=2))


@slow
def test_full_disk_one_line_then_resume(setup, ref):
  why_not = full_disk.tmpfs_available(setup.root)
  if why_not:
    pytest.skip(why_not)
  _assert_held(full_disk.case(setup, ref, modes=('training',)))


def test_report_only_rewrites_the_committed_page_from_its_json(tmp_path):
  # The page is a pure function of the record: from docs/reliability.json alone, byte for byte.
  shutil.copy(os.path.join(REPO, 'docs', page.NAMES[0]), tmp_path)
  assert main(['--report_only', '--report-dir', str(tmp_path)]) == 0
  with open(os.path.join(REPO, 'docs', page.NAMES[1]), 'rb') as f:
    committed = f.read()
  assert (tmp_path / page.NAMES[1]).read_bytes() == committed
  assert sorted(os.listdir(tmp_path)) == sorted(page.NAMES)
