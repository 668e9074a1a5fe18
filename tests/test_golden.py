"""Behaviour kept bit for bit: the golden runs (tests/golden_runs.py) against their stored values.

tests/golden/golden.json was recorded by scripts/record_golden.py on the code before the shape
redesign (issue 11), with one exception: the eval lines and eval.json of
two_seeds_two_steps_per_call were re-recorded after it (its training lines are the old ones):
each seed's update now compiles as a lone run's, which moved the batch-norm running variances
by a float32 ulp against the old fused 2-seed program. Issue 16 added three numbers to the
feature protocol (confident_percent, classes_present, class_kl): they were recorded into every
run by scripts/record_golden.py after checking that every value recorded before stayed equal
exactly; the runs pin dcgan_mnist's recipe from before issue 16 changed the default
(golden_runs.DCGAN_MNIST_BEFORE_ISSUE_16), and the ring8 run its initialisation from before issue 16
gave ring8.py PacGAN's (RING8_BEFORE_ISSUE_16). Every metrics.jsonl value (steps_per_s
aside) and eval.json must be equal exactly, on the CPU: a renumbered random stream, a reordered
update or a changed protocol fails.
"""
import json

import pytest

from tests import golden_runs

pytestmark = pytest.mark.slow  # End to end: `make test-fast` leaves it out.


@pytest.fixture(scope='module')
def golden():
  with open(golden_runs.GOLDEN_PATH) as f:
    return json.load(f)


@pytest.mark.parametrize('name', sorted(golden_runs.RUNS))
def test_run_matches_golden_values(name, golden, tmp_path):
  got = json.loads(json.dumps(golden_runs.run(name, str(tmp_path / name))))
  want = golden[name]
  assert got['metrics'] == want['metrics']
  assert got['eval'] == want['eval']
