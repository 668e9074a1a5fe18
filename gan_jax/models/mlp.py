"""The fully connected GAN of Goodfellow et al. (2014), "Generative Adversarial Nets".

As in the paper's MNIST model (pylearn2 `mnist.yaml` in goodfeli/adversarial): G has two
ReLU layers of 1200 units; D has two maxout layers of 240 units with 5 pieces each, with dropout
(0.2 on the input, 0.5 on hidden layers), and a single logit. The paper's sigmoid output is a tanh
here so that G's outputs lie in [-1, 1] like the scaled data.
"""
from typing import ClassVar, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.models.layers import G_NORMS, Discriminator, normalization


OUTPUT_ACTIVATIONS = {'tanh': jnp.tanh, 'linear': lambda x: x}


class MLPGenerator(nn.Module):
  """`output_activation`: 'tanh' for images in [-1, 1], 'linear' for unbounded data (2-D points).

  `norm`: 'batch' puts batch norm (epsilon 1e-5) before each hidden ReLU (hidden layers then have
  no bias), as in the generator of VEEGAN's and PacGAN's 2-D experiments; 'layer' a layer norm
  there; 'none' neither. A conditional MLP G conditions on the one-hot class beside z, not through
  its normalisation (so model.conditional accepts any `norm`).
  """
  CHOICES: ClassVar[dict] = {'output_activation': tuple(OUTPUT_ACTIVATIONS), 'norm': G_NORMS}
  RUNLOCAL: ClassVar[dict] = {'hidden': (32, 32)}
  CONDITIONS_THROUGH_NORM: ClassVar[bool] = False
  output_shape: Sequence[int] = (28, 28, 1)
  hidden: Sequence[int] = (1200, 1200)
  output_activation: str = 'tanh'
  norm: str = 'none'
  bn_momentum: float = 0.95  # PacGAN's running-average rate 0.05.
  bn_axis_name: Optional[str] = None  # Set by the library: batch statistics over this axis.
  num_classes: int = 0  # Set by the library: > 0 conditions G on the one-hot class, beside z.

  @nn.compact
  def __call__(self, z_BxZ: jax.Array, train: bool, labels=None) -> jax.Array:
    x = z_BxZ
    if self.num_classes:
      x = jnp.concatenate([x, jax.nn.one_hot(labels, self.num_classes)], axis=-1)
    for units in self.hidden:
      x = nn.Dense(units, use_bias=self.norm == 'none')(x)
      x = normalization(train, None, 0, self.bn_momentum, 1e-5, self.bn_axis_name, self.norm)(x)
      x = nn.relu(x)
    x = nn.Dense(int(np.prod(self.output_shape)))(x)
    return OUTPUT_ACTIVATIONS[self.output_activation](x).reshape(x.shape[0], *self.output_shape)


class MLPDiscriminator(Discriminator):
  """`spectral_norm`: every dense layer spectrally normalised (layers.spectral)."""
  RUNLOCAL: ClassVar[dict] = {'hidden': (16,)}
  hidden: Sequence[int] = (240, 240)
  maxout_pieces: int = 5
  input_dropout: float = 0.2
  dropout: float = 0.5

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, train: bool, labels=None):
    sn = self.sn(train)
    x = x_BxHxWxC.reshape(x_BxHxWxC.shape[0], -1)
    x = self.example_dropout(self.input_dropout)(x, deterministic=not train)
    for units in self.hidden:
      x = sn(nn.Dense(units * self.maxout_pieces))(x)
      x = jnp.max(x.reshape(x.shape[0], units, self.maxout_pieces), axis=-1)
      x = self.example_dropout(self.dropout)(x, deterministic=not train)
    return self.head(x, labels, train)
