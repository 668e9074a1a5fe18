"""The config: `base_config()` holds every field with its default; `validate()` checks a config
before anything is built or compiled.

Each section is defined and checked in one place, beside what it configures: `defaults()` and
`problems(config)` of gan_jax.data (data), gan_jax.models (model), gan_jax.losses (loss),
gan_jax.optimizers (optim), gan_jax.augment (augment), gan_jax.ada (ada) and gan_jax.evaluators
(eval). This module
holds the run's own fields (seed, num_seeds, the train section), assembles the sections, and
applies an experiment file's argument (`:runlocal`, built from each registry entry's own small
sizes).

Experiment files in experiments/ start from `base_config()` and change what they need, so every
field exists in every experiment and can be overridden from the command line
(`--config.optim.g_lr=1e-4`).
"""
import importlib.util
import json
import os
import re
import types

import ml_collections

from gan_jax import ada
from gan_jax import augment
from gan_jax import data as data_lib
from gan_jax import evaluators
from gan_jax import losses
from gan_jax import models
from gan_jax import optimizers
from gan_jax.errors import ConfigError  # noqa: F401 (configs.ConfigError, as before)
from gan_jax.parallel import SEED_LAYOUTS
from gan_jax.validation import failed, is_int

# The sections defined and checked by their own modules, in the config's order (after `train`,
# which is this module's, comes `eval`).
SECTIONS = {'data': data_lib, 'model': models, 'loss': losses, 'optim': optimizers,
            'augment': augment, 'ada': ada}
TRAIN_CADENCES = ('num_steps', 'log_every', 'sample_every', 'ckpt_every', 'eval_every')


def train_defaults() -> ml_collections.ConfigDict:
  """The train section: the loop's length and cadences, and how seeds share a program."""
  train = ml_collections.ConfigDict()
  train.num_steps = 2000
  train.log_every = 100
  train.sample_every = 500
  train.ckpt_every = 500
  train.ckpt_keep = 3  # Checkpoints kept (the newest); 0 keeps every one (the ttq study).
  train.steps_per_call = 1  # Updates per jitted call (unrolled in one program); cadences are multiples.
  train.seed_layout = 'loop'  # num_seeds > 1: 'loop' (unrolled) or 'vmap' (parallel.py).
  train.eval_every = 0  # Evaluate every this many steps (0: only at the end).
  return train


def base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.num_seeds = 1  # Train seeds seed, seed+1, ... together in one program.
  for name, section in SECTIONS.items():
    config[name] = section.defaults()
  config.train = train_defaults()
  # Evaluation (gan_jax/evaluators/): the protocols follow from the data and eval's fields.
  config.eval = evaluators.defaults()
  return config


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the run's own fields: seed, num_seeds and the train section."""
  t, k = config.train, config.train.steps_per_call
  checks = [
      (is_int(config.get('seed')), f'seed must be an integer, got {config.get("seed")!r}.'),
      (is_int(config.get('num_seeds')) and config.num_seeds >= 1,
       f'num_seeds must be an integer >= 1, got {config.get("num_seeds")!r}.'),
      (t.seed_layout in SEED_LAYOUTS,
       f'Unknown train.seed_layout {t.seed_layout!r}; valid: {list(SEED_LAYOUTS)}.'),
      (is_int(k) and k >= 1, f'train.steps_per_call must be an integer >= 1, got {k!r}.'),
      (is_int(t.ckpt_keep) and t.ckpt_keep >= 0,
       f'train.ckpt_keep must be an integer >= 0 (0 keeps every checkpoint), got '
       f'{t.ckpt_keep!r}.')]
  for field in TRAIN_CADENCES:
    v = t[field]
    if field == 'eval_every':
      checks.append((is_int(v) and v >= 0, f'train.eval_every must be an integer >= 0 (0: '
                     f'evaluate only at the end), got {v!r}.'))
    else:
      checks.append((is_int(v) and v > 0,
                     f'train.{field} must be a positive integer, got {v!r}.'))
    if is_int(v) and v > 0 and is_int(k) and k >= 1:
      checks.append((v % k == 0, f'train.{field}={v} must be a multiple of '
                     f'train.steps_per_call={k} (each call runs {k} steps); use '
                     f'{max(k, v // k * k)}.'))
  return failed(checks)


def validate(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError listing every problem of every section; builds and compiles nothing."""
  found = problems(config)
  for section in (*SECTIONS.values(), evaluators):
    found += section.problems(config)
  if found:
    raise ConfigError('Invalid config:\n  - ' + '\n  - '.join(found))


def runlocal(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The `:runlocal` variant of any experiment: tiny batch, few steps, narrow models.

  A smoke test that compiles in seconds on a CPU; the loss and optimiser stay the experiment's
  own. Each model registry entry gives its own small sizes (models.runlocal: its `RUNLOCAL`);
  the data stay the experiment's, but a source that cannot be read here (tfds) is replaced by
  the offline stand-in its registry entry declares (data.runlocal).
  """
  data_lib.runlocal(config)
  models.runlocal(config.model)
  config.data.batch_size = 8
  config.train.num_steps = 4
  config.train.log_every = 2
  config.train.sample_every = 2
  config.train.ckpt_every = 2
  config.eval.num_samples = 256
  config.eval.batch_size = 128
  return config


def experiment_arg(config: ml_collections.ConfigDict, arg) -> ml_collections.ConfigDict:
  """Applies an experiment file's config argument (`path:arg`); `runlocal` is the one known."""
  if arg == 'runlocal':
    return runlocal(config)
  if arg:
    raise ConfigError(f'Unknown config argument {arg!r}; valid: runlocal.')
  return config


def load_module(path: str) -> types.ModuleType:
  """An experiment file as a module: its get_config(arg=None) and, for a sweep, get_sweep."""
  if not os.path.exists(path):
    raise ConfigError(f'No experiment file {path!r}.')
  spec = importlib.util.spec_from_file_location(
      os.path.splitext(os.path.basename(path))[0], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_experiment(path: str, arg=None) -> ml_collections.ConfigDict:
  """`get_config(arg)` of an experiment file, as `--config=path:arg` would give it."""
  return load_module(path).get_config(arg)


# How long a run trains and how often it logs, draws, saves and evaluates: they change neither
# what is trained nor how it is evaluated.
CADENCES = ('train.num_steps', 'train.log_every', 'train.sample_every', 'train.ckpt_every',
            'train.ckpt_keep', 'train.eval_every')
# Fields that may change when a run is resumed: they do not change what is trained (a field
# ending in '.' stands for every field under it).
RESUMABLE_FIELDS = CADENCES + ('eval.',)


def _resumable(key: str) -> bool:
  return any(key == f or (f.endswith('.') and key.startswith(f)) for f in RESUMABLE_FIELDS)


def flatten(d: dict, prefix: str = '') -> dict:
  out = {}
  for k, v in d.items():
    key = f'{prefix}{k}'
    if isinstance(v, dict):
      out.update(flatten(v, key + '.'))
    else:
      out[key] = v
  return out


def _changed_keys(a: dict, b: dict, kept) -> list[str]:
  """Sorted dotted fields whose values differ between two flattened config dicts, fields where
  `kept(key)` is true excepted."""
  # A field that a newer gan_jax added is absent from an older workdir's config; at its default
  # it changes nothing.
  added = {k: v for k, v in flatten(base_config().to_dict()).items() if k not in a}
  return [k for k in sorted(set(a) | set(b))
          if not kept(k) and a.get(k, added.get(k, '<absent>')) != b.get(k, '<absent>')]


def changed(saved: dict, current: dict, kept=lambda key: False) -> list[str]:
  """Fields (dotted) whose values differ between two config dicts, fields where `kept(key)` is
  true excepted: one line each, naming both values."""
  a, b = flatten(saved), flatten(current)
  return [f'{k}: {a.get(k, "<absent>")!r} in the workdir, {b.get(k, "<absent>")!r} now'
          for k in _changed_keys(a, b, kept)]


def trained_under(saved: dict, config: ml_collections.ConfigDict) -> bool:
  """Whether a run's saved config.json (`saved`; {} when it has none) is `config` in every field
  but the cadences: the same training and evaluation, however long it ran and how often it logged
  (a results script's test of whether a finished run may be read as `config`'s)."""
  return bool(saved) and not changed(saved, json.loads(config.to_json()),
                                     lambda key: key in CADENCES)


def keep_flags(saved: dict, current: dict) -> list[str]:
  """`--config.<field>=<the workdir's value>` for each non-resumable field that differs and whose
  saved value is a plain number, string or bool: the flags that resume a workdir's run as it was."""
  a, b = flatten(saved), flatten(current)
  return [f'--config.{k}={a[k]}' for k in _changed_keys(a, b, _resumable)
          if k in a and isinstance(a[k], (bool, int, float, str))]


def differences(saved: dict, current: dict) -> list[str]:
  """Fields (dotted) whose values differ between two config dicts, resumable fields excepted."""
  return changed(saved, current, _resumable)


def apply_overrides(config, overrides: dict):
  """Sets dotted fields; an unknown field or a value of another type fails naming both."""
  for key, value in overrides.items():
    *parents, leaf = key.split('.')
    node = config
    for p in parents:
      if p not in node:
        raise ConfigError(f'Override {key}={value!r}: the config has no field {key!r}.')
      node = node[p]
    if leaf not in node:
      raise ConfigError(f'Override {key}={value!r}: the config has no field {key!r}.')
    try:
      node[leaf] = value
    except (TypeError, ValueError) as e:
      raise ConfigError(f'Override {key}={value!r}: {e}') from e
  return config


def parse_shard(text: str) -> tuple[int, int]:
  """'i/n' -> (i, n) with 0 <= i < n; anything else fails naming the expected form."""
  m = re.fullmatch(r'\s*(\d+)\s*/\s*(\d+)\s*', text or '')
  if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
    raise ConfigError(f'--shard={text!r}: expected i/n with 0 <= i < n, e.g. --shard=0/2 '
                      'and --shard=1/2 for two processes sharing the workdir.')
  return int(m.group(1)), int(m.group(2))
