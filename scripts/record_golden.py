"""Records tests/golden/golden.json (`make golden`): every logged number of the golden runs
(tests/golden_runs.py) and the machine class they were made on.

Run only when the numerics change on purpose (and say why in the commit), or to hold this machine
to its own exact values. From the repository root (it reads tests/golden_runs.py as a module of
the tests package):
  .venv/bin/python -m scripts.record_golden               # every run
  .venv/bin/python -m scripts.record_golden NAME [NAME]   # only these runs (same machine class)
  .venv/bin/python -m scripts.record_golden --drift       # no recording: how far each run lands
                                                          # from golden.json on this machine
"""
import json
import os
import sys

from gan_jax import xla_defaults
from tests import golden_runs


def drift(names):
  """Prints each run's largest relative difference from golden.json and the standard applied."""
  golden = golden_runs.load()
  here = golden_runs.machine_class()
  for name, got in golden_runs.run_all(names).items():
    got = json.loads(json.dumps(got))
    standard, diffs = golden_runs.compare(got, golden['runs'][name], golden['machine'], here)
    print(json.dumps({'run': name, 'max_relative': golden_runs.max_relative(
        got, golden['runs'][name]), 'differences': len(diffs), 'standard': standard,
        'machine': here}))


def main():
  xla_defaults.apply()  # The numerics of gan_jax's entry points (and of the tests' conftest).
  args = sys.argv[1:]
  names = [a for a in args if not a.startswith('--')] or None
  unknown = sorted(set(names or ()) - set(golden_runs.RUNS))
  if unknown:
    sys.exit(f'Unknown golden runs {unknown}; valid: {sorted(golden_runs.RUNS)}.')
  if '--drift' in args:
    return drift(names)
  here = golden_runs.machine_class()
  runs = {}
  if names and os.path.exists(golden_runs.GOLDEN_PATH):
    old = golden_runs.load()
    if not golden_runs.same_class(old['machine'], here):
      sys.exit('golden.json was recorded on another machine class; record every run here '
               '(no NAME) so that one class made them all.')
    runs = old['runs']
  runs.update(golden_runs.run_all(names))
  os.makedirs(os.path.dirname(golden_runs.GOLDEN_PATH), exist_ok=True)
  with open(golden_runs.GOLDEN_PATH, 'w') as f:
    json.dump({'machine': here, 'runs': runs}, f, indent=1, sort_keys=True)
  print(f'wrote {golden_runs.GOLDEN_PATH}: {sorted(names or runs)} on {here}')


if __name__ == '__main__':
  main()
