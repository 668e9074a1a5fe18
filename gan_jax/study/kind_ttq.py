"""Run kind 'ttq' (time to quality): a gan_jax recipe timed against the wall clock.

The recipe (run.config with run.overrides and run.seed) trains alone for up to the largest of
`args['budgets']` (minutes of wall time from the launch of its `gan_jax.main` process: interpreter
start, imports, data loading and compilation count), saving a checkpoint every
`args['ckpt_every']` steps (all kept, no evaluation inside the run); each checkpoint is timed as it
appears, and the run is stopped at the last budget (one that ends earlier is scored as it ended).
Quality at a budget B is that of the newest checkpoint saved within B, scored by the run's
evaluation protocol (gan_jax/snapshots.py; for images, the feature protocol on eval.num_samples
samples, default 5,000). With `args['scored_on']` (the name of an earlier 'ttq' run of the same
study whose config differs from this one's in eval.* only, e.g. in eval.bn_stats) the run trains
nothing: it scores that run's checkpoints, at that run's times, by its own protocol.

The run directory holds the gan_jax workdir, timeline.json (the checkpoints' times, written when
training stops: a later invocation scores them instead of training again) and ttq.json (the
result, with the declaration it was made for). The result:
  {'snapshots': {budget: {the protocol's numbers, 'step', 'seconds'} or {'step': None}},
   'checkpoint_seconds': {step: seconds since launch} (not for a run scored on another's),
   'scored_on': name (only then), 'conditional': whether G and D use the labels,
   'seconds': training seconds (kinds.training_seconds; None when it trained nothing)}.
"""
import dataclasses
import json
import os
import shutil
import subprocess
import time
from typing import Optional

from absl import logging

from gan_jax import atomic_files
from gan_jax import configs
from gan_jax import workdir as workdir_lib
from gan_jax.study import kinds

RESULT, TIMELINE = 'ttq.json', 'timeline.json'
ARGS = ('budgets', 'ckpt_every', 'scored_on')
POLL_S = 0.2  # How often the checkpoint directory is looked at while the run trains.


def budgets(run) -> list:
  """run.args['budgets'] (minutes): ascending positive numbers, else a one-line ConfigError."""
  b = run.args.get('budgets')
  ok = isinstance(b, (list, tuple)) and b and all(
      isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in b)
  if not ok or list(b) != sorted(set(b)):
    raise configs.ConfigError(f'Run {run.name}: args budgets must be ascending positive minutes, '
                              f'e.g. [2, 5, 10]; got {b!r}.')
  return [float(x) for x in b]


def key(budget: float) -> str:
  """A budget's key in a result ('2', '0.5')."""
  return f'{float(budget):g}'


def check_args(run, known: tuple) -> None:
  unknown = sorted(set(run.args) - set(known))
  if unknown:
    raise configs.ConfigError(f'Run {run.name} (kind {run.kind}): unknown args {unknown}; valid: '
                              f'{list(known)}.')


def flat(config, prefixes: Optional[tuple] = None) -> Optional[dict]:
  """A config's fields as {dotted name: str(value)} (those under `prefixes`, if given)."""
  if config is None:
    return None
  items = configs.flatten(config.to_dict()).items()
  return {k: str(v) for k, v in items if prefixes is None or k.startswith(prefixes)}


def identity(run, resolved: Optional[dict]) -> dict:
  """What a run directory's result was made for: the run as declared and its resolved fields,
  as JSON reads them back."""
  return json.loads(json.dumps({'config': run.config, 'overrides': run.overrides,
                                'seed': run.seed, 'args': run.args, 'resolved': resolved}))


def saved_result(run, run_dir: str, resolved: Optional[dict], name: str = RESULT):
  """run_dir/name's result when made for this run as declared and resolved now, else None."""
  saved = kinds.read_json(os.path.join(run_dir, name))
  ok = saved and saved.get('identity') == identity(run, resolved)
  return saved['result'] if ok else None


def write_result(run, run_dir: str, resolved: Optional[dict], result: dict,
                 name: str = RESULT) -> None:
  """Writes run_dir/name: the result with what it was made for (identity)."""
  atomic_files.write_json(os.path.join(run_dir, name),
                          {'identity': identity(run, resolved), 'result': result}, indent=1)


def run_config(run):
  """The recipe as it is scored: the experiment with the run's overrides and seed."""
  check_args(run, ARGS)
  budgets(run)
  every = run.args.get('ckpt_every', 250)
  if not isinstance(every, int) or isinstance(every, bool) or every <= 0:
    raise configs.ConfigError(f'Run {run.name}: args ckpt_every must be a positive integer, '
                              f'got {every!r}.')
  return kinds.experiment_config(run)


def training_run(run):
  """The run as it trains: every checkpoint kept, no evaluation inside the run."""
  return dataclasses.replace(run, overrides={
      **run.overrides, 'train.ckpt_every': run.args.get('ckpt_every', 250),
      'train.ckpt_keep': 0, 'eval.features': 'none'})


def trained_fields(run) -> dict:
  """What a run's checkpoints and their times depend on: its training config but eval.*."""
  fields = flat(kinds.experiment_config(training_run(run)))
  return {k: v for k, v in fields.items() if not k.startswith('eval.')}


def sibling_dir(run, run_dir: str, name: str) -> str:
  """The directory of another run of the same study (run directories are <workdir>/<name>)."""
  workdir = os.path.normpath(os.path.join(run_dir, *[os.pardir] * len(run.name.split('/'))))
  return os.path.join(workdir, name)


def _note_checkpoints(checkpoint_dir: str, seen: dict, seconds: float) -> None:
  for name in os.listdir(checkpoint_dir) if os.path.isdir(checkpoint_dir) else ():
    if name.isdigit() and int(name) not in seen:
      seen[int(name)] = seconds


def time_checkpoints(cmd: list, checkpoint_dir: str, limit_s: float) -> tuple:
  """Runs `cmd`, timing each checkpoint step as its directory appears, and stops it after
  `limit_s` seconds; ({step: seconds since launch}, whether it ended by itself)."""
  seen, start = {}, time.time()
  proc = subprocess.Popen(cmd, cwd=kinds.ROOT)
  try:
    while proc.poll() is None and time.time() - start < limit_s:
      time.sleep(POLL_S)
      _note_checkpoints(checkpoint_dir, seen, time.time() - start)
    ended = proc.poll() is not None
  finally:
    if proc.poll() is None:
      proc.terminate()
      proc.wait()
  if ended and proc.returncode:
    raise RuntimeError(f'{" ".join(cmd[1:4])} ... failed with exit status {proc.returncode} '
                       '(its output is above).')
  # Saved since the last look: timed now (an upper bound of their times).
  _note_checkpoints(checkpoint_dir, seen, time.time() - start)
  return seen, ended


def covers(timeline: dict, minutes: list) -> bool:
  """Whether a timeline reaches the largest budget: its run ended, or ran at least that long."""
  return timeline['ended'] or timeline['limit_minutes'] >= max(minutes)


def train_timed(run, run_dir: str, minutes: list) -> dict:
  """The run's {step: seconds}: from its timeline.json when that run trained as this one would,
  for long enough; else trained afresh (a timed run cannot resume)."""
  fields = trained_fields(run)
  done = kinds.read_json(os.path.join(run_dir, TIMELINE))
  if not (done and done.get('trained') == fields and covers(done, minutes)):
    shutil.rmtree(run_dir, ignore_errors=True)
    cmd = kinds.main_command(training_run(run), os.path.abspath(run_dir))
    logging.info('%s', ' '.join(cmd))
    seen, ended = time_checkpoints(cmd, workdir_lib.checkpoint_dir(run_dir), 60 * max(minutes))
    done = {'trained': fields, 'limit_minutes': max(minutes), 'ended': ended,
            'checkpoint_seconds': {str(s): t for s, t in sorted(seen.items())}}
    atomic_files.write_json(os.path.join(run_dir, TIMELINE), done, indent=1)
  return {int(s): t for s, t in done['checkpoint_seconds'].items()}


def twin_times(run, run_dir: str, minutes: list) -> tuple:
  """(directory, {step: seconds}) of the run whose checkpoints this one scores."""
  twin = run.args['scored_on']
  directory = sibling_dir(run, run_dir, twin)
  done = kinds.read_json(os.path.join(directory, TIMELINE))
  if done is None:
    raise RuntimeError(f'Run {run.name} scores the checkpoints of {twin!r}, which has not '
                       'trained yet (it must come earlier in the study).')
  if done.get('trained') != trained_fields(run) or not covers(done, minutes):
    raise RuntimeError(f'Run {run.name} scores the checkpoints of {twin!r}, which trained '
                       'otherwise (only eval.* may differ) or not for as long.')
  return directory, {int(s): t for s, t in done['checkpoint_seconds'].items()}


def score(config, directory: str, times: dict, minutes: list, seed: int) -> dict:
  """{budget key: numbers of the newest checkpoint within it, 'step', 'seconds'}."""
  from gan_jax import snapshots
  steps = {key(b): snapshots.newest_within(times, 60 * b) for b in minutes}
  wanted = sorted({s for s in steps.values() if s is not None})
  scores = snapshots.score_checkpoints(config, workdir_lib.checkpoint_dir(directory), wanted)
  return {k: {'step': None} if s is None else
          {**scores[s][seed], 'step': s, 'seconds': round(times[s], 1)}
          for k, s in steps.items()}


def train(run, run_dir: str) -> None:
  """Trains (or reuses the timeline of) the recipe, scores its snapshots, writes ttq.json."""
  config, minutes = run_config(run), budgets(run)
  if run.args.get('scored_on'):
    directory, times = twin_times(run, run_dir, minutes)
    os.makedirs(run_dir, exist_ok=True)
    extra = {'scored_on': run.args['scored_on'], 'seconds': None}
  else:
    directory, times = run_dir, train_timed(run, run_dir, minutes)
    extra = {'checkpoint_seconds': {str(s): t for s, t in sorted(times.items())},
             'seconds': kinds.training_seconds(run_dir)}
  result = {'snapshots': score(config, directory, times, minutes, run.seed),
            'conditional': bool(config.model.conditional), **extra}
  write_result(run, run_dir, flat(config), result)


def result(run, run_dir: str) -> Optional[dict]:
  return saved_result(run, run_dir, flat(run_config(run)))


KIND = kinds.Kind(config=run_config, train=train, result=result)
