"""DiffAugment (Zhao et al. 2020): the same differentiable augmentations on D's real and fake inputs.

`augment.policy` is a comma-separated list of 'color', 'translation', 'cutout', as in the paper's
code (mit-han-lab/data-efficient-gans), on images in [-1, 1], independently per sample:
- color: brightness + U(-0.5, 0.5); saturation: (x - mean_c) * U(0, 2) + mean_c;
  contrast: (x - mean_chw) * U(0.5, 1.5) + mean_chw;
- translation: an integer shift of up to `translation_ratio` of each side, zero fill;
- cutout: a square of `cutout_ratio` of each side set to 0, centred anywhere in the image.
All are differentiable in the image, so G's gradient flows through them to its samples. Each
example's draws come from its own key (streams.py), so a data-parallel run augments an example
alike on any number of devices.
The config's augment section (`defaults()`, `problems(config)`) lives here too.
"""
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections

from gan_jax import streams
from gan_jax.validation import failed, is_real

POLICIES = ('color', 'translation', 'cutout')


def defaults() -> ml_collections.ConfigDict:
  """The augment section: DiffAugment on D's real and fake inputs, e.g. policy
  'color,translation,cutout'; '' (the default) augments nothing."""
  augment = ml_collections.ConfigDict()
  augment.policy = ''
  augment.translation_ratio = 0.125
  augment.cutout_ratio = 0.5
  return augment


def policy_entries(policy: str) -> list[str]:
  """'color, cutout' -> ['color', 'cutout']."""
  return [p.strip() for p in policy.split(',') if p.strip()]


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the augment section, each naming the field and its valid values."""
  a = config.augment
  entries = policy_entries(a.policy) if isinstance(a.policy, str) else [a.policy]
  bad = [p for p in entries if p not in POLICIES]
  checks = [(not bad, f'Unknown augment.policy entries {bad}; valid: {list(POLICIES)} '
             '(comma-separated, e.g. color,translation,cutout).')]
  checks += [(is_real(a[field]) and 0 <= a[field] <= 1,
              f'augment.{field} must be in [0, 1], got {a[field]!r}.')
             for field in ('translation_ratio', 'cutout_ratio')]
  return failed(checks)


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


def _uniform(keys_B, shape=()):
  """U[0, 1) of `shape` per example, from each example's key: (B, *shape)."""
  return streams.draw_each(keys_B, lambda k: jax.random.uniform(k, shape))


def _randint(keys_B, low, high):
  """An integer in [low, high) per example, from each example's key: (B,)."""
  return streams.draw_each(keys_B, lambda k: jax.random.randint(k, (), low, high))


def color(x, keys_B):
  """Brightness, saturation and contrast, each factor drawn per example (its key's draws 0-2)."""
  u = _uniform(keys_B, (3,)).reshape(-1, 1, 1, 1, 3)
  x = x + (u[..., 0] - 0.5)
  m = jnp.mean(x, axis=-1, keepdims=True)
  x = (x - m) * (u[..., 1] * 2.0) + m
  m = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
  return (x - m) * (u[..., 2] + 0.5) + m


def translation(x, keys_B, ratio: float):
  """An integer shift of up to `ratio` of each side, per example, zero fill."""
  _, h, w, _ = x.shape
  sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
  return translate(x, _randint(streams.fold_each(keys_B, 0), -sh, sh + 1),
                   _randint(streams.fold_each(keys_B, 1), -sw, sw + 1))


def cutout(x, keys_B, ratio: float):
  """A square of `ratio` of each side set to 0, per example, centred anywhere in the image."""
  _, h, w, _ = x.shape
  size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
  cy = _randint(streams.fold_each(keys_B, 0), 0, h + (1 - size_h % 2))
  cx = _randint(streams.fold_each(keys_B, 1), 0, w + (1 - size_w % 2))
  return x * cutout_mask(h, w, cy, cx, size_h, size_w)


def make_augment(policy: str, translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5) -> Callable:
  """(x_BxHxWxC, key) -> augmented x; the identity for an empty policy. The policy's entries
  were checked by configs.validate."""
  ops = {'color': color,
         'translation': lambda x, k: translation(x, k, translation_ratio),
         'cutout': lambda x, k: cutout(x, k, cutout_ratio)}
  names = policy_entries(policy)

  def augment(x, keys_B):
    for i, name in enumerate(names):
      x = ops[name](x, streams.fold_each(keys_B, i))
    return x
  return augment
