"""Behaviour kept bit for bit: the golden runs (tests/golden_runs.py) against their stored values.

tests/golden/golden.json was recorded by scripts/record_golden.py on the code before the shape
redesign (issue 11). Every metrics.jsonl value (steps_per_s aside) and eval.json must be equal
exactly, on the CPU: a renumbered random stream, a reordered update or a changed protocol fails.
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
