"""Run kind 'ttq_real': the yardstick of the time-to-quality benchmark (kind 'ttq').

Every real image of split `args['split']` of run.config's data (e.g. mnist5k's 500 test digits,
which no run trains on) scored as a snapshot by run.config's evaluation protocol
(gan_jax/snapshots.py): what real images reach under it. Nothing trains.

The result: {'metrics': the protocol's numbers, 'num_images': how many images, 'data':
data.source, 'split': the split, 'seconds': None}.
"""
import os
from typing import Optional

from gan_jax import configs
from gan_jax.study import kind_ttq
from gan_jax.study import kinds

USED = ('data.', 'eval.')


def check(run) -> None:
  """The kind's config: None (nothing trains), after checking args['split'] (a one-line
  ConfigError)."""
  kind_ttq.check_args(run, ('split',))
  if not isinstance(run.args.get('split'), str) or not run.args['split']:
    raise configs.ConfigError(f'Run {run.name}: args split must name a split of the data, e.g. '
                              f'\'test\'; got {run.args.get("split")!r}.')


def train(run, run_dir: str) -> None:
  from gan_jax import snapshots
  check(run)
  config = kinds.experiment_config(run)
  numbers, count = snapshots.score_split(config, run.args['split'])
  os.makedirs(run_dir, exist_ok=True)
  kind_ttq.write_result(run, run_dir, kind_ttq.flat(config, USED), {
      'metrics': numbers, 'num_images': count, 'data': config.data.source,
      'split': run.args['split'], 'seconds': None})


def result(run, run_dir: str) -> Optional[dict]:
  return kind_ttq.saved_result(run, run_dir,
                               kind_ttq.flat(kinds.experiment_config(run), USED))


KIND = kinds.Kind(config=check, train=train, result=result)
