"""R3GAN's normalisation-free ConvNet (Huang et al., NeurIPS 2024, "The GAN is dead; long live the
GAN! A Modern GAN Baseline"), after brownvc/R3GAN R3GAN/Networks.py, Resamplers.py and
FusedOperators.py.

- No normalisation layers. Convolutions and dense layers have no bias; biases live in the
  activations (bias, then leaky ReLU 0.2, R3GAN's BiasedActivation).
- MSR initialisation: every kernel ~ N(0, (gain / sqrt(fan_in))^2), fan_in = kernel height x
  width x input channels per group.
- Residual blocks, inverted bottleneck: 1x1 conv C -> E*C, bias + leaky ReLU, grouped kxk conv
  (`groups` groups) E*C -> E*C, bias + leaky ReLU, 1x1 conv E*C -> C; x + branch. Fix-up
  initialisation: the first two convolutions with gain sqrt(2 / (1 + 0.2^2)) x L^(-1/4) (L the
  number of residual blocks of the network: R3GAN's VarianceScalingParameter, 3 linear layers a
  branch: L^(-1/(2*3-2))), the last one with gain 0, so every residual branch is exactly 0 at
  initialisation and the network starts as its transition layers alone.
- The grouped kxk conv is computed as nn.Conv's grouped convolution (`grouped_conv='grouped'`,
  the default) or as one dense convolution with a block-diagonal kernel ('block_diagonal',
  layers.BlockDiagonalConv): the same function of the same parameters, the second far faster on
  the CPU (the 28x28 update of experiments/r3gan_mnist.py at G 64/48/32: 14 s grouped, 0.93 s
  block-diagonal, 2-core Intel Xeon).
- Resampling: bilinear (layers.bilinear_upsample2x / downsample2x, upfirdn2d's [1, 3, 3, 1]
  filter); a 1x1 conv changes the width where two stages differ (G: before the up-sampling, D:
  after the down-sampling).
- G: z (with a class embedding concatenated when conditional: a bias-free linear map of the
  one-hot label, `class_embed_dim` wide, R3GAN: the latent's width) -> a generative basis (a
  learned h0 x w0 x F0 map ~ N(0, 1), scaled per channel by a linear map of z) -> stages, each
  a transition (basis, or up-sampling) then `blocks` residual blocks -> 1x1 conv to the image
  channels. R3GAN's G ends there (a linear output); `output='tanh'` (the default) keeps
  gan_jax's contract that G's outputs lie in [-1, 1].
- D: 1x1 conv from the image -> stages, each `blocks` residual blocks then a transition
  (down-sampling, or at the last stage the discriminative basis: a depthwise conv over the whole
  h0 x w0 map, then a bias-free linear map) -> the logit. Conditional (projection, as R3GAN):
  the basis maps to `class_embed_dim` features, and the logit is their inner product with a
  class embedding (gain 1 / sqrt(class_embed_dim)); model.d_conditioning='acgan' instead puts the
  library's ACGAN head (layers.d_output: a logit and class logits) on the basis' features.

Widths: G's `features` per stage from the lowest resolution up (h0 = H / 2^(stages-1)), D's from
the image resolution down. R3GAN's CIFAR-10 preset (train.py): 4 stages of 768 channels, 2 blocks
each, 96 groups, expansion 2, a 64-d latent (the defaults here); MNIST 28x28 takes 3 stages
(7, 14, 28).
"""
import math
from typing import Any, ClassVar, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import (BlockDiagonalConv, bilinear_downsample2x,
                                   bilinear_upsample2x, d_output)

LEAKY_SLOPE = 0.2
ACTIVATION_GAIN = math.sqrt(2.0 / (1.0 + LEAKY_SLOPE ** 2))  # R3GAN's BiasedActivation.Gain.
OUTPUTS = ('tanh', 'linear')
# How the blocks' grouped kxk conv is computed (the same function of the same parameters):
# grouped (nn.Conv with feature_group_count: the default, for accelerators) or block_diagonal
# (one dense conv with a block-diagonal kernel, layers.BlockDiagonalConv: groups x the
# multiply-adds, yet far faster on the CPU, whose grouped-conv gradients are slow; :runlocal and
# experiments/r3gan_mnist.py use it).
GROUPED_CONVS = ('grouped', 'block_diagonal')


def msr_init(gain: float):
  """Kernels ~ N(0, (gain / sqrt(fan_in))^2), fan_in the product of all but the last axis
  (kernel height x width x input channels per group; a dense layer's inputs); gain 0: zeros."""
  def init(key, shape, dtype=jnp.float32):
    fan_in = math.prod(shape[:-1])
    return (gain / math.sqrt(fan_in)) * jax.random.normal(key, shape, dtype)
  return init


def conv(features: int, k: int = 1, gain: float = 1.0, groups: int = 1, name=None,
         form: str = 'grouped') -> nn.Module:
  """A bias-free k x k convolution with 'SAME' zero padding and MSR initialisation; with
  groups > 1 computed in `form` (GROUPED_CONVS), the parameters the same either way."""
  padding = ((k // 2, k // 2),) * 2
  if groups > 1 and form == 'block_diagonal':
    return BlockDiagonalConv(features, (k, k), groups, padding, msr_init(gain), name=name)
  return nn.Conv(features, (k, k), padding=padding, feature_group_count=groups,
                 use_bias=False, kernel_init=msr_init(gain), name=name)


class BiasedActivation(nn.Module):
  """x + bias (per channel, initially 0), then leaky ReLU 0.2 (R3GAN's BiasedActivation)."""

  @nn.compact
  def __call__(self, x):
    bias = self.param('bias', nn.initializers.zeros_init(), (x.shape[-1],))
    return nn.leaky_relu(x + bias.astype(x.dtype), LEAKY_SLOPE)


class ResidualBlock(nn.Module):
  """x + conv1x1(act(grouped conv kxk(act(conv1x1(x))))), the last conv initially 0 (fix-up).
  `num_blocks`: the residual blocks of the whole network (the variance scaling L)."""
  expansion: int
  groups: int
  kernel_size: int
  num_blocks: int
  grouped_conv: str = 'grouped'

  @nn.compact
  def branch(self, x):
    """The residual branch alone (0 at initialisation)."""
    c = x.shape[-1]
    gain = ACTIVATION_GAIN * self.num_blocks ** (-1.0 / 4.0)
    y = conv(c * self.expansion, 1, gain, name='expand')(x)
    y = conv(c * self.expansion, self.kernel_size, gain, self.groups, name='grouped',
             form=self.grouped_conv)(
        BiasedActivation(name='act_0')(y))
    return conv(c, 1, 0.0, name='project')(BiasedActivation(name='act_1')(y))

  def __call__(self, x):
    return x + self.branch(x)


def _block_args(m) -> dict:
  return dict(expansion=m.expansion, groups=m.groups, kernel_size=m.kernel_size,
              num_blocks=max(len(m.features) * m.blocks, 1), grouped_conv=m.grouped_conv)


def _field_problems(kwargs: dict, where: str) -> list:
  """The R3GAN modules' own checks (models._module_problems calls them): the widths, and groups
  dividing every expanded width."""
  f, e, g = kwargs.get('features'), kwargs.get('expansion'), kwargs.get('groups')
  ints = lambda v, low: isinstance(v, int) and not isinstance(v, bool) and v >= low
  problems = []
  if not (isinstance(f, (tuple, list)) and f and all(ints(n, 1) for n in f)):
    problems.append(f'{where}.features must be a non-empty tuple of integers >= 1 (one width a '
                    f'stage), got {f!r}.')
  elif ints(e, 1) and ints(g, 1) and any(n * e % g for n in f):
    problems.append(f'{where}.groups={g} must divide every expanded width (features x '
                    f'expansion = {[n * e for n in f]}).')
  for field, low in (('blocks', 0), ('expansion', 1), ('groups', 1), ('class_embed_dim', 1)):
    if field in kwargs and not ints(kwargs[field], low):
      problems.append(f'{where}.{field} must be an integer >= {low}, got {kwargs[field]!r}.')
  k = kwargs.get('kernel_size')
  if not (ints(k, 1) and k % 2 == 1):
    problems.append(f'{where}.kernel_size must be an odd integer >= 1, got {k!r}.')
  return problems


def _base_size(size: int, stages: int, field: str) -> int:
  """The basis' side: the image side over 2^(stages - 1), which must divide it."""
  scale = 2 ** (stages - 1)
  if size % scale:
    valid = [n for n in range(1, 6) if size % 2 ** (n - 1) == 0]
    raise ValueError(f'{field}: {stages} stages halve the {size}-pixel image {stages - 1} times, '
                     f'which does not divide it; use {valid} stages (one width each).')
  return size // scale


class R3GANGenerator(nn.Module):
  """R3GAN's G (module docstring). `features`: widths from the basis (h0 x w0) up to the image."""
  CHOICES: ClassVar[dict] = {'output': OUTPUTS, 'grouped_conv': GROUPED_CONVS}
  RUNLOCAL: ClassVar[dict] = {'features': (16, 16, 16), 'groups': 4, 'blocks': 1,
                              'class_embed_dim': 8, 'grouped_conv': 'block_diagonal'}
  output_shape: Sequence[int] = (32, 32, 3)
  features: Sequence[int] = (768, 768, 768, 768)
  blocks: int = 2  # Residual blocks a stage.
  groups: int = 96  # Groups of each block's kxk conv (R3GAN's cardinality).
  expansion: int = 2
  kernel_size: int = 3
  class_embed_dim: int = 64  # Conditional G: the class embedding beside z (R3GAN: the latent's).
  output: str = 'tanh'  # tanh (outputs in [-1, 1]) | linear (R3GAN's).
  grouped_conv: str = 'grouped'  # grouped | block_diagonal (GROUPED_CONVS).
  num_classes: int = 0  # Set by the library: > 0 makes G class-conditional.
  field_problems: ClassVar[Any] = staticmethod(_field_problems)

  @nn.compact
  def __call__(self, z_BxZ: jax.Array, train: bool, labels=None) -> jax.Array:
    del train  # No normalisation, no dropout: the same function in training and evaluation.
    h, w, c = self.output_shape
    stages = len(self.features)
    h0 = _base_size(h, stages, 'model.g_kwargs.r3gan.features')
    w0 = _base_size(w, stages, 'model.g_kwargs.r3gan.features')
    x = z_BxZ
    if self.num_classes:
      onehot = jax.nn.one_hot(labels, self.num_classes, dtype=x.dtype)
      x = jnp.concatenate([x, nn.Dense(self.class_embed_dim, use_bias=False,
                                       kernel_init=msr_init(1.0), name='embed')(onehot)], -1)
    f0 = self.features[0]
    basis = self.param('basis', nn.initializers.normal(1.0), (h0, w0, f0))
    scale = nn.Dense(f0, use_bias=False, kernel_init=msr_init(1.0), name='basis_dense')(x)
    x = basis[None] * scale[:, None, None, :]
    for i, features in enumerate(self.features):
      if i:
        if x.shape[-1] != features:
          x = conv(features, name=f'stage{i}_width')(x)
        x = bilinear_upsample2x(x)
      for j in range(self.blocks):
        x = ResidualBlock(**_block_args(self), name=f'stage{i}_block{j}')(x)
    x = conv(c, name='aggregate')(x)
    return jnp.tanh(x) if self.output == 'tanh' else x


class R3GANDiscriminator(nn.Module):
  """R3GAN's D (module docstring). `features`: widths from the image down to the basis."""
  CHOICES: ClassVar[dict] = {'grouped_conv': GROUPED_CONVS}
  RUNLOCAL: ClassVar[dict] = {'features': (16, 16, 16), 'groups': 4, 'blocks': 1,
                              'class_embed_dim': 16, 'grouped_conv': 'block_diagonal'}
  features: Sequence[int] = (768, 768, 768, 768)
  blocks: int = 2
  groups: int = 96
  expansion: int = 2
  kernel_size: int = 3
  class_embed_dim: int = 768  # Conditional D: the basis' output width (R3GAN: G's first width).
  grouped_conv: str = 'grouped'  # grouped | block_diagonal (GROUPED_CONVS).
  num_classes: int = 0  # Set by the library: > 0 makes D class-conditional ...
  conditioning: str = 'projection'  # ... by R3GAN's projection or an ACGAN head.
  field_problems: ClassVar[Any] = staticmethod(_field_problems)

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool, labels=None):
    x = conv(self.features[0], name='extract')(x_BxHxWxC)
    stages = len(self.features)
    for i, features in enumerate(self.features):
      for j in range(self.blocks):
        x = ResidualBlock(**_block_args(self), name=f'stage{i}_block{j}')(x)
      if i + 1 < stages:
        x = bilinear_downsample2x(x)
        if features != self.features[i + 1]:
          x = conv(self.features[i + 1], name=f'stage{i}_width')(x)
    del train  # No normalisation, no dropout: the same function in training and evaluation.
    return self._head(x, labels)

  def _head(self, x, labels):
    """The discriminative basis (a depthwise conv over the whole map, then a linear map) and the
    logit: one output, or R3GAN's projection onto a class embedding, or the ACGAN head."""
    h0, w0, f = x.shape[1:]
    # A depthwise h0 x w0 conv over the h0 x w0 map ('VALID'): per channel, the sum of the map
    # times its kernel (written so, as XLA:CPU's depthwise gradients are slow).
    basis = self.param('basis', msr_init(1.0), (h0, w0, 1, f))
    x = jnp.sum(x * basis[:, :, 0].astype(x.dtype), axis=(1, 2))
    if self.num_classes and self.conditioning == 'acgan':
      return d_output(x, labels, self.num_classes, 'acgan', lambda layer: layer)
    width = self.class_embed_dim if self.num_classes else 1
    x = nn.Dense(width, use_bias=False, kernel_init=msr_init(1.0), name='basis_dense')(x)
    if not self.num_classes:
      return x[:, 0]
    onehot = jax.nn.one_hot(labels, self.num_classes, dtype=x.dtype)
    embed = nn.Dense(width, use_bias=False, kernel_init=msr_init(1.0 / math.sqrt(width)),
                     name='embed')(onehot)
    return jnp.sum(x * embed, axis=-1)
