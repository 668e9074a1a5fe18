"""The SN-GAN "standard CNN" (Miyato et al. 2018, Table 3) and the CIFAR ResNet (Gulrajani et al.
2017, WGAN-GP; Miyato et al. 2018, Table 4) for 32x32 images.

sngan_cnn32 (the shapes of ../shared/bench/torch_reference.py): G dense 4x4x512, batch norm,
ReLU, transposed convs 4x4 stride 2 to 256, 128, 64 (each with batch norm and ReLU), conv 3x3 to
the output channels, tanh; D conv pairs 3x3 / 4x4-stride-2 at 64, 128, 256, conv 3x3 512, leaky
ReLU 0.1, dense 1.
resnet32: G dense 4x4x256, three up-sampling residual blocks at 256 channels (BN, ReLU, nearest
x2, conv 3x3, BN, ReLU, conv 3x3; shortcut x2 and conv 1x1), BN, ReLU, conv 3x3, tanh; D four
residual blocks at 128 channels (the first two down-sample by 2x2 average pooling, the first
being the "optimized" block on the image), ReLU, global sum pooling, dense 1.
Every D layer can be spectrally normalised (`spectral_norm`), as in SN-GAN.
"""
from typing import ClassVar, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import (STRIDED_CONVS, ConvTranspose, Discriminator, Generator,
                                   SpectralNormed, normalization)

BN_MOMENTUM, BN_EPSILON = 0.9, 1e-5  # PyTorch's BatchNorm defaults, as the references use.


class SNGANGenerator(Generator):
  RUNLOCAL: ClassVar[dict] = {'base_features': 32}
  output_shape: Sequence[int] = (32, 32, 3)
  base_features: int = 512

  @nn.compact
  def __call__(self, z_BxZ: jax.Array, train: bool, labels=None) -> jax.Array:
    h, w, c = self.output_shape
    f = self.base_features
    bn = lambda: self.normalization(train, labels, BN_MOMENTUM, BN_EPSILON)
    sn = self.sn(train)
    x = sn(nn.Dense(h // 8 * w // 8 * f))(z_BxZ)
    x = nn.relu(bn()(x)).reshape(-1, h // 8, w // 8, f)
    for features in (f // 2, f // 4, f // 8):
      x = sn(ConvTranspose(features, (4, 4), (2, 2)))(x)
      x = nn.relu(bn()(x))
    return jnp.tanh(sn(nn.Conv(c, (3, 3), padding=((1, 1), (1, 1))))(x))


class SNGANDiscriminator(Discriminator):
  """SN-GAN's standard CNN D. `strided_conv` computes its three 4x4 stride-2 convolutions
  directly (nn.Conv) or in space-to-depth form (layers.SpaceToDepthConv): the same function of
  the same parameters. The convolutions are named Conv_0 ... Conv_6 explicitly (what flax's
  auto-naming gives nn.Conv), so the parameter tree and its initial values do not depend on the
  choice and checkpoints are interchangeable."""
  CHOICES: ClassVar[dict] = {**Discriminator.CHOICES, 'strided_conv': tuple(STRIDED_CONVS)}
  RUNLOCAL: ClassVar[dict] = {'base_features': 8}
  base_features: int = 64
  leaky_slope: float = 0.1
  # direct | space_to_depth (the 4x4 stride-2 layers' form); space_to_depth made the whole update
  # 1.117x faster on a 2-core AMD EPYC (docs/space_to_depth.md).
  strided_conv: str = 'space_to_depth'

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool, labels=None):
    sn = self.sn(train)
    act = lambda x: nn.leaky_relu(x, self.leaky_slope)
    pad = ((1, 1), (1, 1))
    strided = STRIDED_CONVS[self.strided_conv]
    f, x = self.base_features, x_BxHxWxC
    for i, features in enumerate((f, 2 * f, 4 * f)):
      x = act(sn(nn.Conv(features, (3, 3), padding=pad, name=f'Conv_{2 * i}'))(x))
      x = act(sn(strided(features, (4, 4), (2, 2), padding=pad, name=f'Conv_{2 * i + 1}'))(x))
    x = act(sn(nn.Conv(8 * f, (3, 3), padding=pad, name='Conv_6'))(x))
    return self.head(x.reshape(x.shape[0], -1), labels, train)


def _upsample(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _downsample(x):
  return nn.avg_pool(x, (2, 2), (2, 2))


class ResBlockUp(Generator):
  features: int = 256

  @nn.compact
  def __call__(self, x, train, labels=None):
    bn = lambda: self.normalization(train, labels, BN_MOMENTUM, BN_EPSILON)
    sn = self.sn(train)
    h = nn.relu(bn()(x))
    h = sn(nn.Conv(self.features, (3, 3), padding=((1, 1), (1, 1))))(_upsample(h))
    h = nn.relu(bn()(h))
    h = sn(nn.Conv(self.features, (3, 3), padding=((1, 1), (1, 1))))(h)
    return h + sn(nn.Conv(self.features, (1, 1)))(_upsample(x))


class ResBlockDown(SpectralNormed, nn.Module):
  features: int
  down: bool
  first: bool  # The "optimized" first block: no ReLU before its first conv.
  spectral_norm: bool
  sn_power_iterations: int

  @nn.compact
  def __call__(self, x, train):
    sn = self.sn(train)
    conv = lambda k: sn(nn.Conv(self.features, (k, k), padding=((k // 2,) * 2,) * 2))
    h = x if self.first else nn.relu(x)
    h = conv(3)(h)
    h = conv(3)(nn.relu(h))
    if self.down:
      h = _downsample(h)
    if self.first:
      shortcut = conv(1)(_downsample(x))
    elif self.down or x.shape[-1] != self.features:
      shortcut = conv(1)(x)
      shortcut = _downsample(shortcut) if self.down else shortcut
    else:
      shortcut = x
    return h + shortcut


class ResNetGenerator(Generator):
  RUNLOCAL: ClassVar[dict] = {'features': 16}
  output_shape: Sequence[int] = (32, 32, 3)
  features: int = 256

  @nn.compact
  def __call__(self, z_BxZ: jax.Array, train: bool, labels=None) -> jax.Array:
    h, w, c = self.output_shape
    sn = self.sn(train)
    x = sn(nn.Dense(h // 8 * w // 8 * self.features))(z_BxZ).reshape(-1, h // 8, w // 8,
                                                                      self.features)
    for _ in range(3):
      x = ResBlockUp(norm=self.norm, spectral_norm=self.spectral_norm,
                     sn_power_iterations=self.sn_power_iterations, bn_axis_name=self.bn_axis_name,
                     num_classes=self.num_classes, features=self.features)(x, train, labels)
    x = nn.relu(normalization(train, None, 0, BN_MOMENTUM, BN_EPSILON, self.bn_axis_name,
                              self.norm)(x))  # Unconditional, as in SN-GAN's ResNet G.
    return jnp.tanh(sn(nn.Conv(c, (3, 3), padding=((1, 1), (1, 1))))(x))


class ResNetDiscriminator(Discriminator):
  RUNLOCAL: ClassVar[dict] = {'features': 8}
  features: int = 128

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool, labels=None):
    x = x_BxHxWxC
    for i, down in enumerate((True, True, False, False)):
      x = ResBlockDown(self.features, down, i == 0, self.spectral_norm,
                       self.sn_power_iterations)(x, train)
    x = jnp.sum(nn.relu(x), axis=(1, 2))
    return self.head(x, labels, train)
