"""DCGAN for 28x28x1 images, as in the TensorFlow DCGAN tutorial.

G: dense 7*7*256 (no bias), batch norm, leaky ReLU; transposed convs 5x5 to 128 (stride 1),
64 (stride 2), each with batch norm and leaky ReLU; a 5x5 stride-2 transposed conv to the output
channels; tanh. D: convs 5x5 stride 2 to 64 and 128, each with leaky ReLU; dense 1.
https://www.tensorflow.org/tutorials/generative/dcgan

The tutorial's D also applies dropout 0.3 after each conv; here `dropout` defaults to 0 (as in
DCGAN's paper and the PyTorch reference of ../shared/bench), since on mnist5k the D without it gave
sharper digits for the same training time (docs/main_job.md). Set it to 0.3 for the tutorial's D.
"""
from typing import ClassVar, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.layers import ConvTranspose, Discriminator, Generator


class DCGANGenerator(Generator):
  RUNLOCAL: ClassVar[dict] = {'base_features': 16}
  output_shape: Sequence[int] = (28, 28, 1)
  base_features: int = 256
  leaky_slope: float = 0.3  # Keras LeakyReLU's default, as the tutorial uses.
  bn_momentum: float = 0.99  # Keras BatchNormalization's default.

  @nn.compact
  def __call__(self, z_BxZ: jax.Array, train: bool, labels=None) -> jax.Array:
    h, w, c = self.output_shape
    h0, w0 = h // 4, w // 4
    f = self.base_features
    bn = lambda: self.normalization(train, labels, self.bn_momentum, 1e-3)
    sn = self.sn(train)
    act = lambda x: nn.leaky_relu(x, self.leaky_slope)
    x = sn(nn.Dense(h0 * w0 * f, use_bias=False))(z_BxZ)
    x = act(bn()(x))
    x = x.reshape(x.shape[0], h0, w0, f)
    x = sn(ConvTranspose(f // 2, (5, 5), (1, 1), use_bias=False))(x)
    x = act(bn()(x))
    x = sn(ConvTranspose(f // 4, (5, 5), (2, 2), use_bias=False))(x)
    x = act(bn()(x))
    x = sn(ConvTranspose(c, (5, 5), (2, 2), use_bias=False))(x)
    return jnp.tanh(x)


class DCGANDiscriminator(Discriminator):
  """`spectral_norm`: every conv and dense layer spectrally normalised (layers.spectral)."""
  RUNLOCAL: ClassVar[dict] = {'base_features': 8}
  base_features: int = 64
  leaky_slope: float = 0.3
  dropout: float = 0.0

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool, labels=None):
    f = self.base_features
    sn = self.sn(train)
    x = x_BxHxWxC
    for features in (f, 2 * f):
      x = sn(nn.Conv(features, (5, 5), (2, 2), padding='SAME'))(x)
      x = nn.leaky_relu(x, self.leaky_slope)
      x = self.example_dropout(self.dropout)(x, deterministic=not train)
    x = x.reshape(x.shape[0], -1)
    return self.head(x, labels, train)
