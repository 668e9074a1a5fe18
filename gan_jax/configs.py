"""The config schema: `base_config()` holds every field with its default; `validate()` checks a
config before anything is built or compiled.

Experiment files in experiments/ start from `base_config()` and change what they need, so every
field exists in every experiment and can be overridden from the command line
(`--config.optim.g_lr=1e-4`).
"""
import importlib.util
import numbers
import os

import ml_collections
from ml_collections import config_dict

from gan_jax import data as data_lib
from gan_jax import losses
from gan_jax import models
from gan_jax.augment import POLICIES as AUGMENT_POLICIES
from gan_jax.models.layers import D_CONDITIONINGS, G_NORMS
from gan_jax.penalties import PENALTIES
from gan_jax.state import LATENT_DISTS
from gan_jax.step import SEED_LAYOUTS


SCHEDULES = ('constant', 'linear', 'cosine')  # optim.schedule.
MODEL_DTYPES = ('float32', 'bfloat16')  # model.dtype.

# eval.features: the feature extractor of image metrics (gan_jax/evaluate.py); 'none': no eval.
EVAL_FEATURES = ('auto', 'mnist_classifier', 'inception_v3', 'none')


class ConfigError(ValueError):
  """An invalid config; the message lists every problem and the valid values."""


def base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.num_seeds = 1  # Train seeds seed, seed+1, ... together (vmap) in one program.

  config.data = ml_collections.ConfigDict()
  config.data.source = 'mnist5k'  # A name in gan_jax.data.SOURCES, or 'tfds:<name>'.
  config.data.split = 'train'
  config.data.batch_size = 64
  config.data.image_size = config_dict.placeholder(int)  # Resize to image_size^2; None: native.
  config.data.data_dir = config_dict.placeholder(str)  # tfds only; None: tfds's default.
  config.data.image_key = 'image'  # tfds only.
  config.data.download = False  # tfds only: download and prepare when not prepared.

  config.model = ml_collections.ConfigDict()
  config.model.generator = 'dcgan'
  config.model.discriminator = 'dcgan'
  config.model.latent_dim = 100
  config.model.latent_dist = 'normal'
  config.model.sync_bn = True  # Data parallel: batch-norm statistics over all devices.
  # PacGAN: D scores packs of `pack` samples (concatenated on the last axis); the batch of
  # data.batch_size samples makes data.batch_size / pack packs.
  config.model.pack = 1
  # Training computation dtype: 'bfloat16' casts the float32 parameters and inputs of G and D
  # in each update (mixed precision); sampling and evaluation stay float32.
  config.model.dtype = 'float32'
  # Class-conditional G (conditional batch norm; one-hot input for the MLP) and D, on the data's
  # labels; D conditions by 'projection' (Miyato & Koyama 2018) or an 'acgan' classifier head.
  config.model.conditional = False
  config.model.d_conditioning = 'projection'
  # Fields of every registered module, under its name: model.g_kwargs.dcgan.base_features.
  config.model.g_kwargs = {n: models.default_kwargs(c) for n, c in models.GENERATORS.items()}
  config.model.d_kwargs = {n: models.default_kwargs(c) for n, c in models.DISCRIMINATORS.items()}

  config.loss = ml_collections.ConfigDict()
  config.loss.name = 'minimax'
  # Weights of D's input-gradient penalties (gan_jax/penalties.py); 0 turns one off.
  config.loss.penalties = ml_collections.ConfigDict(
      {name: 0.0 for name in ('gradient_penalty', 'r1', 'r2', 'dragan')})
  config.loss.lazy_every = 1  # r1 / r2 every k-th step only, weight x k (StyleGAN2).
  config.loss.weight_clip = 0.0  # > 0: clip D's parameters to [-c, c] (WGAN: 0.01).
  config.loss.acgan_weight = 1.0  # model.d_conditioning='acgan': weight of the class losses.

  config.optim = ml_collections.ConfigDict()
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.optim.b2 = 0.999
  config.optim.n_critic = 1
  config.optim.schedule = 'constant'  # constant | linear | cosine (to 0 at decay_steps).
  config.optim.warmup_steps = 0  # Linear warm-up from 0 over this many steps.
  config.optim.decay_steps = 0  # Steps over which linear / cosine decay to 0 (required for them).
  config.optim.ema_decay = 0.0  # > 0: keep an EMA of G's parameters; samples and eval use it.
  config.optim.ema_start = 0  # The EMA copies G's parameters up to this step, then averages.

  # DiffAugment on D's real and fake inputs (gan_jax/augment.py): e.g. 'color,translation,cutout'.
  config.augment = ml_collections.ConfigDict()
  config.augment.policy = ''
  config.augment.translation_ratio = 0.125
  config.augment.cutout_ratio = 0.5

  config.train = ml_collections.ConfigDict()
  config.train.num_steps = 2000
  config.train.log_every = 100
  config.train.sample_every = 500
  config.train.ckpt_every = 500
  config.train.steps_per_call = 1  # Updates per jitted call (lax.scan); cadences are multiples.
  config.train.seed_layout = 'loop'  # num_seeds > 1: 'loop' (unrolled) or 'vmap' (step.py).
  config.train.eval_every = 0  # Evaluate every this many steps (0: only at the end).

  # Evaluation (gan_jax/evaluate.py); the protocol follows from the data and eval.features.
  config.eval = ml_collections.ConfigDict()
  config.eval.features = 'auto'  # auto | mnist_classifier | inception_v3 | none (no evaluation)
  config.eval.num_samples = config_dict.placeholder(int)  # None: the protocol's default.
  config.eval.batch_size = 500  # Generator and extractor chunk size.
  config.eval.reference_split = 'train'  # Real images that FID & co. compare against.
  config.eval.inception_weights = config_dict.placeholder(str)  # .npz (scripts/convert_...).
  return config


def runlocal(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The `:runlocal` variant of any experiment: tiny batch, few steps, narrow models.

  A smoke test that compiles in seconds on a CPU; the loss, optimiser and data stay the
  experiment's own.
  """
  config.data.batch_size = 8
  config.model.latent_dim = 16
  config.model.g_kwargs.dcgan.base_features = 16
  config.model.d_kwargs.dcgan.base_features = 8
  config.model.g_kwargs.mlp.hidden = (32, 32)
  config.model.d_kwargs.mlp.hidden = (16,)
  config.model.g_kwargs.sngan_cnn32.base_features = 32
  config.model.d_kwargs.sngan_cnn32.base_features = 8
  config.model.g_kwargs.resnet32.features = 16
  config.model.d_kwargs.resnet32.features = 8
  config.train.num_steps = 4
  config.train.log_every = 2
  config.train.sample_every = 2
  config.train.ckpt_every = 2
  config.eval.num_samples = 256
  config.eval.batch_size = 128
  return config


def cifar10_runlocal(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """`:runlocal` of a tfds:cifar10 experiment: CIFAR-10 cannot be downloaded here, so the smoke
  test trains on an offline 32x32x3 stand-in (stacked_mnist resized to 32) with runlocal's sizes."""
  config.data.source = 'stacked_mnist'
  config.data.image_size = 32
  config.eval.features = 'none'  # The stand-in is not the data the experiment evaluates on.
  return runlocal(config)


def experiment_arg(config: ml_collections.ConfigDict, arg) -> ml_collections.ConfigDict:
  """Applies an experiment file's config argument (`path:arg`); `runlocal` is the one known."""
  if arg == 'runlocal':
    if config.data.source == 'tfds:cifar10':
      return cifar10_runlocal(config)
    return runlocal(config)
  if arg:
    raise ConfigError(f'Unknown config argument {arg!r}; valid: runlocal.')
  return config


def load_experiment(path: str, arg=None) -> ml_collections.ConfigDict:
  """`get_config(arg)` of an experiment file, as `--config=path:arg` would give it."""
  if not os.path.exists(path):
    raise ConfigError(f'No experiment file {path!r}.')
  spec = importlib.util.spec_from_file_location(
      os.path.splitext(os.path.basename(path))[0], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


# Fields that may change when a run is resumed: they do not change what is trained (a field
# ending in '.' stands for every field under it).
RESUMABLE_FIELDS = ('train.num_steps', 'train.log_every', 'train.sample_every', 'train.ckpt_every',
                    'train.eval_every', 'eval.')


def _resumable(key: str) -> bool:
  return any(key == f or (f.endswith('.') and key.startswith(f)) for f in RESUMABLE_FIELDS)


def _is_int(v) -> bool:
  return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
  return isinstance(v, numbers.Real) and not isinstance(v, bool)


def validate(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError listing every problem found; builds and compiles nothing."""
  problems = []

  def need(cond, msg):
    if not cond:
      problems.append(msg)

  need(_is_int(config.get('seed')), f'seed must be an integer, got {config.get("seed")!r}.')
  d, m, o, t = config.data, config.model, config.optim, config.train

  src = d.source
  need(isinstance(src, str) and (src in data_lib.SOURCES or
                                 (src.startswith('tfds:') and len(src) > len('tfds:'))),
       f'Unknown data.source {src!r}; valid sources: {data_lib.source_names()}.')
  need(_is_int(d.batch_size) and d.batch_size > 0,
       f'data.batch_size must be a positive integer, got {d.batch_size!r}.')
  need(d.image_size is None or (_is_int(d.image_size) and d.image_size > 0),
       f'data.image_size must be a positive integer or None, got {d.image_size!r}.')

  for arch, kwargs in m.g_kwargs.items():
    if 'norm' in kwargs:
      need(kwargs['norm'] in G_NORMS,
           f'Unknown model.g_kwargs.{arch}.norm {kwargs["norm"]!r}; valid: {list(G_NORMS)}.')
      need(not (m.conditional is True and arch == m.generator and kwargs['norm'] != 'batch'),
           f'model.conditional=True conditions G through its batch norm; set '
           f'model.g_kwargs.{arch}.norm=batch.')
  for kind, registry, name, all_kwargs, field in (
      ('generator', models.GENERATORS, m.generator, m.g_kwargs, 'g_kwargs'),
      ('discriminator', models.DISCRIMINATORS, m.discriminator, m.d_kwargs, 'd_kwargs')):
    need(name in registry, f'Unknown model.{kind} {name!r}; valid names: {sorted(registry)}.')
    for arch, kwargs in all_kwargs.items():
      if arch not in registry:
        problems.append(f'model.{field}.{arch}: no {kind} {arch!r}; valid: {sorted(registry)}.')
        continue
      valid = models.module_fields(registry[arch])
      unknown = sorted(set(kwargs) - set(valid))
      need(not unknown, f'model.{field}.{arch} has field(s) {unknown} that {kind} {arch!r} '
           f'lacks; valid fields: {valid}.')
  need(_is_int(m.latent_dim) and m.latent_dim > 0,
       f'model.latent_dim must be a positive integer, got {m.latent_dim!r}.')
  need(isinstance(m.sync_bn, bool), f'model.sync_bn must be True or False, got {m.sync_bn!r}.')
  need(_is_int(m.pack) and m.pack >= 1, f'model.pack must be an integer >= 1, got {m.pack!r}.')
  need(m.dtype in MODEL_DTYPES, f'Unknown model.dtype {m.dtype!r}; valid: {list(MODEL_DTYPES)}.')
  need(isinstance(m.conditional, bool),
       f'model.conditional must be True or False, got {m.conditional!r}.')
  need(m.d_conditioning in D_CONDITIONINGS,
       f'Unknown model.d_conditioning {m.d_conditioning!r}; valid: {list(D_CONDITIONINGS)}.')
  need(not (m.conditional is True and m.pack != 1),
       'model.conditional=True with model.pack > 1: a pack mixes classes; use one or the other.')
  need(_is_real(config.loss.acgan_weight) and config.loss.acgan_weight >= 0,
       f'loss.acgan_weight must be >= 0, got {config.loss.acgan_weight!r}.')
  if _is_int(m.pack) and m.pack >= 1 and _is_int(d.batch_size) and d.batch_size > 0:
    need(d.batch_size % m.pack == 0,
         f'data.batch_size={d.batch_size} must be a multiple of model.pack={m.pack} (the batch '
         f'forms batch_size / pack packs); use {max(m.pack, d.batch_size // m.pack * m.pack)}.')
  need(m.latent_dist in LATENT_DISTS,
       f'Unknown model.latent_dist {m.latent_dist!r}; valid: {list(LATENT_DISTS)}.')

  need(config.loss.name in losses.LOSSES,
       f'Unknown loss.name {config.loss.name!r}; valid names: {sorted(losses.LOSSES)}.')
  for name, w in config.loss.penalties.items():
    need(name in PENALTIES, f'Unknown penalty loss.penalties.{name}; valid: {sorted(PENALTIES)}.')
    need(_is_real(w) and w >= 0, f'loss.penalties.{name} is a weight >= 0, got {w!r}.')
  need(_is_int(config.loss.lazy_every) and config.loss.lazy_every >= 1,
       f'loss.lazy_every must be an integer >= 1, got {config.loss.lazy_every!r}.')
  need(_is_real(config.loss.weight_clip) and config.loss.weight_clip >= 0,
       f'loss.weight_clip must be >= 0 (0: off), got {config.loss.weight_clip!r}.')

  for field in ('g_lr', 'd_lr'):
    v = o[field]
    need(_is_real(v) and v > 0, f'optim.{field} must be a positive number, got {v!r}.')
  for field in ('b1', 'b2'):
    v = o[field]
    need(_is_real(v) and 0 <= v < 1, f'optim.{field} must be in [0, 1), got {v!r}.')
  need(_is_int(o.n_critic) and o.n_critic >= 1,
       f'optim.n_critic must be an integer >= 1, got {o.n_critic!r}.')
  need(o.schedule in SCHEDULES,
       f'Unknown optim.schedule {o.schedule!r}; valid: {list(SCHEDULES)}.')
  need(_is_int(o.warmup_steps) and o.warmup_steps >= 0,
       f'optim.warmup_steps must be an integer >= 0, got {o.warmup_steps!r}.')
  need(_is_int(o.decay_steps) and o.decay_steps >= 0,
       f'optim.decay_steps must be an integer >= 0, got {o.decay_steps!r}.')
  if o.schedule != 'constant' and _is_int(o.decay_steps) and _is_int(o.warmup_steps):
    need(o.decay_steps > o.warmup_steps,
         f'optim.schedule={o.schedule!r} decays to 0 at optim.decay_steps, which must exceed '
         f'optim.warmup_steps={o.warmup_steps}; set it (e.g. to train.num_steps='
         f'{t.num_steps}), got {o.decay_steps!r}.')
  need(_is_real(o.ema_decay) and 0 <= o.ema_decay < 1,
       f'optim.ema_decay must be in [0, 1) (0: no EMA; e.g. 0.999), got {o.ema_decay!r}.')
  need(_is_int(o.ema_start) and o.ema_start >= 0,
       f'optim.ema_start must be an integer >= 0, got {o.ema_start!r}.')

  need(_is_int(config.get('num_seeds')) and config.num_seeds >= 1,
       f'num_seeds must be an integer >= 1, got {config.get("num_seeds")!r}.')
  need(t.seed_layout in SEED_LAYOUTS,
       f'Unknown train.seed_layout {t.seed_layout!r}; valid: {list(SEED_LAYOUTS)}.')
  k = t.steps_per_call
  need(_is_int(k) and k >= 1, f'train.steps_per_call must be an integer >= 1, got {k!r}.')
  for field in ('num_steps', 'log_every', 'sample_every', 'ckpt_every', 'eval_every'):
    v = t[field]
    if field == 'eval_every':
      need(_is_int(v) and v >= 0, f'train.eval_every must be an integer >= 0 (0: evaluate only '
           f'at the end), got {v!r}.')
    else:
      need(_is_int(v) and v > 0, f'train.{field} must be a positive integer, got {v!r}.')
    if _is_int(v) and v > 0 and _is_int(k) and k >= 1:
      need(v % k == 0, f'train.{field}={v} must be a multiple of train.steps_per_call={k} '
           f'(each call runs {k} steps); use {max(k, v // k * k)}.')

  policy = config.augment.policy
  entries = [p.strip() for p in policy.split(',') if p.strip()] if isinstance(policy, str) else [policy]
  bad = [p for p in entries if p not in AUGMENT_POLICIES]
  need(not bad, f'Unknown augment.policy entries {bad}; valid: {list(AUGMENT_POLICIES)} '
       '(comma-separated, e.g. color,translation,cutout).')
  for field in ('translation_ratio', 'cutout_ratio'):
    v = config.augment[field]
    need(_is_real(v) and 0 <= v <= 1, f'augment.{field} must be in [0, 1], got {v!r}.')

  e = config.eval
  need(e.features in EVAL_FEATURES,
       f'Unknown eval.features {e.features!r}; valid: {list(EVAL_FEATURES)}.')
  need(e.num_samples is None or (_is_int(e.num_samples) and e.num_samples >= 2),
       f'eval.num_samples must be an integer >= 2 or None (the protocol\'s default), '
       f'got {e.num_samples!r}.')
  need(_is_int(e.batch_size) and e.batch_size > 0,
       f'eval.batch_size must be a positive integer, got {e.batch_size!r}.')

  if problems:
    raise ConfigError('Invalid config:\n  - ' + '\n  - '.join(problems))


def flatten(d: dict, prefix: str = '') -> dict:
  out = {}
  for k, v in d.items():
    key = f'{prefix}{k}'
    if isinstance(v, dict):
      out.update(flatten(v, key + '.'))
    else:
      out[key] = v
  return out


def differences(saved: dict, current: dict) -> list[str]:
  """Fields (dotted) whose values differ between two config dicts, resumable fields excepted."""
  a, b = flatten(saved), flatten(current)
  keys = sorted(set(a) | set(b))
  return [f'{k}: {a.get(k, "<absent>")!r} in the workdir, {b.get(k, "<absent>")!r} now'
          for k in keys if not _resumable(k) and a.get(k, '<absent>') != b.get(k, '<absent>')]
