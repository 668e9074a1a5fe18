"""Model registry: name -> Flax linen module class, for generators and discriminators; and the
config's model section (`defaults()`, `problems(config)`, `runlocal(model_config)`).

Generators are called as `G(z_BxZ, train) -> images_BxHxWxC` with outputs in [-1, 1] (2-D
points for the mixtures; for token sequences, models with TAKES_TOKENS, distributions over the V
tokens at each of L positions, (B, L, V)); discriminators as `D(x, train) -> logits_B`. A config
selects them by name (`model.generator`, `model.discriminator`); the fields of every registered
module live in the config under its name (`model.g_kwargs.<name>.<field>`,
`model.d_kwargs.<name>.<field>`), filled with the module's defaults, so each can be overridden
from the command line. A module class declares the valid values of its fields (`CHOICES`, e.g.
{'norm': G_NORMS}), the fields that must be positive numbers (`POSITIVE`) or integers >= 0
(`NON_NEGATIVE_INT`), other checks of its fields (`field_problems(kwargs, where) -> [line]`), its
small sizes
for an experiment's `:runlocal` (`RUNLOCAL`, e.g. {'base_features': 16}); a generator that
conditions on the class through its normalisation says so (`CONDITIONS_THROUGH_NORM`). Each
defaults to none (layers.Generator / Discriminator declare them for their subclasses).
"""
import dataclasses
import zlib

import flax.linen as nn
import jax
import ml_collections

from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_jax.models.layers import D_CONDITIONINGS
from gan_jax.models.mlp import MLPDiscriminator, MLPGenerator
from gan_jax.models.r3gan import R3GANDiscriminator, R3GANGenerator
from gan_jax.models.sequence import SequenceDiscriminator, SequenceGenerator
from gan_jax.models.sngan import (ResNetDiscriminator, ResNetGenerator, SNGANDiscriminator,
                                  SNGANGenerator)
from gan_jax.validation import failed, is_int, is_real

GENERATORS = {
    'dcgan': DCGANGenerator,
    'mlp': MLPGenerator,
    'sngan_cnn32': SNGANGenerator,
    'resnet32': ResNetGenerator,
    'r3gan': R3GANGenerator,  # R3GAN's normalisation-free ConvNet (models/r3gan.py).
    'conv1d_resnet': SequenceGenerator,  # Token sequences: (B, L, V) distributions.
}
DISCRIMINATORS = {
    'dcgan': DCGANDiscriminator,
    'mlp': MLPDiscriminator,
    'sngan_cnn32': SNGANDiscriminator,
    'resnet32': ResNetDiscriminator,
    'r3gan': R3GANDiscriminator,
    'conv1d_resnet': SequenceDiscriminator,  # Token sequences: one-hot (B, L, V).
}
# model.latent_dist: name -> (key, batch_size, latent_dim) -> latents (state.sample_latent).
LATENT_DISTS = {
    'normal': lambda key, b, d: jax.random.normal(key, (b, d)),
    'uniform': lambda key, b, d: jax.random.uniform(key, (b, d), minval=-1.0, maxval=1.0),
}
MODEL_DTYPES = ('float32', 'bfloat16')  # model.dtype.
RUNLOCAL_LATENT_DIM = 16  # model.latent_dim of `:runlocal`.


# Fields set by the library, never by model.g_kwargs / model.d_kwargs.
_LIBRARY_FIELDS = ('parent', 'name', 'output_shape', 'bn_axis_name', 'num_classes',
                   'conditioning', 'example_axis_name')


def module_fields(cls) -> list[str]:
  """The fields a config may set on a linen module class."""
  return [f.name for f in dataclasses.fields(cls) if f.name not in _LIBRARY_FIELDS]


def default_kwargs(cls) -> dict:
  """The configurable fields of a module class with their defaults."""
  fields = [f for f in dataclasses.fields(cls) if f.name in module_fields(cls)]
  missing = [f.name for f in fields if f.default is dataclasses.MISSING]
  if missing:
    raise TypeError(f'{cls.__name__}: registered modules need a default for every field; '
                    f'{missing} have none.')
  return {f.name: f.default for f in fields}


def defaults() -> ml_collections.ConfigDict:
  """The model section with its defaults."""
  model = ml_collections.ConfigDict()
  model.generator = 'dcgan'
  model.discriminator = 'dcgan'
  model.latent_dim = 100
  model.latent_dist = 'normal'
  model.sync_bn = True  # Data parallel: batch-norm statistics over all devices.
  # PacGAN: D scores packs of `pack` samples (concatenated on the last axis); the batch of
  # data.batch_size samples makes data.batch_size / pack packs.
  model.pack = 1
  # Training computation dtype: 'bfloat16' casts the float32 parameters and inputs of G and D
  # in each update (mixed precision); sampling and evaluation stay float32.
  model.dtype = 'float32'
  # Class-conditional G (conditional batch norm; one-hot input for the MLP) and D, on the data's
  # labels; D conditions by 'projection' (Miyato & Koyama 2018) or an 'acgan' classifier head.
  model.conditional = False
  model.d_conditioning = 'projection'
  # Initial weights: 0 keeps each module's own initialisers (Flax's: LeCun normal kernels);
  # > 0 draws every dense and convolution kernel of G and D from N(0, init_std) with zero
  # biases, as DCGAN (Radford et al. 2016) and PacGAN's code (0.02) do (reinitialize below).
  model.init_std = 0.0
  # Fields of every registered module, under its name: model.g_kwargs.dcgan.base_features.
  model.g_kwargs = {n: default_kwargs(c) for n, c in GENERATORS.items()}
  model.d_kwargs = {n: default_kwargs(c) for n, c in DISCRIMINATORS.items()}
  return model


def _module_problems(m) -> list[str]:
  """Each module's fields under model.g_kwargs / d_kwargs: known, and valid where it declares
  CHOICES; the conditional G's normalisation."""
  problems = []
  for kind, registry, name, all_kwargs, field in (
      ('generator', GENERATORS, m.generator, m.g_kwargs, 'g_kwargs'),
      ('discriminator', DISCRIMINATORS, m.discriminator, m.d_kwargs, 'd_kwargs')):
    if name not in registry:
      problems.append(f'Unknown model.{kind} {name!r}; valid names: {sorted(registry)}.')
    for arch, kwargs in all_kwargs.items():
      if arch not in registry:
        problems.append(f'model.{field}.{arch}: no {kind} {arch!r}; valid: {sorted(registry)}.')
        continue
      cls = registry[arch]
      unknown = sorted(set(kwargs) - set(module_fields(cls)))
      if unknown:
        problems.append(f'model.{field}.{arch} has field(s) {unknown} that {kind} {arch!r} '
                        f'lacks; valid fields: {module_fields(cls)}.')
      choices = getattr(cls, 'CHOICES', {})
      problems += [f'Unknown model.{field}.{arch}.{k} {kwargs[k]!r}; valid: {list(valid)}.'
                   for k, valid in choices.items() if k in kwargs and kwargs[k] not in valid]
      problems += [f'model.{field}.{arch}.{k} must be a number > 0, got {kwargs[k]!r}.'
                   for k in getattr(cls, 'POSITIVE', ()) if k in kwargs and not (
                       is_real(kwargs[k]) and kwargs[k] > 0)]
      problems += [f'model.{field}.{arch}.{k} must be an integer >= 0, got {kwargs[k]!r}.'
                   for k in getattr(cls, 'NON_NEGATIVE_INT', ()) if k in kwargs and not (
                       is_int(kwargs[k]) and kwargs[k] >= 0)]
      if hasattr(cls, 'field_problems'):  # A module's own checks of its fields (r3gan).
        problems += cls.field_problems(dict(kwargs), f'model.{field}.{arch}')
      if (m.conditional is True and kind == 'generator' and arch == name and
          getattr(cls, 'CONDITIONS_THROUGH_NORM', False) and kwargs.get('norm') != 'batch'):
        problems.append(f'model.conditional=True conditions G through its batch norm; set '
                        f'model.g_kwargs.{arch}.norm=batch.')
  return problems


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the model section (and of data.batch_size against model.pack)."""
  m, batch_size = config.model, config.data.batch_size
  checks = [
      (is_int(m.latent_dim) and m.latent_dim > 0,
       f'model.latent_dim must be a positive integer, got {m.latent_dim!r}.'),
      (m.latent_dist in LATENT_DISTS,
       f'Unknown model.latent_dist {m.latent_dist!r}; valid: {list(LATENT_DISTS)}.'),
      (isinstance(m.sync_bn, bool), f'model.sync_bn must be True or False, got {m.sync_bn!r}.'),
      (is_int(m.pack) and m.pack >= 1, f'model.pack must be an integer >= 1, got {m.pack!r}.'),
      (m.dtype in MODEL_DTYPES, f'Unknown model.dtype {m.dtype!r}; valid: {list(MODEL_DTYPES)}.'),
      (isinstance(m.conditional, bool),
       f'model.conditional must be True or False, got {m.conditional!r}.'),
      (m.d_conditioning in D_CONDITIONINGS,
       f'Unknown model.d_conditioning {m.d_conditioning!r}; valid: {list(D_CONDITIONINGS)}.'),
      (isinstance(m.init_std, (int, float)) and not isinstance(m.init_std, bool) and
       m.init_std >= 0,
       f'model.init_std must be a number >= 0 (0: the modules\' own initialisers), got '
       f'{m.init_std!r}.'),
      (not (m.conditional is True and m.pack != 1),
       'model.conditional=True with model.pack > 1: a pack mixes classes; use one or the other.'),
  ]
  if is_int(m.pack) and m.pack >= 1 and is_int(batch_size) and batch_size > 0:
    checks.append((batch_size % m.pack == 0,
                   f'data.batch_size={batch_size} must be a multiple of model.pack={m.pack} (the '
                   f'batch forms batch_size / pack packs); use '
                   f'{max(m.pack, batch_size // m.pack * m.pack)}.'))
  return _module_problems(m) + failed(checks)


def runlocal(model_config: ml_collections.ConfigDict) -> None:
  """`:runlocal` sizes: a small latent, and every registered module's own RUNLOCAL fields."""
  model_config.latent_dim = RUNLOCAL_LATENT_DIM
  for registry, all_kwargs in ((GENERATORS, model_config.g_kwargs),
                               (DISCRIMINATORS, model_config.d_kwargs)):
    for name, cls in registry.items():
      for field, value in getattr(cls, 'RUNLOCAL', {}).items():
        all_kwargs[name][field] = value


def takes_tokens(kind: str, name: str) -> bool:
  """Whether the registered `kind` ('generator' | 'discriminator') `name` is a sequence model
  (its class sets TAKES_TOKENS: G makes distributions over tokens, D reads them)."""
  registry = GENERATORS if kind == 'generator' else DISCRIMINATORS
  return bool(getattr(registry[name], 'TAKES_TOKENS', False))


def names_for(kind: str, tokens: bool) -> list[str]:
  """The registered `kind` names for token sequences (tokens=True) or for images and points."""
  registry = GENERATORS if kind == 'generator' else DISCRIMINATORS
  return sorted(n for n in registry if takes_tokens(kind, n) == tokens)


def _make(registry: dict, name: str, kwargs: dict, **fixed) -> nn.Module:
  """registry[name](**kwargs) with the library's `fixed` fields that the class has; the name and
  fields were checked by configs.validate."""
  cls = registry[name]
  known = {f.name for f in dataclasses.fields(cls)}
  return cls(**kwargs, **{k: v for k, v in fixed.items() if k in known})


def make_generator(model_config, output_shape, bn_axis_name=None, num_classes=0) -> nn.Module:
  """`bn_axis_name`: average batch-norm statistics over this mesh axis (synchronised BN);
  `num_classes` > 0: class-conditional (model.conditional)."""
  name = model_config.generator
  return _make(GENERATORS, name, dict(model_config.g_kwargs.get(name, {})),
               output_shape=tuple(output_shape), bn_axis_name=bn_axis_name,
               num_classes=num_classes)


def make_discriminator(model_config, bn_axis_name=None, num_classes=0) -> nn.Module:
  name = model_config.discriminator
  return _make(DISCRIMINATORS, name, dict(model_config.d_kwargs.get(name, {})),
               bn_axis_name=bn_axis_name, num_classes=num_classes,
               conditioning=model_config.get('d_conditioning', 'projection'))


def reinitialize(params, key: jax.Array, std: float):
  """`params` with every dense / convolution kernel redrawn from N(0, std) (a key per kernel,
  from its path) and the biases beside those kernels set to 0; other parameters (normalisation
  scales and offsets, embeddings) are kept. std 0 returns `params` unchanged."""
  if not std:
    return params

  def redraw(node, path):
    if not isinstance(node, dict) and not hasattr(node, 'items'):
      return node
    has_kernel = 'kernel' in node
    out = {}
    for name, leaf in node.items():
      where = f'{path}/{name}'
      if has_kernel and name == 'kernel':
        k = jax.random.fold_in(key, zlib.crc32(where.encode()))
        out[name] = std * jax.random.normal(k, leaf.shape, leaf.dtype)
      elif has_kernel and name == 'bias':
        out[name] = jax.numpy.zeros_like(leaf)
      else:
        out[name] = redraw(leaf, where)
    return out
  return redraw(params, '')


def pack_samples(x_BxDIMS: jax.Array, pack: int) -> jax.Array:
  """PacGAN packing (Lin et al. 2018): groups of `pack` consecutive samples become one input.

  The group's samples are concatenated along the last axis: images (B, H, W, C) become
  (B/pack, H, W, pack*C) (the channels of sample 0, then sample 1, ...), vectors (B, D) become
  (B/pack, pack*D). The discriminator then scores packs, not samples.
  """
  if pack == 1:
    return x_BxDIMS
  b, *rest = x_BxDIMS.shape
  if b % pack:
    raise ValueError(f'A batch of {b} samples does not split into packs of {pack}.')
  x = x_BxDIMS.reshape(b // pack, pack, *rest)
  x = jax.numpy.moveaxis(x, 1, -2)  # (B/pack, ..., pack, C)
  return x.reshape(b // pack, *rest[:-1], pack * rest[-1])
