"""InceptionV3 of the standard FID protocol, ported to Flax from pytorch-fid (mseitzer/pytorch-fid).

The network is the "FID Inception" of TensorFlow's original FID code as pytorch-fid builds it:
torchvision's InceptionV3 layout with its FID-specific blocks (average pools that exclude the
padding in Mixed_5b-d, 6b-e and 7b; a max pool in Mixed_7c's pool branch), batch norm with
eps 1e-3, and the 2048-d output of the final average pool. Inputs are resized to 299x299 by
bilinear interpolation with PyTorch's `align_corners=False` rule (no antialiasing) and scaled to
[-1, 1], as pytorch-fid does.

Weights come from a local .npz file (`eval.inception_weights`), made from pytorch-fid's weights
file by scripts/convert_inception_weights.py; it holds arrays under PyTorch's state-dict names and
is read with `allow_pickle=False`, so no user file is ever unpickled.
"""
import hashlib
import os
from typing import Optional, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

FEATURE_DIM = 2048
CONVERT_HELP = (
    'Get pytorch-fid\'s weights file pt_inception-2015-12-05-6726825d.pth (the release asset '
    'that pytorch-fid downloads), then convert it: `python scripts/convert_inception_weights.py '
    'pt_inception-2015-12-05-6726825d.pth inception_fid.npz` (needs torch), and set '
    '--config.eval.inception_weights=/abs/path/inception_fid.npz.')


class WeightsError(ValueError):
  """The weights file is missing or is not the FID InceptionV3's."""


class BasicConv2d(nn.Module):
  features: int
  kernel: Sequence[int]
  stride: int = 1
  padding: Sequence[int] = (0, 0)

  @nn.compact
  def __call__(self, x):
    ph, pw = self.padding
    x = nn.Conv(self.features, tuple(self.kernel), (self.stride, self.stride),
                padding=((ph, ph), (pw, pw)), use_bias=False, name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name='bn')(x)
    return nn.relu(x)


def _avg_pool_excluding_padding(x):
  return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv2d(64, (1, 1), name='branch1x1')(x)
    b5 = BasicConv2d(48, (1, 1), name='branch5x5_1')(x)
    b5 = BasicConv2d(64, (5, 5), padding=(2, 2), name='branch5x5_2')(b5)
    b3 = BasicConv2d(64, (1, 1), name='branch3x3dbl_1')(x)
    b3 = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
    b3 = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
    bp = BasicConv2d(self.pool_features, (1, 1), name='branch_pool')(
        _avg_pool_excluding_padding(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv2d(384, (3, 3), stride=2, name='branch3x3')(x)
    bd = BasicConv2d(64, (1, 1), name='branch3x3dbl_1')(x)
    bd = BasicConv2d(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = BasicConv2d(96, (3, 3), stride=2, name='branch3x3dbl_3')(bd)
    bp = nn.max_pool(x, (3, 3), (2, 2))
    return jnp.concatenate([b3, bd, bp], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c = self.channels_7x7
    b1 = BasicConv2d(192, (1, 1), name='branch1x1')(x)
    b7 = BasicConv2d(c, (1, 1), name='branch7x7_1')(x)
    b7 = BasicConv2d(c, (1, 7), padding=(0, 3), name='branch7x7_2')(b7)
    b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7_3')(b7)
    bd = BasicConv2d(c, (1, 1), name='branch7x7dbl_1')(x)
    bd = BasicConv2d(c, (7, 1), padding=(3, 0), name='branch7x7dbl_2')(bd)
    bd = BasicConv2d(c, (1, 7), padding=(0, 3), name='branch7x7dbl_3')(bd)
    bd = BasicConv2d(c, (7, 1), padding=(3, 0), name='branch7x7dbl_4')(bd)
    bd = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7dbl_5')(bd)
    bp = BasicConv2d(192, (1, 1), name='branch_pool')(_avg_pool_excluding_padding(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x):
    b3 = BasicConv2d(192, (1, 1), name='branch3x3_1')(x)
    b3 = BasicConv2d(320, (3, 3), stride=2, name='branch3x3_2')(b3)
    b7 = BasicConv2d(192, (1, 1), name='branch7x7x3_1')(x)
    b7 = BasicConv2d(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = BasicConv2d(192, (3, 3), stride=2, name='branch7x7x3_4')(b7)
    bp = nn.max_pool(x, (3, 3), (2, 2))
    return jnp.concatenate([b3, b7, bp], axis=-1)


class InceptionE(nn.Module):
  max_pool: bool  # FID's Mixed_7c (FIDInceptionE_2) max-pools; Mixed_7b averages.

  @nn.compact
  def __call__(self, x):
    b1 = BasicConv2d(320, (1, 1), name='branch1x1')(x)
    b3 = BasicConv2d(384, (1, 1), name='branch3x3_1')(x)
    b3 = jnp.concatenate([BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3_2a')(b3),
                          BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3_2b')(b3)],
                         axis=-1)
    bd = BasicConv2d(448, (1, 1), name='branch3x3dbl_1')(x)
    bd = BasicConv2d(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = jnp.concatenate([BasicConv2d(384, (1, 3), padding=(0, 1), name='branch3x3dbl_3a')(bd),
                          BasicConv2d(384, (3, 1), padding=(1, 0), name='branch3x3dbl_3b')(bd)],
                         axis=-1)
    pooled = (nn.max_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1))) if self.max_pool
              else _avg_pool_excluding_padding(x))
    bp = BasicConv2d(192, (1, 1), name='branch_pool')(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(nn.Module):
  """(N, 299, 299, 3) in [-1, 1] -> (N, 2048) pool features."""

  @nn.compact
  def __call__(self, x):
    x = BasicConv2d(32, (3, 3), stride=2, name='Conv2d_1a_3x3')(x)
    x = BasicConv2d(32, (3, 3), name='Conv2d_2a_3x3')(x)
    x = BasicConv2d(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
    x = nn.max_pool(x, (3, 3), (2, 2))
    x = BasicConv2d(80, (1, 1), name='Conv2d_3b_1x1')(x)
    x = BasicConv2d(192, (3, 3), name='Conv2d_4a_3x3')(x)
    x = nn.max_pool(x, (3, 3), (2, 2))
    x = InceptionA(32, name='Mixed_5b')(x)
    x = InceptionA(64, name='Mixed_5c')(x)
    x = InceptionA(64, name='Mixed_5d')(x)
    x = InceptionB(name='Mixed_6a')(x)
    for name, c in (('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160), ('Mixed_6e', 192)):
      x = InceptionC(c, name=name)(x)
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE(max_pool=False, name='Mixed_7b')(x)
    x = InceptionE(max_pool=True, name='Mixed_7c')(x)
    return x.mean(axis=(1, 2))


def _interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
  """(n_out, n_in) weights of PyTorch's bilinear resize with align_corners=False."""
  scale = n_in / n_out
  src = np.maximum((np.arange(n_out) + 0.5) * scale - 0.5, 0.0)
  lo = np.minimum(np.floor(src).astype(int), n_in - 1)
  hi = np.minimum(lo + 1, n_in - 1)
  frac = src - lo
  w = np.zeros((n_out, n_in))
  w[np.arange(n_out), lo] += 1.0 - frac
  w[np.arange(n_out), hi] += frac
  return w.astype(np.float32)


def preprocess(images_NxHxWxC) -> jax.Array:
  """Images in [-1, 1] (1 or 3 channels) -> (N, 299, 299, 3) as pytorch-fid feeds the network:
  values in [0, 1] resized like F.interpolate(bilinear, align_corners=False), then 2x - 1."""
  x = jnp.asarray(images_NxHxWxC, jnp.float32)
  if x.ndim != 4 or x.shape[-1] not in (1, 3):
    raise ValueError(f'inception_v3 takes (N, H, W, 1 or 3) images; got shape {x.shape}.')
  if x.shape[-1] == 1:
    x = jnp.repeat(x, 3, axis=-1)
  x = (x + 1.0) / 2.0
  wh = _interpolation_matrix(x.shape[1], 299)
  ww = _interpolation_matrix(x.shape[2], 299)
  x = jnp.einsum('oh,nhwc,pw->nopc', wh, x, ww, precision=jax.lax.Precision.HIGHEST)
  return 2.0 * x - 1.0


def torch_state_dict_to_variables(arrays: dict) -> dict:
  """PyTorch state-dict arrays (names as in pytorch-fid) -> Flax {'params', 'batch_stats'}."""
  params, stats = {}, {}
  for key, value in arrays.items():
    *path, layer, kind = key.split('.')
    if kind == 'num_batches_tracked' or path[:1] == ['fc'] or layer == 'fc':
      continue
    value = np.asarray(value, np.float32)
    if layer == 'conv' and kind == 'weight':
      params[(*path, 'conv', 'kernel')] = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
    elif layer == 'bn' and kind in ('weight', 'bias'):
      params[(*path, 'bn', 'scale' if kind == 'weight' else 'bias')] = value
    elif layer == 'bn' and kind in ('running_mean', 'running_var'):
      stats[(*path, 'bn', 'mean' if kind == 'running_mean' else 'var')] = value
    else:
      raise WeightsError(f'Unexpected array {key!r}: not an FID InceptionV3 weights file.')
  return {'params': flax.traverse_util.unflatten_dict(params),
          'batch_stats': flax.traverse_util.unflatten_dict(stats)}


def load_variables(path: Optional[str]) -> dict:
  """Reads and checks a converted .npz against the network's expected names and shapes."""
  if not path:
    raise WeightsError('eval.features=inception_v3 needs eval.inception_weights, the path of '
                       'the converted FID Inception weights (.npz). ' + CONVERT_HELP)
  if not os.path.exists(path):
    raise WeightsError(f'eval.inception_weights={path}: no such file. ' + CONVERT_HELP)
  try:
    with np.load(path, allow_pickle=False) as f:
      arrays = {k: f[k] for k in f.files}
  except (OSError, ValueError) as e:
    raise WeightsError(f'eval.inception_weights={path} is not a readable .npz of arrays ({e}). '
                       + CONVERT_HELP) from e
  variables = torch_state_dict_to_variables(arrays)
  expected = jax.eval_shape(FIDInceptionV3().init, jax.random.PRNGKey(0),
                            jnp.zeros((1, 299, 299, 3)))
  want = {k: v.shape for k, v in flax.traverse_util.flatten_dict(expected, sep='.').items()}
  have = {k: v.shape for k, v in flax.traverse_util.flatten_dict(variables, sep='.').items()}
  if want != have:
    missing = sorted(set(want) - set(have))[:5]
    wrong = sorted(k for k in set(want) & set(have) if want[k] != have[k])[:5]
    raise WeightsError(f'eval.inception_weights={path} does not hold the FID InceptionV3 '
                       f'(missing e.g. {missing}; wrong shapes e.g. {wrong}). ' + CONVERT_HELP)
  return jax.tree.map(jnp.asarray, variables)


@jax.jit
def _run(variables, x):
  return FIDInceptionV3().apply(variables, preprocess(x))


class Extractor:
  """(images) -> (2048-d pool features, None): the network has no class head here."""
  name = 'inception_v3'

  def __init__(self, path: Optional[str], chunk: int = 100):
    self.variables = load_variables(path)
    with open(path, 'rb') as f:
      self.digest = hashlib.sha256(f.read()).hexdigest()[:16]
    self.chunk = chunk

  def __call__(self, images_NxHxWxC) -> tuple[np.ndarray, None]:
    out = [np.asarray(_run(self.variables, images_NxHxWxC[i:i + self.chunk]), np.float64)
           for i in range(0, len(images_NxHxWxC), self.chunk)]
    return np.concatenate(out), None
