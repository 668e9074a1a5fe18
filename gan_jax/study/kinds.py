"""Run kinds: how a study's run trains and what numbers it leaves. A registry by name.

A kind has three functions of (run, run_dir):
  config(run)               the resolved ml_collections config a gan_jax run trains under (its
                            hash identifies the run in the page's .json), or None for a run that
                            is not a gan_jax experiment (e.g. the torch reference);
  train(run, run_dir)       trains (resuming what run_dir holds); raises on failure;
  result(run, run_dir)      the run's numbers (a JSON-able dict) once finished, else None.
The 'gan' kind is here; any other kind NAME is the `KIND` of module gan_jax/study/kind_NAME.py,
imported when a study first names it (a new kind is one new module, no registry edit).
A 'gan' run may list `args={'measures': [...]}`: functions of gan_jax/study/measures.py run on its
final checkpoint when it trains (cached in its measures.json with the step they were taken at),
their numbers added to its result under their names.
"""
import dataclasses
import importlib
import json
import os
import subprocess
import sys
from typing import Callable, Optional

from absl import logging

from gan_jax import configs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclasses.dataclass(frozen=True)
class Kind:
  config: Callable
  train: Callable
  result: Callable


def known() -> list:
  """Every kind name: 'gan' and the kind_NAME.py modules beside this one."""
  here = os.path.dirname(os.path.abspath(__file__))
  return sorted(['gan'] + [f[len('kind_'):-3] for f in os.listdir(here)
                           if f.startswith('kind_') and f.endswith('.py')])


def get(name: str) -> Kind:
  if name == 'gan':
    return GAN
  if name not in known():
    raise configs.ConfigError(f'Unknown run kind {name!r}; valid kinds: {known()}.')
  return importlib.import_module(f'gan_jax.study.kind_{name}').KIND


def experiment_path(config: str) -> tuple:
  """'experiments/x.py:arg' -> (absolute path, arg or None); relative paths are taken from the
  current directory, else from the repository root."""
  path, _, arg = config.partition(':')
  if not os.path.isabs(path) and not os.path.exists(path):
    path = os.path.join(ROOT, path)
  if not os.path.exists(path):
    raise configs.ConfigError(f'Study run config {config!r}: no such experiment file.')
  return os.path.abspath(path), (arg or None)


def experiment_config(run):
  """The run's experiment with its overrides and seed applied (what gan_jax.main trains)."""
  path, arg = experiment_path(run.config)
  config = configs.load_experiment(path, arg)
  return configs.apply_overrides(config, {'seed': run.seed, **run.overrides})


def flag(value) -> str:
  """A config value as gan_jax.main's command line takes it (tuples comma-joined)."""
  return ','.join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


def main_command(run, run_dir: str, mode: str = 'train') -> list:
  """`python -m gan_jax.main` for the run: its experiment, its overrides and seed as flags."""
  overrides = {'seed': run.seed, **run.overrides}
  return [sys.executable, '-m', 'gan_jax.main', f'--config={run.config}', f'--workdir={run_dir}',
          f'--mode={mode}', *(f'--config.{k}={flag(v)}' for k, v in overrides.items())]


def run_main(run, run_dir: str, mode: str = 'train') -> None:
  """Runs gan_jax.main in a subprocess from the repository root (a fresh process per run: its
  memory and compiled code go with it), its output passed through."""
  cmd = main_command(run, os.path.abspath(run_dir), mode)
  logging.info('%s', ' '.join(cmd))
  subprocess.run(cmd, cwd=ROOT, check=True)


def read_json(path: str) -> Optional[dict]:
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def training_seconds(run_dir: str) -> Optional[float]:
  """Seconds a finished run spent in its training loop, from its metrics.jsonl: each logged
  interval's steps over the steps/s logged at its end. Compilation and mid-run evaluations are
  in it; start-up and the final evaluation are not. None when nothing was logged."""
  rate = {}
  for line in open(os.path.join(run_dir, 'metrics.jsonl')) if os.path.exists(
      os.path.join(run_dir, 'metrics.jsonl')) else ():
    r = json.loads(line) if line.strip() else {}
    if r.get('steps_per_s'):
      rate[r['step']] = r['steps_per_s']
  if not rate:
    return None
  seconds, last = 0.0, 0
  for step in sorted(rate):
    seconds, last = seconds + (step - last) / rate[step], step
  return round(seconds, 1)


EVAL_CONFIG = 'study_eval_config.json'  # The eval section the run's eval.json was made under.
MEASURES = 'measures.json'  # {'step': the final step they were taken at, name: numbers, ...}


def eval_section(config) -> dict:
  return json.loads(config.to_json())['eval']


def train_gan(run, run_dir: str) -> None:
  """Trains (or resumes) the run; re-evaluates a finished run whose eval section changed (a
  resumable field: the resumed run trains no step, so it would not evaluate again); then takes
  its measures on the final checkpoint (under the run's lock, as the engine trains)."""
  from gan_jax import atomic_files
  config = experiment_config(run)
  before = (read_json(os.path.join(run_dir, 'config.json')) or {}).get('eval')
  made_under = read_json(os.path.join(run_dir, EVAL_CONFIG)) or before
  run_main(run, run_dir)
  if made_under is not None and made_under != eval_section(config):
    run_main(run, run_dir, mode='eval')
  atomic_files.write_json(os.path.join(run_dir, EVAL_CONFIG), eval_section(config), indent=1)
  e = read_json(os.path.join(run_dir, 'eval.json')) or {}
  cache = read_json(os.path.join(run_dir, MEASURES)) or {}
  cache = cache if cache.get('step') == e.get('step') else {'step': e.get('step')}
  from gan_jax.study import measures
  for name in run.args.get('measures', ()):
    if name not in cache:
      cache[name] = measures.get(name)(config, run_dir)
      atomic_files.write_json(os.path.join(run_dir, MEASURES), cache, indent=1)


def gan_result(run, run_dir: str) -> Optional[dict]:
  """A gan_jax run's final evaluation when its eval.json is at train.num_steps, its config.json
  is the run's config (cadences aside), its eval.json was made under the run's eval section and
  its measures were taken at that step: {'step', 'metrics' (its seed's numbers; for a run of
  several seeds together 'seeds': {seed: numbers}), 'seconds' (training_seconds), measures...}."""
  config = experiment_config(run)
  e = read_json(os.path.join(run_dir, 'eval.json'))
  saved = read_json(os.path.join(run_dir, 'config.json'))
  made_under = read_json(os.path.join(run_dir, EVAL_CONFIG))
  if (not e or e.get('step') != config.train.num_steps
      or not configs.trained_under(saved or {}, config)
      or (made_under is not None and made_under != eval_section(config))):
    return None
  names = run.args.get('measures', ())
  cache = read_json(os.path.join(run_dir, MEASURES)) or {}
  if names and (cache.get('step') != e['step'] or any(n not in cache for n in names)):
    return None  # Its measures are taken when it trains (train_gan).
  seeds = e['seeds']  # One run may train several seeds together (config.num_seeds).
  numbers = {'metrics': next(iter(seeds.values()))} if len(seeds) == 1 else {'seeds': seeds}
  result = {'step': e['step'], **numbers, 'seconds': training_seconds(run_dir)}
  return {**result, **{name: cache[name] for name in names}}


GAN = Kind(config=experiment_config, train=train_gan, result=gan_result)
