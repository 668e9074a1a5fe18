"""Behaviour kept bit for bit: the golden runs (tests/golden_runs.py) against their stored values.

tests/golden/golden.json was recorded anew by `make golden` for issue 27, which keyed every
per-example random stream of the update (DiffAugment, dropout, Gumbel noise, penalty draws) by
the example's index in the global batch instead of folding the device index into the stream, so
that any device count trains the same run: the runs with such streams (wgan_gp_ema_diffaugment)
changed by design, and the file now records the machine class it was made on. The runs pin
dcgan_mnist's recipe from before issue 16 changed the default (DCGAN_MNIST_BEFORE_ISSUE_16) and
ring8's initialisation from before issue 16 (RING8_BEFORE_ISSUE_16).

On the recording machine class every metrics.jsonl value (steps_per_s aside) and eval.json must
be equal exactly: a renumbered random stream, a reordered update or a changed protocol fails. On
another class (another CPU model, ISA or jax version) float32 results differ in the last bits, and
every number is held within golden_runs.RTOL / ATOL instead; the failure message says which
standard was applied.
"""
import json
import math

import pytest

from tests import golden_runs


@pytest.fixture(scope='module')
def golden():
  return golden_runs.load()


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(golden_runs.RUNS))
def test_run_matches_golden_values(name, golden, tmp_path):
  got = json.loads(json.dumps(golden_runs.run(name, str(tmp_path / name))))
  standard, diffs = golden_runs.compare(got, golden['runs'][name], golden['machine'],
                                        golden_runs.machine_class())
  assert not diffs, f'{name} differs from golden.json ({standard}): ' + '; '.join(diffs[:10])


def _ulp_up(x: float) -> float:
  """x moved by one float32 ulp (the values were float32 before they were logged)."""
  import numpy as np
  return float(np.nextafter(np.float32(x), np.float32(math.inf)))


def _moved(outputs: dict, move) -> dict:
  """A copy of a run's outputs with every d_loss moved by `move`."""
  out = json.loads(json.dumps(outputs))
  for record in out['metrics']:
    if 'd_loss' in record:  # Training lines (evaluation lines carry eval/* only).
      record['d_loss'] = move(record['d_loss'])
  return out


@pytest.mark.slow
def test_the_comparison_is_exact_on_the_recording_class_and_tolerant_elsewhere(golden):
  want = golden['runs']['dcgan_mnist']
  recorded = golden['machine']
  other = {**recorded, 'cpu_model': 'another', 'isa': ['avx', 'avx2', 'fma']}
  one_ulp = _moved(want, _ulp_up)
  assert golden_runs.compare(want, want, recorded, recorded)[1] == []
  standard, diffs = golden_runs.compare(one_ulp, want, recorded, recorded)
  assert standard.startswith('exact') and diffs and 'd_loss' in diffs[0]
  standard, diffs = golden_runs.compare(one_ulp, want, recorded, other)
  assert standard.startswith('within') and diffs == []
  # The model name alone does not make another class (the same chip sold under two names).
  assert golden_runs.same_class(recorded, {**recorded, 'cpu_model_name': 'renamed'})
  assert not golden_runs.same_class(recorded, {**recorded, 'jax': '0.0.1'})


@pytest.mark.slow
def test_a_renumbered_stream_fails_on_every_class(golden, tmp_path):
  # Another seed is another draw of every stream: its values are not the golden ones within
  # float32 tolerance, on the recording class or any other.
  got = json.loads(json.dumps(golden_runs.run('dcgan_mnist', str(tmp_path / 'r'), {'seed': 1})))
  recorded = golden['machine']
  for here in (recorded, {**recorded, 'cpu_model': 'another'}):
    assert golden_runs.compare(got, golden['runs']['dcgan_mnist'], recorded, here)[1]
