"""Run kind 'screen': a gan_jax run scored at several steps (quality against steps).

The run (run.config with run.overrides and run.seed) trains to the largest of `args['steps']`
as a `gan_jax.main` subprocess in its run directory (resumable: a stopped run resumes from its
checkpoints), keeping a checkpoint at every multiple of the smallest step (each step must be one)
and evaluating nothing inside the run; then its checkpoint at each step is scored by the run's
evaluation protocol (gan_jax/snapshots.py). Its cost is the median steps/s of its training log:
a rate on whatever cores the run had (one, in a single-core shard), comparable between runs
trained alike, not a wall time. Quality against steps does not depend on the cores, so
candidates can train side by side as single-core shards.

The run directory holds the gan_jax workdir and screen.json (the result, with the declaration it
was made for). The result: {'scores': {step: the protocol's numbers}, 'steps_per_s': the median,
'seconds': training seconds (kinds.training_seconds)}.
"""
import dataclasses
import json
import os
from typing import Optional

import numpy as np

from gan_jax import configs
from gan_jax import workdir as workdir_lib
from gan_jax.study import kind_ttq
from gan_jax.study import kinds

RESULT = 'screen.json'


def steps(run) -> list:
  """args['steps']: positive integers, ascending, each a multiple of the smallest."""
  s = run.args.get('steps')
  ok = isinstance(s, (list, tuple)) and s and all(
      isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in s)
  if not ok or list(s) != sorted(set(s)) or any(x % s[0] for x in s):
    raise configs.ConfigError(f'Run {run.name}: args steps must be ascending positive integers, '
                              f'each a multiple of the smallest (a checkpoint is kept every '
                              f'smallest step); got {s!r}.')
  return list(s)


def cadences(run) -> dict:
  """The fields the screen sets on top of the run's overrides."""
  s = steps(run)
  return {'train.num_steps': s[-1], 'train.ckpt_every': s[0], 'train.ckpt_keep': 0}


def run_config(run):
  """The run as it is scored: the experiment, its overrides and seed, the screen's cadences."""
  kind_ttq.check_args(run, ('steps',))
  return kinds.experiment_config(
      dataclasses.replace(run, overrides={**run.overrides, **cadences(run)}))


def training_run(run):
  """The run as it trains: the screen's cadences, no evaluation inside the run."""
  return dataclasses.replace(run, overrides={**run.overrides, **cadences(run),
                                             'eval.features': 'none'})


def median_rate(run_dir: str) -> Optional[float]:
  """The median steps/s of a run's training log (metrics.jsonl), or None without one."""
  path = os.path.join(run_dir, 'metrics.jsonl')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    rates = [json.loads(line).get('steps_per_s') for line in f if line.strip()]
  rates = [r for r in rates if r]
  return float(np.median(rates)) if rates else None


def train(run, run_dir: str) -> None:
  """Trains (resuming) to the last step, scores the checkpoints, writes screen.json."""
  from gan_jax import snapshots
  config = run_config(run)
  kinds.run_main(training_run(run), run_dir)
  scored = snapshots.score_checkpoints(config, workdir_lib.checkpoint_dir(run_dir), steps(run))
  result = {'scores': {str(s): per_seed[run.seed] for s, per_seed in scored.items()},
            'steps_per_s': median_rate(run_dir), 'seconds': kinds.training_seconds(run_dir)}
  kind_ttq.write_result(run, run_dir, kind_ttq.flat(config), result, RESULT)


def result(run, run_dir: str) -> Optional[dict]:
  return kind_ttq.saved_result(run, run_dir, kind_ttq.flat(run_config(run)), RESULT)


KIND = kinds.Kind(config=run_config, train=train, result=result)
