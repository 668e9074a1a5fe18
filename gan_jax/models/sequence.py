"""Character-level convolutional ResNets for token sequences (Gulrajani et al. 2017, "Improved
Training of Wasserstein GANs", section 5.2, their code gan_language.py).

Sequences have length L over a vocabulary of V tokens; real ones reach D one-hot, as float32
arrays (B, L, V), and G outputs a distribution over the V tokens at each position, (B, L, V).

G ('conv1d_resnet'): dense z -> L*dim, reshaped to (B, L, dim); `num_blocks` residual blocks;
a kernel-1 convolution to V logits per position; the output distribution (`output`, below).
D ('conv1d_resnet'): a kernel-1 convolution V -> dim; `num_blocks` residual blocks; flattened to
(B, L*dim); the discriminators' head (a dense logit, or the conditional D's projection / ACGAN
terms, layers.d_output). A residual block maps x to
x + residual_scale * conv5(relu(conv5(relu(x)))), conv5 a kernel-5 'SAME' convolution dim -> dim
with bias; residual_scale 0.3 as in the paper's code.

The paper's settings: dim 512, 5 blocks in G and in D, sequences of 32 characters, 128-d normal
latents, WGAN-GP with lambda 10 and 10 critic steps per G step, Adam lr 1e-4, betas (0.5, 0.9),
batch 64. Every layer of D (and of G) can be spectrally normalised (`spectral_norm`).

`output`: 'softmax' is Gulrajani's: D sees G's per-position softmax, a continuous relaxation of
the one-hot data. 'gumbel' is the Gumbel-softmax of RelGAN (Nie et al. 2019): in training,
softmax((logits + g) / gumbel_temperature) with g i.i.d. Gumbel(0, 1) noise drawn from the
'dropout' rng stream (the update step passes one to G); as the temperature falls each row tends
to the one-hot of the Gumbel-max sample, a draw from softmax(logits). In evaluation
(train=False) both give softmax(logits), so sampling a token from G's output distribution is
exactly the Gumbel-max sample. `gumbel_anneal_steps` > 0 anneals the temperature as RelGAN does
(its exponential schedule, inverse temperature beta_t = beta_max^(t/N)): tau_t =
gumbel_temperature^min(t / gumbel_anneal_steps, 1), from 1 at step 0 down to gumbel_temperature.
G then keeps a 'schedule' collection, {'step': t}, which the update step sets to the training
step before G runs (step.py); 0 keeps the temperature fixed.

A class-conditional G (num_classes > 0, set by the library) takes the one-hot class beside z.
"""
from typing import Any, ClassVar, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax import streams
from gan_jax.models.layers import Discriminator, SpectralNormed

OUTPUTS = ('softmax', 'gumbel')  # SequenceGenerator.output.
KERNEL_SIZE = 5  # The residual blocks' convolutions.


class ResBlock1D(SpectralNormed, nn.Module):
  """x_BxLxF -> x + residual_scale * conv(relu(conv(relu(x)))), convolutions of kernel
  `kernel_size`, 'SAME' padding, F -> F channels with bias (gan_language.py's ResBlock)."""
  residual_scale: float = 0.3
  kernel_size: int = KERNEL_SIZE
  spectral_norm: bool = False
  sn_power_iterations: int = 1

  @nn.compact
  def __call__(self, x_BxLxF: jax.Array, train: bool) -> jax.Array:
    sn = self.sn(train)
    conv = lambda: sn(nn.Conv(x_BxLxF.shape[-1], (self.kernel_size,), padding='SAME'))
    h = conv()(nn.relu(x_BxLxF))
    h = conv()(nn.relu(h))
    return x_BxLxF + self.residual_scale * h


class SequenceGenerator(SpectralNormed, nn.Module):
  """G(z_BxZ, train, labels=None) -> per-position token distributions (B, L, V), with
  (L, V) = `output_shape` (set by the library from the data). `output` and `gumbel_temperature`:
  see the module docstring."""
  CHOICES: ClassVar[dict] = {'output': OUTPUTS}
  RUNLOCAL: ClassVar[dict] = {'dim': 16, 'num_blocks': 1}
  CONDITIONS_THROUGH_NORM: ClassVar[bool] = False  # One-hot class beside z; there is no norm.
  TAKES_TOKENS: ClassVar[bool] = True  # A sequence model (models.takes_tokens).
  POSITIVE: ClassVar[tuple] = ('dim', 'num_blocks', 'gumbel_temperature')  # Checked by validate.
  NON_NEGATIVE_INT: ClassVar[tuple] = ('gumbel_anneal_steps',)
  output_shape: Sequence[int] = (32, 32)  # (L, V).
  dim: int = 512
  num_blocks: int = 5
  output: str = 'softmax'
  gumbel_temperature: float = 1.0
  gumbel_anneal_steps: int = 0
  residual_scale: float = 0.3
  spectral_norm: bool = False
  sn_power_iterations: int = 1
  num_classes: int = 0  # Set by the library: > 0 conditions G on the one-hot class, beside z.
  example_axis_name: Any = None  # Set by the library: the batch's mesh axis (Gumbel noise).

  def _check(self) -> tuple[int, int]:
    if len(self.output_shape) != 2:
      raise ValueError(f'SequenceGenerator makes sequences: output_shape must be (length, '
                       f'vocabulary size), got {tuple(self.output_shape)}.')
    if self.output not in OUTPUTS:
      raise ValueError(f'Unknown output {self.output!r}; valid: {list(OUTPUTS)}.')
    if self.output == 'gumbel' and not self.gumbel_temperature > 0:
      raise ValueError(f'gumbel_temperature must be > 0, got {self.gumbel_temperature!r}.')
    length, vocab = self.output_shape
    return length, vocab

  def _logits(self, z_BxZ: jax.Array, train: bool, labels) -> jax.Array:
    """The logits (B, L, V) before the output distribution (called by __call__)."""
    length, vocab = self._check()
    sn = self.sn(train)
    x = z_BxZ
    if self.num_classes:
      x = jnp.concatenate([x, jax.nn.one_hot(labels, self.num_classes, dtype=x.dtype)], axis=-1)
    x = sn(nn.Dense(length * self.dim))(x).reshape(x.shape[0], length, self.dim)
    for _ in range(self.num_blocks):
      x = ResBlock1D(self.residual_scale, spectral_norm=self.spectral_norm,
                     sn_power_iterations=self.sn_power_iterations)(x, train)
    return sn(nn.Conv(vocab, (1,)))(x)

  @nn.compact
  def __call__(self, z_BxZ: jax.Array, train: bool, labels=None) -> jax.Array:
    logits = self._logits(z_BxZ, train, labels)
    # The distribution in float32 (Gumbel noise and softmax lose much in bfloat16), returned in
    # the computation dtype.
    logits32 = logits.astype(jnp.float32)
    temperature = self.temperature()
    if self.output == 'gumbel' and train:
      keys = streams.example_keys(self.make_rng('dropout'), logits32.shape[0],
                                  self.example_axis_name)  # Per example: any device count.
      noise = streams.draw_each(keys, lambda k: jax.random.gumbel(k, logits32.shape[1:]))
      logits32 = (logits32 + noise) / temperature
    return jax.nn.softmax(logits32, axis=-1).astype(logits.dtype)

  def temperature(self):
    """The Gumbel-softmax temperature of this training step (see the module docstring)."""
    if self.output != 'gumbel' or not self.gumbel_anneal_steps:
      return self.gumbel_temperature
    step = self.variable('schedule', 'step', lambda: jnp.zeros((), jnp.float32)).value
    return self.gumbel_temperature ** jnp.minimum(step / self.gumbel_anneal_steps, 1.0)


class SequenceDiscriminator(Discriminator):
  """D(x_BxLxV, train, labels=None) -> logits (B,) (or the conditional head's outputs), on
  one-hot or relaxed sequences. `spectral_norm`: every conv and dense layer spectrally
  normalised (layers.spectral)."""
  RUNLOCAL: ClassVar[dict] = {'dim': 16, 'num_blocks': 1}
  TAKES_TOKENS: ClassVar[bool] = True  # A sequence model (models.takes_tokens).
  POSITIVE: ClassVar[tuple] = ('dim', 'num_blocks')  # Checked by configs.validate.
  dim: int = 512
  num_blocks: int = 5
  residual_scale: float = 0.3

  @nn.compact
  def __call__(self, x_BxLxV: jax.Array, train: bool, labels=None):
    if x_BxLxV.ndim != 3:
      raise ValueError(f'SequenceDiscriminator takes sequences (B, L, V), got shape '
                       f'{x_BxLxV.shape}.')
    sn = self.sn(train)
    x = sn(nn.Conv(self.dim, (1,)))(x_BxLxV)
    for _ in range(self.num_blocks):
      x = ResBlock1D(self.residual_scale, spectral_norm=self.spectral_norm,
                     sn_power_iterations=self.sn_power_iterations)(x, train)
    x = x.reshape(x.shape[0], -1)
    return self.head(x, labels, train)
