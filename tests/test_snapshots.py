"""gan_jax/snapshots.py: the snapshot a budget reads, and snapshots scored by the protocol."""
import json
import os

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import snapshots
from gan_jax import sweep
from tests.conftest import REPO, load_experiment


def test_a_budget_reads_the_newest_snapshot_saved_within_it():
  seen = {250: 50.0, 500: 100.0, 750: 170.0}
  assert snapshots.newest_within(seen, 120.0) == 500
  assert snapshots.newest_within(seen, 100.0) == 500  # Saved at the budget: within it.
  assert snapshots.newest_within(seen, 40.0) is None
  assert snapshots.newest_within(seen, 600.0) == 750
  assert snapshots.newest_within({'250': 50.0}, 60.0) == 250  # Keys as JSON reads them back.


def test_num_samples_is_what_the_protocol_takes():
  assert snapshots.num_samples(load_experiment('dcgan_mnist')) == 5000
  assert snapshots.num_samples(load_experiment('dcgan_mnist', 'runlocal')) == 256
  off = sweep.apply_overrides(load_experiment('dcgan_mnist'), {'eval.features': 'none'})
  assert snapshots.num_samples(off) == 0


def test_scoring_with_evaluation_off_is_refused_in_one_line(tmp_path):
  off = sweep.apply_overrides(load_experiment('dcgan_mnist', 'runlocal'),
                              {'eval.features': 'none'})
  with pytest.raises(configs.ConfigError, match='^Evaluation is off .*set eval.features.$'):
    snapshots.score_images(off, np.zeros((4, 28, 28, 1), np.float32))
  with pytest.raises(configs.ConfigError, match='a checkpoint cannot be scored'):
    snapshots.score_checkpoints(off, str(tmp_path), [2])


@pytest.mark.slow  # Features of 2 x 500 digits (about 10 s on 2 cores).
def test_real_digits_scored_against_themselves_and_as_recorded():
  """The test digits against the test digits: FID 0, every sample and every real point covered
  (closed forms); their class numbers (which do not depend on the reference) as docs/ttq.json
  records for the same digits."""
  config = sweep.apply_overrides(load_experiment('dcgan_mnist'),
                                 {'eval.reference_split': 'test'})
  numbers, count = snapshots.score_split(config, 'test')
  assert count == 500
  assert abs(numbers['fid']) < 1e-6
  assert numbers['precision'] == numbers['recall'] == numbers['coverage'] == 1.0
  with open(os.path.join(REPO, 'docs', 'ttq.json')) as f:
    recorded = json.load(f)['runs']['real_test_digits']['result']['metrics']
  for k in ('confident_percent', 'classes_present', 'inception_score', 'class_kl'):
    assert numbers[k] == pytest.approx(recorded[k], rel=1e-5), k
