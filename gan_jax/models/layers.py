"""Layers shared by the architectures.

`ConvTranspose` computes exactly the function of `flax.linen.ConvTranspose` (padding 'SAME',
`transpose_kernel=False`) from the same parameters, but as one ordinary stride-1 convolution
followed by depth-to-space ("sub-pixel" form). XLA on the CPU computes the kernel gradient of a
strided transposed convolution (an lhs-dilated convolution) very slowly; the sub-pixel form
avoids the dilation entirely and is much faster there, and no slower on accelerators.

Derivation (one spatial dimension, kernel size k, stride s). `lax.conv_transpose` with 'SAME'
padding dilates the input by s, pads it by (a, b) with a = k - 1 if s > k - 1 else ceil((k+s-2)/2),
and correlates with the unflipped kernel w:

    y[o] = sum_j xdil[o + j - a] w[j],   xdil[p] = x[p / s] if p % s == 0 else 0.

Writing o = s*m + r (phase r in [0, s)), only taps j with (r + j - a) % s == 0 contribute, each
reading x[m + d] with offset d = (r + j - a) // s. So output phase r is an ordinary stride-1
correlation of the undilated x with a small kernel holding those taps at their offsets. All s*s
phases (in 2D) stack as output channels of one convolution whose kernel spans the union of the
offsets; depth-to-space interleaves them back to s*n outputs.

`SpaceToDepthConv` is the converse for strided convolutions: flax.linen.Conv's function from the
same parameters, as space-to-depth of the padded input followed by one stride-1 convolution
(derivation in its docstring). Its backward pass has no lhs-dilated input gradient.
"""
from typing import Any, Callable, ClassVar, Sequence, Union

import flax.linen as nn
from flax.linen.linear import canonicalize_padding
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import streams


def _same_pad_before(k: int, s: int) -> int:
  """Leading padding of lax.conv_transpose(padding='SAME') for one dimension."""
  return k - 1 if s > k - 1 else int(np.ceil((k + s - 2) / 2))


def _phase_taps(k: int, s: int):
  """Per phase r: list of (tap j, input offset d); plus the overall offset range."""
  a = _same_pad_before(k, s)
  taps = [[(j, (r + j - a) // s) for j in range(k) if (r + j - a) % s == 0] for r in range(s)]
  offsets = [d for phase in taps for _, d in phase]
  return taps, min(offsets), max(offsets)


def subpixel_kernel(kernel_HxWxIxO: jax.Array, strides: Sequence[int]) -> jax.Array:
  """Rearranges a transposed-conv kernel into the stride-1 kernel of its sub-pixel form.

  Returns a kernel of shape (KH', KW', I, sh*sw*O) whose output channels are ordered
  (phase_h, phase_w, O), matching `depth_to_space`.
  """
  kh, kw, cin, cout = kernel_HxWxIxO.shape
  sh, sw = strides
  taps_h, lo_h, hi_h = _phase_taps(kh, sh)
  taps_w, lo_w, hi_w = _phase_taps(kw, sw)
  # A static gather: index kh*kw selects an appended zero tap.
  flat = jnp.concatenate(
      [kernel_HxWxIxO.reshape(kh * kw, cin, cout), jnp.zeros((1, cin, cout), kernel_HxWxIxO.dtype)])
  index = np.full((hi_h - lo_h + 1, hi_w - lo_w + 1, sh, sw), kh * kw, dtype=np.int32)
  for rh in range(sh):
    for jh, dh in taps_h[rh]:
      for rw in range(sw):
        for jw, dw in taps_w[rw]:
          index[dh - lo_h, dw - lo_w, rh, rw] = jh * kw + jw
  gathered = flat[index]  # (KH', KW', sh, sw, I, O)
  gathered = jnp.transpose(gathered, (0, 1, 4, 2, 3, 5))
  return gathered.reshape(hi_h - lo_h + 1, hi_w - lo_w + 1, cin, sh * sw * cout)


def subpixel_padding(kernel_size: Sequence[int], strides: Sequence[int]):
  pads = []
  for k, s in zip(kernel_size, strides):
    _, lo, hi = _phase_taps(k, s)
    pads.append((-lo, hi))
  return pads


def depth_to_space(x_BxHxWxC: jax.Array, sh: int, sw: int) -> jax.Array:
  b, h, w, c = x_BxHxWxC.shape
  cout = c // (sh * sw)
  x = x_BxHxWxC.reshape(b, h, w, sh, sw, cout)
  x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))
  return x.reshape(b, h * sh, w * sw, cout)


class ConvTranspose(nn.Module):
  """2D transposed convolution, 'SAME' padding, in sub-pixel form (see module docstring).

  Parameters are named and shaped as in `flax.linen.ConvTranspose` (kernel: (KH, KW, I, O)),
  so the two are interchangeable.
  """
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  use_bias: bool = True
  dtype: Any = None
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array) -> jax.Array:
    kh, kw = self.kernel_size
    sh, sw = self.strides
    kernel = self.param('kernel', self.kernel_init, (kh, kw, x_BxHxWxC.shape[-1], self.features))
    dtype = self.dtype or x_BxHxWxC.dtype
    k = subpixel_kernel(kernel, (sh, sw)).astype(dtype)
    y = jax.lax.conv_general_dilated(
        x_BxHxWxC.astype(dtype), k, window_strides=(1, 1),
        padding=subpixel_padding((kh, kw), (sh, sw)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    y = depth_to_space(y, sh, sw)
    if self.use_bias:
      bias = self.param('bias', self.bias_init, (self.features,))
      y = y + bias.astype(dtype)
    return y


def space_to_depth(x_BxHxWxC: jax.Array, sh: int, sw: int) -> jax.Array:
  """(B, H, W, C) -> (B, H/sh, W/sw, sh*sw*C), channels ordered (row phase, column phase, C):
  out[b, i, j, (rh*sw + rw)*C + c] = x[b, sh*i + rh, sw*j + rw, c]. The inverse of
  `depth_to_space`; H and W must be multiples of sh and sw."""
  b, h, w, c = x_BxHxWxC.shape
  x = x_BxHxWxC.reshape(b, h // sh, sh, w // sw, sw, c)
  x = jnp.transpose(x, (0, 1, 3, 2, 4, 5))
  return x.reshape(b, h // sh, w // sw, sh * sw * c)


def space_to_depth_kernel(kernel_HxWxIxO: jax.Array, strides: Sequence[int]) -> jax.Array:
  """A strided conv's kernel (KH, KW, I, O) -> the stride-1 kernel of its space-to-depth form,
  (ceil(KH/sh), ceil(KW/sw), sh*sw*I, O): K'[u, v, (rh*sw + rw)*I + c, o] = W[sh*u + rh,
  sw*v + rw, c, o], zero where sh*u + rh >= KH or sw*v + rw >= KW. Input channels are ordered
  as `space_to_depth` orders them."""
  kh, kw, cin, cout = kernel_HxWxIxO.shape
  sh, sw = strides
  qh, qw = -(-kh // sh), -(-kw // sw)
  k = jnp.pad(kernel_HxWxIxO, ((0, sh * qh - kh), (0, sw * qw - kw), (0, 0), (0, 0)))
  k = jnp.transpose(k.reshape(qh, sh, qw, sw, cin, cout), (0, 2, 1, 3, 4, 5))
  return k.reshape(qh, qw, sh * sw * cin, cout)


def space_to_depth_padding(size: int, k: int, s: int, pad: Sequence[int]):
  """One dimension of SpaceToDepthConv: ((low, high) padding of the input, output size).

  The direct conv of a size-`size` input padded by `pad` = (lo, hi) has n = (P - k) // s + 1
  outputs, P = size + lo + hi. Its space-to-depth form with q = ceil(k / s) taps needs the
  padded length L = s * (n + q - 1) for exactly n outputs. Since P >= s*(n - 1) + k >
  s*(n + q - 2), L is the next multiple of s at or above P when P <= L (at most s*q - k <= s - 1
  extra zeros at the end); when P > L (that is, (P - k) % s > s*q - k) the high padding shrinks,
  trimming rows that no output of the direct conv reads (it reads up to s*(n - 1) + k - 1 <=
  L - 1). Either way output i < n reads rows s*i + a, a < s*q: those with a < k are the direct
  conv's own, the extra zero rows (a >= k) meet only the zero taps of the padded kernel.
  """
  lo, hi = pad
  n = (size + lo + hi - k) // s + 1
  if n < 1:
    raise ValueError(f'Convolution with kernel {k}, stride {s}, padding {tuple(pad)} of a '
                     f'size-{size} input has no output.')
  return (lo, s * (n + -(-k // s) - 1) - size - lo), n


class SpaceToDepthConv(nn.Module):
  """2-D strided convolution (flax.linen.Conv's function and parameters) in space-to-depth form.

  Parameters are named, shaped and initialised as flax.linen.Conv's (kernel (KH, KW, I, O),
  bias (O,)), so the two are interchangeable, spectral norm (`spectral`) included. `padding`
  is 'SAME', 'VALID', an int or per-dimension (low, high) pairs / ints, as for nn.Conv.

  Derivation (one spatial dimension, stride S, kernel size K, xpad the padded input):
      y[i] = sum_{a < K} xpad[S*i + a] W[a].
  Write a = S*u + r with r in [0, S) and u in [0, Q), Q = ceil(K/S), and let W[a] = 0 for
  a >= K (the zero-padded kernel). Then
      y[i] = sum_{u < Q} sum_{r < S} xpad[S*(i + u) + r] W[S*u + r]
           = sum_{u < Q} X[i + u] . K'[u],   X[m] = (xpad[S*m + r])_r,  K'[u] = (W[S*u + r])_r,
  a stride-1 VALID convolution of the space-to-depth input X (its S phases stacked on channels)
  with the rearranged kernel K' (`space_to_depth_kernel`). In 2-D the phases (rh, rw) stack as
  channels (rh*SW + rw)*I + c. The padded length is made S*(n + Q - 1) for n direct outputs
  (`space_to_depth_padding`), so the result is exactly the direct conv's output, no crop needed.
  With stride 1 it is the plain convolution.
  """
  features: int
  kernel_size: Sequence[int]  # (KH, KW): nn.Conv would read an int as a 1-D kernel.
  strides: Union[int, Sequence[int]] = (1, 1)  # An int: the same in both, as nn.Conv.
  padding: Any = 'SAME'
  use_bias: bool = True
  dtype: Any = None
  param_dtype: Any = jnp.float32
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()

  def pads(self, hw: Sequence[int]) -> list:
    """Per spatial dimension, the (low, high) padding of the space-to-depth form's input."""
    pads = canonicalize_padding(self.padding, 2)
    if isinstance(pads, str):
      if pads not in ('SAME', 'VALID'):
        raise ValueError(f'SpaceToDepthConv supports zero padding only, got {pads!r}.')
      pads = jax.lax.padtype_to_pads(tuple(hw), self.window(), self.steps(), pads)
    return [space_to_depth_padding(n, k, s, p)[0]
            for n, k, s, p in zip(hw, self.window(), self.steps(), pads)]

  def window(self) -> tuple:
    if isinstance(self.kernel_size, int):
      raise ValueError(f'SpaceToDepthConv needs kernel_size as a pair (KH, KW), got '
                       f'{self.kernel_size!r} (nn.Conv would read an int as a 1-D kernel).')
    return _pair(self.kernel_size, 'kernel_size')

  def steps(self) -> tuple:
    return _pair(self.strides, 'strides')

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array) -> jax.Array:
    kh, kw = self.window()
    sh, sw = self.steps()
    kernel = self.param('kernel', self.kernel_init, (kh, kw, x_BxHxWxC.shape[-1], self.features),
                        self.param_dtype)
    bias = (self.param('bias', self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias else None)
    x, kernel, bias = nn.dtypes.promote_dtype(x_BxHxWxC, kernel, bias, dtype=self.dtype)
    pads = self.pads(x.shape[1:3])
    zero = jnp.zeros((), x.dtype)
    x = jax.lax.pad(x, zero, [(0, 0, 0), (*pads[0], 0), (*pads[1], 0), (0, 0, 0)])
    y = jax.lax.conv_general_dilated(
        space_to_depth(x, sh, sw), space_to_depth_kernel(kernel, (sh, sw)), window_strides=(1, 1),
        padding='VALID', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return y if bias is None else y + bias


def _pair(v, name: str) -> tuple:
  """An int n as (n, n); a pair as a tuple of ints (ValueError naming the field otherwise)."""
  pair = (v, v) if isinstance(v, int) else tuple(v)
  if len(pair) != 2 or not all(isinstance(n, int) and n > 0 for n in pair):
    raise ValueError(f'SpaceToDepthConv {name} must be a positive int or a pair of them, got '
                     f'{v!r}.')
  return pair


STRIDED_CONVS = {'direct': nn.Conv, 'space_to_depth': SpaceToDepthConv}  # name -> module class


def spectral(enabled: bool, train: bool, power_iterations: int = 1) -> Callable:
  """layer -> `layer` as a callable, spectrally normalised when `enabled` (Miyato et al. 2018).

  flax.linen.SpectralNorm: the kernel (reshaped to a matrix (prod of leading dims, out)) is
  divided by its largest singular value, estimated by `power_iterations` steps of power iteration
  per call, whose vector `u` (and the estimate `sigma`) live in the 'batch_stats' collection and
  advance only in training.
  """
  def wrap(layer: nn.Module):
    if not enabled:
      return layer
    wrapped = nn.SpectralNorm(layer, n_steps=power_iterations)
    return lambda x: wrapped(x, update_stats=train)
  return wrap


class SpectralNormed:
  """The `sn(train)` of a module with fields `spectral_norm` and `sn_power_iterations`: layer ->
  layer, spectrally normalised when `spectral_norm` (see `spectral`)."""

  def sn(self, train: bool) -> Callable:
    return spectral(self.spectral_norm, train, self.sn_power_iterations)


class ConditionalBatchNorm(nn.Module):
  """Batch norm whose scale and offset are looked up per class (de Vries et al. 2017; used by the
  class-conditional generators of SN-GAN / projection cGANs and BigGAN)."""
  num_classes: int
  momentum: float = 0.99
  epsilon: float = 1e-3
  axis_name: Any = None

  @nn.compact
  def __call__(self, x, labels_B, train: bool):
    x = nn.BatchNorm(use_running_average=not train, momentum=self.momentum, epsilon=self.epsilon,
                     axis_name=self.axis_name, use_scale=False, use_bias=False)(x)
    c = x.shape[-1]
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (c,)
    gamma = nn.Embed(self.num_classes, c, embedding_init=nn.initializers.ones, name='scale')(
        labels_B)
    beta = nn.Embed(self.num_classes, c, embedding_init=nn.initializers.zeros, name='offset')(
        labels_B)
    return x * gamma.reshape(shape) + beta.reshape(shape)


G_NORMS = ('batch', 'layer', 'none')  # The generators' `norm` field.


def normalization(train: bool, labels, num_classes: int, momentum: float, epsilon: float,
                  axis_name=None, kind: str = 'batch'):
  """x -> the generator's normalisation `kind` (one of G_NORMS, checked by configs.validate):
  BatchNorm(x), or ConditionalBatchNorm(x, labels) when `num_classes` > 0; LayerNorm (per sample)
  for 'layer'; the identity for 'none'."""
  if kind == 'layer':
    return nn.LayerNorm(epsilon=epsilon)
  if kind == 'none':
    return lambda x: x
  if num_classes:
    cbn = ConditionalBatchNorm(num_classes, momentum, epsilon, axis_name)
    return lambda x: cbn(x, labels, train)
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=epsilon,
                      axis_name=axis_name)


D_CONDITIONINGS = ('projection', 'acgan')


def d_output(h_BxF, labels_B, num_classes: int, conditioning: str, sn: Any):
  """D's head on its features h: the logit, plus for a conditional D either the projection term
  <embed(y), h> (Miyato & Koyama 2018) or, for ACGAN (Odena et al. 2017), class logits returned
  beside the logit as (logits_B, class_logits_BxK). `sn` wraps layers (spectral norm or not);
  `conditioning` is one of D_CONDITIONINGS (checked by configs.validate)."""
  logits = sn(nn.Dense(1))(h_BxF)[:, 0]
  if not num_classes:
    return logits
  if conditioning == 'acgan':
    return logits, sn(nn.Dense(num_classes, name='classifier'))(h_BxF)
  embed = sn(nn.Embed(num_classes, h_BxF.shape[-1], name='projection'))
  return logits + jnp.sum(embed(labels_B) * h_BxF, axis=-1)


class Dropout(nn.Module):
  """Dropout whose mask of row b is drawn from fold_in(key, global index of b) (streams.py), so a
  data-parallel run drops the same units of each example on any number of devices. `axis_name`:
  the mesh axis the batch is split over (None: one device); in training the 'dropout' rng is used.
  """
  rate: float
  axis_name: Any = None

  @nn.compact
  def __call__(self, x, deterministic: bool):
    if deterministic or self.rate == 0.0:
      return x
    if self.rate == 1.0:
      return jnp.zeros_like(x)
    keep = 1.0 - self.rate
    keys = streams.example_keys(self.make_rng('dropout'), x.shape[0], self.axis_name)
    mask = streams.draw_each(keys, lambda k: jax.random.bernoulli(k, keep, x.shape[1:]))
    return jnp.where(mask, x / keep, jnp.zeros_like(x))


class Discriminator(SpectralNormed, nn.Module):
  """Fields every discriminator shares: spectral norm of all its layers, and class conditioning
  (set by the library from model.conditional / model.d_conditioning).

  A registered module declares, as class variables, `CHOICES` (field -> its valid values, checked
  by configs.validate) and `RUNLOCAL` (field -> its small value in an experiment's `:runlocal`).
  """
  CHOICES: ClassVar[dict] = {}
  RUNLOCAL: ClassVar[dict] = {}
  spectral_norm: bool = False
  sn_power_iterations: int = 1
  num_classes: int = 0  # Set by the library: > 0 makes D class-conditional ...
  conditioning: str = 'projection'  # ... by projection or an ACGAN classifier (d_output).
  example_axis_name: Any = None  # Set by the library: the batch's mesh axis (Dropout).

  def example_dropout(self, rate: float):
    """A Dropout layer keyed per example over the batch's mesh axis."""
    return Dropout(rate, self.example_axis_name)

  def head(self, h_BxF, labels, train: bool):
    return d_output(h_BxF, labels, self.num_classes, self.conditioning, self.sn(train))


class Generator(SpectralNormed, nn.Module):
  """Fields the convolutional generators share: their normalisation, optional spectral norm of
  every layer (as some SN-GAN variants use in G too), and the library-set batch-norm axis and
  class count (conditional batch norm when > 0: `CONDITIONS_THROUGH_NORM`, so model.conditional
  needs norm='batch'). `CHOICES` and `RUNLOCAL` as in Discriminator."""
  CHOICES: ClassVar[dict] = {'norm': G_NORMS}
  RUNLOCAL: ClassVar[dict] = {}
  CONDITIONS_THROUGH_NORM: ClassVar[bool] = True
  norm: str = 'batch'  # batch (conditional when num_classes > 0) | layer | none.
  spectral_norm: bool = False
  sn_power_iterations: int = 1
  bn_axis_name: Any = None  # Set by the library: batch statistics over this mesh axis.
  num_classes: int = 0  # Set by the library: > 0 makes G class-conditional.

  def normalization(self, train: bool, labels, momentum: float, epsilon: float):
    return normalization(train, labels, self.num_classes, momentum, epsilon, self.bn_axis_name,
                         self.norm)


def _shift_pad(x, axis: int):
  """x zero-padded by one element at both ends of `axis`."""
  pads = [(0, 0)] * x.ndim
  pads[axis] = (1, 1)
  return jnp.pad(x, pads)


def _take(x, axis: int, start: int, stop: int, step: int = 1):
  return jax.lax.slice_in_dim(x, start, stop, step, axis)


def bilinear_upsample2x(x_BxHxWxC: jax.Array) -> jax.Array:
  """(B, H, W, C) -> (B, 2H, 2W, C): StyleGAN2's / R3GAN's upfirdn2d.upsample2d with the
  [1, 3, 3, 1] filter (R3GAN's [1, 2, 1] convolved with [1, 1]), normalised, gain 4, zero
  padding. Per axis, separably: y[2i] = (x[i-1] + 3 x[i]) / 4, y[2i+1] = (3 x[i] + x[i+1]) / 4,
  x[-1] = x[n] = 0 (bilinear interpolation at half-pixel offsets)."""
  x = x_BxHxWxC
  for axis in (1, 2):
    n, xp = x.shape[axis], _shift_pad(x, axis)
    prev, cur, nxt = _take(xp, axis, 0, n), _take(xp, axis, 1, n + 1), _take(xp, axis, 2, n + 2)
    pair = jnp.stack([(prev + 3.0 * cur) / 4.0, (3.0 * cur + nxt) / 4.0], axis=axis + 1)
    x = pair.reshape(*x.shape[:axis], 2 * n, *x.shape[axis + 1:])
  return x


def bilinear_downsample2x(x_BxHxWxC: jax.Array) -> jax.Array:
  """(B, H, W, C) -> (B, H/2, W/2, C), H and W even: upfirdn2d.downsample2d with the [1, 3, 3, 1]
  filter, normalised, zero padding (1, 1). Per axis: y[j] = (x[2j-1] + 3 x[2j] + 3 x[2j+1] +
  x[2j+2]) / 8, x[-1] = x[n] = 0."""
  x = x_BxHxWxC
  for axis in (1, 2):
    n, xp = x.shape[axis], _shift_pad(x, axis)
    taps = [_take(xp, axis, j, j + n - 1, 2) for j in range(4)]
    x = (taps[0] + 3.0 * taps[1] + 3.0 * taps[2] + taps[3]) / 8.0
  return x


def block_diagonal_kernel(kernel_HxWxIgxO: jax.Array, groups: int) -> jax.Array:
  """A grouped convolution's kernel (KH, KW, I/groups, O) as the dense kernel (KH, KW, I, O) of
  the same convolution: input channel i reaches output o only when both lie in the same group
  (i // (I/groups) == o // (O/groups)), with the grouped kernel's weight; 0 elsewhere."""
  kh, kw, cin_g, cout = kernel_HxWxIgxO.shape
  k = kernel_HxWxIgxO.reshape(kh, kw, cin_g, groups, cout // groups)
  full = jnp.einsum('abihj,gh->abgihj', k, jnp.eye(groups, dtype=k.dtype))
  return full.reshape(kh, kw, groups * cin_g, cout)


class BlockDiagonalConv(nn.Module):
  """flax.linen.Conv with `feature_group_count` (parameters named, shaped and initialised as its:
  kernel (KH, KW, I/groups, O), no bias), computed as one dense convolution with the
  block-diagonal kernel (`block_diagonal_kernel`): groups x the multiply-adds, but XLA:CPU's
  grouped-convolution gradients are far slower (an R1-like double backward of a 3x3, 128-channel,
  8-group conv on 32x28x28: 7.3 s grouped, 0.64 s block-diagonal on a 2-core Intel Xeon).
  Stride 1, zero padding `padding` as nn.Conv's (pairs per dimension or 'SAME')."""
  features: int
  kernel_size: Sequence[int]
  groups: int
  padding: Any = 'SAME'
  kernel_init: Any = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array) -> jax.Array:
    kh, kw = self.kernel_size
    kernel = self.param('kernel', self.kernel_init,
                        (kh, kw, x_BxHxWxC.shape[-1] // self.groups, self.features))
    kernel = block_diagonal_kernel(kernel, self.groups).astype(x_BxHxWxC.dtype)
    return jax.lax.conv_general_dilated(x_BxHxWxC, kernel, (1, 1), self.padding,
                                        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
