"""Model registry: name -> Flax linen module class, for generators and discriminators.

Generators are called as `G(z_BxZ, train) -> images_BxHxWxC` with outputs in [-1, 1];
discriminators as `D(images_BxHxWxC, train) -> logits_B`. A config selects them by name
(`model.generator`, `model.discriminator`); the fields of every registered module live in the
config under its name (`model.g_kwargs.<name>.<field>`, `model.d_kwargs.<name>.<field>`), filled
with the module's defaults, so each can be overridden from the command line.
"""
import dataclasses

import flax.linen as nn
import jax

from gan_jax.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gan_jax.models.mlp import MLPDiscriminator, MLPGenerator
from gan_jax.models.sngan import (ResNetDiscriminator, ResNetGenerator, SNGANDiscriminator,
                                  SNGANGenerator)

GENERATORS = {
    'dcgan': DCGANGenerator,
    'mlp': MLPGenerator,
    'sngan_cnn32': SNGANGenerator,
    'resnet32': ResNetGenerator,
}
DISCRIMINATORS = {
    'dcgan': DCGANDiscriminator,
    'mlp': MLPDiscriminator,
    'sngan_cnn32': SNGANDiscriminator,
    'resnet32': ResNetDiscriminator,
}


# Fields set by the library, never by model.g_kwargs / model.d_kwargs.
_LIBRARY_FIELDS = ('parent', 'name', 'output_shape', 'bn_axis_name', 'num_classes',
                   'conditioning')


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


def _make(registry: dict, kind: str, name: str, kwargs: dict, **fixed) -> nn.Module:
  if name not in registry:
    raise ValueError(f'Unknown {kind} {name!r}; valid names: {sorted(registry)}.')
  cls = registry[name]
  unknown = sorted(set(kwargs) - set(module_fields(cls)))
  if unknown:
    raise ValueError(f'{kind} {name!r} has no field(s) {unknown}; '
                     f'valid fields: {module_fields(cls)}.')
  known = {f.name for f in dataclasses.fields(cls)}
  return cls(**kwargs, **{k: v for k, v in fixed.items() if k in known})


def make_generator(model_config, output_shape, bn_axis_name=None, num_classes=0) -> nn.Module:
  """`bn_axis_name`: average batch-norm statistics over this mesh axis (synchronised BN);
  `num_classes` > 0: class-conditional (model.conditional)."""
  name = model_config.generator
  return _make(GENERATORS, 'generator', name, dict(model_config.g_kwargs.get(name, {})),
               output_shape=tuple(output_shape), bn_axis_name=bn_axis_name,
               num_classes=num_classes)


def make_discriminator(model_config, bn_axis_name=None, num_classes=0) -> nn.Module:
  name = model_config.discriminator
  return _make(DISCRIMINATORS, 'discriminator', name, dict(model_config.d_kwargs.get(name, {})),
               bn_axis_name=bn_axis_name, num_classes=num_classes,
               conditioning=model_config.get('d_conditioning', 'projection'))


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
