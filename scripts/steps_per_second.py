"""Updates a second of each method of a study budgeted in CPU time (a study file that defines
`rate_runs()`: one run per method), on the cores this process may use.

  taskset -c 0 .venv/bin/python scripts/steps_per_second.py experiments/studies/mode_collapse.py

Each run's config (kinds.experiment_config: its experiment and overrides) is compiled ahead of
time and timed over `--calls` calls after one untimed call (gan_jax.bench.Step: the training
update alone, batches already on the device), `--repeats` times; the median is printed as JSON
lines ({"labels": ..., "steps_per_s": ..., "compile_s": ...}). The study's STEPS_PER_S is set
from them by hand, with the date and machine.
"""
import argparse
import json
import os
import statistics
import sys

from gan_jax import xla_defaults

xla_defaults.apply()


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('study', help='a study file that defines rate_runs()')
  parser.add_argument('--calls', type=int, default=50)
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args(argv)
  from gan_jax import bench
  from gan_jax import configs
  from gan_jax.study import kinds
  module = configs.load_module(args.study)
  if not hasattr(module, 'rate_runs'):
    parser.error(f'{args.study} defines no rate_runs(): it is not budgeted in CPU time.')
  print(json.dumps({'machine': bench.device_description(),
                    'cores': len(os.sched_getaffinity(0))}), flush=True)
  for run in module.rate_runs():
    step = bench.Step(kinds.experiment_config(run))
    rate = statistics.median(step.rate(args.calls) for _ in range(args.repeats))
    print(json.dumps({'labels': run.labels, 'steps_per_s': round(rate, 2),
                      'compile_s': round(step.compile_s, 1)}), flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
