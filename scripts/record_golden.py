"""Records tests/golden/golden.json: every logged number of the golden runs (tests/golden_runs.py).

Run only when the numerics change on purpose (and say why in the commit):
  .venv/bin/python scripts/record_golden.py               # every run
  .venv/bin/python scripts/record_golden.py NAME [NAME]   # only these runs; the others are kept
"""
import json
import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [_REPO, os.path.join(_REPO, 'tests')]
from gan_jax import xla_defaults  # noqa: E402

xla_defaults.apply()  # The numerics of gan_jax's entry points (and of the tests' conftest).
import golden_runs  # noqa: E402


def main():
  names = sys.argv[1:] or None
  unknown = sorted(set(names or ()) - set(golden_runs.RUNS))
  if unknown:
    sys.exit(f'Unknown golden runs {unknown}; valid: {sorted(golden_runs.RUNS)}.')
  results = {}
  if names and os.path.exists(golden_runs.GOLDEN_PATH):
    with open(golden_runs.GOLDEN_PATH) as f:
      results = json.load(f)
  results.update(golden_runs.run_all(names))
  os.makedirs(os.path.dirname(golden_runs.GOLDEN_PATH), exist_ok=True)
  with open(golden_runs.GOLDEN_PATH, 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  print(f'wrote {golden_runs.GOLDEN_PATH}: {sorted(names or results)}')


if __name__ == '__main__':
  main()
