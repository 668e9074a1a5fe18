"""DiffAugment (Zhao et al. 2020): the same differentiable augmentations on D's real and fake inputs.

`augment.policy` is a comma-separated list of 'color', 'translation', 'cutout', as in the paper's
code (mit-han-lab/data-efficient-gans), on images in [-1, 1], independently per sample:
- color: brightness + U(-0.5, 0.5); saturation: (x - mean_c) * U(0, 2) + mean_c;
  contrast: (x - mean_chw) * U(0.5, 1.5) + mean_chw;
- translation: an integer shift of up to `translation_ratio` of each side, zero fill;
- cutout: a square of `cutout_ratio` of each side set to 0, centred anywhere in the image.
All are differentiable in the image, so G's gradient flows through them to its samples.
"""
from typing import Callable

import jax
import jax.numpy as jnp

POLICIES = ('color', 'translation', 'cutout')


def translate(x_BxHxWxC, dy_B, dx_B):
  """out[b, i, j] = x[b, i + dy_b, j + dx_b], 0 outside the image."""
  _, h, w, _ = x_BxHxWxC.shape
  p = max(h, w)
  padded = jnp.pad(x_BxHxWxC, ((0, 0), (p, p), (p, p), (0, 0)))
  return jax.vmap(lambda img, dy, dx: jax.lax.dynamic_slice(
      img, (p + dy, p + dx, 0), (h, w, img.shape[-1])))(padded, dy_B, dx_B)


def cutout_mask(h, w, cy_B, cx_B, size_h, size_w):
  """(B, H, W, 1): 0 on rows [cy - size_h//2, +size_h) x columns [cx - size_w//2, +size_w)."""
  top, left = cy_B - size_h // 2, cx_B - size_w // 2
  rows = jnp.arange(h)[None, :, None]
  cols = jnp.arange(w)[None, None, :]
  inside = ((rows >= top[:, None, None]) & (rows < top[:, None, None] + size_h) &
            (cols >= left[:, None, None]) & (cols < left[:, None, None] + size_w))
  return (~inside).astype(jnp.float32)[..., None]


def color(x, key):
  b = x.shape[0]
  k1, k2, k3 = jax.random.split(key, 3)
  x = x + (jax.random.uniform(k1, (b, 1, 1, 1)) - 0.5)
  m = jnp.mean(x, axis=-1, keepdims=True)
  x = (x - m) * (jax.random.uniform(k2, (b, 1, 1, 1)) * 2.0) + m
  m = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
  return (x - m) * (jax.random.uniform(k3, (b, 1, 1, 1)) + 0.5) + m


def make_augment(policy: str, translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5) -> Callable:
  """(x_BxHxWxC, key) -> augmented x; the identity for an empty policy."""
  names = [p.strip() for p in policy.split(',') if p.strip()]
  unknown = sorted(set(names) - set(POLICIES))
  if unknown:
    raise ValueError(f'Unknown augment.policy entries {unknown}; valid: {list(POLICIES)}.')

  def augment(x, key):
    b, h, w, _ = x.shape
    for i, name in enumerate(names):
      k = jax.random.fold_in(key, i)
      if name == 'color':
        x = color(x, k)
      elif name == 'translation':
        sh, sw = int(h * translation_ratio + 0.5), int(w * translation_ratio + 0.5)
        ky, kx = jax.random.split(k)
        x = translate(x, jax.random.randint(ky, (b,), -sh, sh + 1),
                      jax.random.randint(kx, (b,), -sw, sw + 1))
      else:
        size_h, size_w = int(h * cutout_ratio + 0.5), int(w * cutout_ratio + 0.5)
        ky, kx = jax.random.split(k)
        cy = jax.random.randint(ky, (b,), 0, h + (1 - size_h % 2))
        cx = jax.random.randint(kx, (b,), 0, w + (1 - size_w % 2))
        x = x * cutout_mask(h, w, cy, cx, size_h, size_w)
    return x
  return augment
