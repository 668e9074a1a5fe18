"""Adaptive discriminator augmentation (ADA; Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", StyleGAN2-ADA).

Every image D sees (real and fake, in D's and G's steps, and the inputs of D's penalties) goes
through one augmentation pipeline; each of its transforms is applied to an example with
probability p, drawn per example from the example's own key (streams.py). p is part of the run's
state (`GANState.ada`): with `ada.mode='adaptive'` it follows the overfitting heuristic
r_t = E[sign(D(real))] over the last `ada.interval` steps:
  p <- max(0, p + sign(r_t - ada.target) * images / (ada.kimg * 1000)),
images being the real images D saw in those steps, so p can go from 0 to 1 over `ada.kimg`
thousand images (the paper: target 0.6, interval 4, 500 kimg). `ada.mode='fixed'` keeps p at
`ada.p`. p is logged (`ada_p`, with `ada_rt`), checkpointed with the state, and a resumed run
draws and adjusts exactly as an uninterrupted one.

The transforms (`ada.transforms`, in the pipeline's order; the strengths are the paper's):
- geometric, composed into one inverse affine map per example and applied by bilinear sampling
  with reflection at the borders: xflip and rotate90 (only where the data allow: not digits),
  xint (integer translation, U(-0.125, 0.125) of the side, rounded to pixels), scale (isotropic,
  2^N(0, 0.2^2)), rotate (U(-pi, pi), before and after aniso, each with probability
  1 - sqrt(1 - p), so one or both with probability p), aniso (2^N(0, 0.2^2) along x, its inverse
  along y), xfrac (translation N(0, 0.125^2) of the side);
- colour: brightness (+N(0, 0.2^2)) then contrast (x 2^N(0, 0.5^2)), on images in [-1, 1].
Left out against the reference (NVlabs/stylegan2-ada-pytorch, training/augment.py): its
wavelet up/down-sampling around the geometric resampling (anti-aliasing), luma flip, hue and
saturation, image-space filtering, noise and cutout.
All transforms are differentiable in the image, so G's gradient flows through them. D's
penalties (R1, R2) take their gradient with respect to the augmented images D saw; the
reference's R1 differentiates through the pipeline to the unaugmented reals instead.
`ada.mode='adaptive'` needs a loss whose logits are centred at 0 (SIGN_LOSSES); the others are
refused, as sign(D(real)) says nothing there ('fixed' works with any loss).
The config's ada section (`defaults()`, `problems(config)`) lives here too.
"""
import dataclasses
import math
from typing import Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import streams
from gan_jax.validation import failed, is_int, is_real

MODES = ('', 'adaptive', 'fixed')
TRANSFORMS = ('xflip', 'rotate90', 'xint', 'scale', 'rotate', 'aniso', 'xfrac', 'brightness',
              'contrast')
GEOMETRIC = TRANSFORMS[:7]
# The paper's 'bgc' pipeline without the flips, which digits do not allow.
DIGIT_SAFE = 'xint,scale,rotate,aniso,xfrac,brightness,contrast'
# Losses whose D logits are centred at 0 (real above, fake below), so sign(D(real)) says which
# side of D's boundary the reals fall: the heuristic's premise. Wasserstein and relativistic
# losses are unchanged by a shift of every logit, least squares aims at 1 and 0.
SIGN_LOSSES = ('minimax', 'non_saturating', 'hinge')
STRENGTHS = {'xint_max': 0.125, 'scale_std': 0.2, 'rotate_max': 1.0, 'aniso_std': 0.2,
             'xfrac_std': 0.125, 'brightness_std': 0.2, 'contrast_std': 0.5}


def defaults() -> ml_collections.ConfigDict:
  """The ada section: '' (the default) augments nothing; 'adaptive' adjusts p towards `target`;
  'fixed' keeps p at `p`."""
  ada = ml_collections.ConfigDict()
  ada.mode = ''
  ada.p = 0.0  # The initial p ('adaptive') or the constant one ('fixed').
  ada.target = 0.6  # Of r_t = E[sign(D(real))].
  ada.interval = 4  # Steps between adjustments of p.
  ada.kimg = 100.0  # Thousands of real images D sees while p goes from 0 to 1 (the paper: 500).
  ada.transforms = DIGIT_SAFE
  return ada


def transform_entries(transforms: str) -> list[str]:
  """'xint, scale' -> ['xint', 'scale']."""
  return [t.strip() for t in transforms.split(',') if t.strip()]


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the ada section, each naming the field and its valid values."""
  a = config.ada
  entries = transform_entries(a.transforms) if isinstance(a.transforms, str) else [a.transforms]
  bad = [t for t in entries if t not in TRANSFORMS]
  on = a.mode in MODES[1:]
  checks = [
      (a.mode in MODES, f'Unknown ada.mode {a.mode!r}; valid: {list(MODES)} (\'\' is off).'),
      (not bad, f'Unknown ada.transforms entries {bad}; valid: {list(TRANSFORMS)} '
       f'(comma-separated, e.g. {DIGIT_SAFE}).'),
      (not on or entries, 'ada.transforms is empty; name at least one transform, e.g. '
       f'{DIGIT_SAFE}, or set ada.mode=\'\'.'),
      (is_real(a.p) and 0 <= a.p <= 1, f'ada.p must be in [0, 1], got {a.p!r}.'),
      (is_real(a.target) and 0 < a.target < 1,
       f'ada.target must be in (0, 1) (the paper: 0.6), got {a.target!r}.'),
      (is_int(a.interval) and a.interval >= 1,
       f'ada.interval must be an integer >= 1 (steps), got {a.interval!r}.'),
      (is_real(a.kimg) and a.kimg > 0 and math.isfinite(a.kimg),
       f'ada.kimg must be > 0 and finite (thousands of images from p=0 to 1), got {a.kimg!r}.'),
      (a.mode != 'adaptive' or config.loss.name in SIGN_LOSSES,
       f'ada.mode=\'adaptive\' reads sign(D(real)), which says nothing for '
       f'loss.name={config.loss.name!r} (its logits are not centred at 0); use a loss of '
       f'{list(SIGN_LOSSES)} or ada.mode=\'fixed\' with ada.p.'),
      (a.mode != 'fixed' or not is_real(a.p) or a.p > 0,
       'ada.mode=\'fixed\' with ada.p=0 augments nothing; set ada.p > 0 or ada.mode=\'\'.'),
      (not (on and config.augment.policy),
       f'ada.mode={a.mode!r} and augment.policy={config.augment.policy!r} both augment D\'s '
       'inputs; choose one (set augment.policy=\'\' or ada.mode=\'\').')]
  return failed(checks)


def initial_state(p: float) -> dict:
  """GANState.ada: p and the sum and count of sign(D(real)) means since the last adjustment."""
  return {'p': jnp.asarray(p, jnp.float32), 'signs': jnp.zeros((), jnp.float32),
          'count': jnp.zeros((), jnp.float32)}


@dataclasses.dataclass(frozen=True)
class AdaSpec:
  """The update's ADA (step.UpdateSpec.ada): the transforms, and how p moves (speed 0: fixed)."""
  transforms: tuple
  target: float
  interval: int
  speed: float  # Change of p per adjustment: images per interval / (kimg * 1000).


def spec_from_config(config: ml_collections.ConfigDict) -> Optional[AdaSpec]:
  a = config.ada
  if not a.mode:
    return None
  images = config.data.batch_size * config.optim.n_critic * a.interval
  return AdaSpec(transforms=tuple(transform_entries(a.transforms)), target=float(a.target),
                 interval=int(a.interval),
                 speed=images / (float(a.kimg) * 1000) if a.mode == 'adaptive' else 0.0)


def adjust(spec: AdaSpec, ada: dict, real_sign: jax.Array, step: jax.Array) -> tuple[dict, dict]:
  """The ADA state after the update of `step` whose D steps gave mean sign(D(real)) `real_sign`;
  every `interval`-th step p moves by +-speed (clipped at 0) and the accumulators restart.
  Returns (state, metrics: ada_p, the p of this step's augmentations, and ada_rt, the mean sign
  accumulated so far)."""
  signs, count = ada['signs'] + real_sign, ada['count'] + 1.0
  r_t = signs / count
  due = (step + 1) % spec.interval == 0
  p = jnp.where(due, jnp.maximum(ada['p'] + jnp.sign(r_t - spec.target) * spec.speed, 0.0),
                ada['p'])
  new = {'p': p, 'signs': jnp.where(due, 0.0, signs), 'count': jnp.where(due, 0.0, count)}
  return new, {'ada_p': ada['p'], 'ada_rt': r_t}


# Inverse homogeneous 2-D transforms, per example (B, 3, 3), in pixel units about the centre.
def _matrix(rows_B):
  return jnp.stack([jnp.stack(r, axis=-1) for r in rows_B], axis=-2)


def translate_inv(tx, ty):
  o, z = jnp.ones_like(tx), jnp.zeros_like(tx)
  return _matrix([[o, z, -tx], [z, o, -ty], [z, z, o]])


def scale_inv(sx, sy):
  o, z = jnp.ones_like(sx), jnp.zeros_like(sx)
  return _matrix([[1 / sx, z, z], [z, 1 / sy, z], [z, z, o]])


def rotate_inv(theta):
  c, s, o, z = jnp.cos(theta), jnp.sin(theta), jnp.ones_like(theta), jnp.zeros_like(theta)
  return _matrix([[c, s, z], [-s, c, z], [z, z, o]])


def _gate(key, p, value, identity):
  """`value` with probability p, else `identity` (one uniform from `key`)."""
  return jnp.where(jax.random.uniform(key) < p, value, identity)


def _draws(key, p) -> dict:
  """One example's parameters of every transform, each from its own sub-keys (the transform's
  index in TRANSFORMS); a transform not applied gets its identity value."""
  k = {name: jax.random.split(jax.random.fold_in(key, i), 4) for i, name in enumerate(TRANSFORMS)}
  s, n = STRENGTHS, jax.random.normal
  u = lambda kk, lo, hi, shape=(): jax.random.uniform(kk, shape, minval=lo, maxval=hi)
  p_rot = 1 - jnp.sqrt(jnp.clip(1 - p, 0, 1))  # Pre or post rotation (or both): p.
  angle = lambda kk: u(kk, -np.pi, np.pi) * s['rotate_max']
  return {
      'xflip': _gate(k['xflip'][0], p, jnp.floor(u(k['xflip'][1], 0, 2)), 0.0),
      'rotate90': _gate(k['rotate90'][0], p, jnp.floor(u(k['rotate90'][1], 0, 4)), 0.0),
      'xint': _gate(k['xint'][0], p, u(k['xint'][1], -s['xint_max'], s['xint_max'], (2,)),
                    jnp.zeros(2)),
      'scale': _gate(k['scale'][0], p, jnp.exp2(n(k['scale'][1]) * s['scale_std']), 1.0),
      'rotate': jnp.stack([_gate(k['rotate'][0], p_rot, angle(k['rotate'][1]), 0.0),
                           _gate(k['rotate'][2], p_rot, angle(k['rotate'][3]), 0.0)]),
      'aniso': _gate(k['aniso'][0], p, jnp.exp2(n(k['aniso'][1]) * s['aniso_std']), 1.0),
      'xfrac': _gate(k['xfrac'][0], p, n(k['xfrac'][1], (2,)) * s['xfrac_std'], jnp.zeros(2)),
      'brightness': _gate(k['brightness'][0], p, n(k['brightness'][1]) * s['brightness_std'],
                          0.0),
      'contrast': _gate(k['contrast'][0], p, jnp.exp2(n(k['contrast'][1]) * s['contrast_std']),
                        1.0)}


def inverse_map(d: dict, transforms: tuple, h: int, w: int) -> jax.Array:
  """(B, 3, 3): output pixel -> input pixel, about the image centre, of the geometric transforms
  named in `transforms` with the batch's draws `d` (the reference's order and conventions)."""
  b = d['scale'].shape[0]
  g = jnp.broadcast_to(jnp.eye(3), (b, 3, 3))
  one = jnp.ones((b,))
  steps = {
      'xflip': lambda: scale_inv(1 - 2 * d['xflip'], one),
      'rotate90': lambda: rotate_inv(-np.pi / 2 * d['rotate90']),
      'xint': lambda: translate_inv(jnp.round(d['xint'][:, 0] * w), jnp.round(d['xint'][:, 1] * h)),
      'scale': lambda: scale_inv(d['scale'], d['scale']),
      'rotate_pre': lambda: rotate_inv(-d['rotate'][:, 0]),
      'aniso': lambda: scale_inv(d['aniso'], 1 / d['aniso']),
      'rotate_post': lambda: rotate_inv(-d['rotate'][:, 1]),
      'xfrac': lambda: translate_inv(d['xfrac'][:, 0] * w, d['xfrac'][:, 1] * h)}
  order = ('xflip', 'rotate90', 'xint', 'scale', 'rotate_pre', 'aniso', 'rotate_post', 'xfrac')
  for name in order:
    if name.split('_')[0] in transforms:
      g = g @ steps[name]()
  return g


def resample(x_HxWxC, g_3x3):
  """x sampled at g's input pixels (bilinear; reflected about the border pixels outside)."""
  h, w, _ = x_HxWxC.shape
  cy, cx = (h - 1) / 2, (w - 1) / 2
  yy, xx = jnp.meshgrid(jnp.arange(h) - cy, jnp.arange(w) - cx, indexing='ij')
  src_x = g_3x3[0, 0] * xx + g_3x3[0, 1] * yy + g_3x3[0, 2] + cx
  src_y = g_3x3[1, 0] * xx + g_3x3[1, 1] * yy + g_3x3[1, 2] + cy
  channel = lambda c: jax.scipy.ndimage.map_coordinates(c, [src_y, src_x], order=1,
                                                        mode='mirror')
  return jax.vmap(channel, in_axes=-1, out_axes=-1)(x_HxWxC)


def augment(spec: AdaSpec, x_BxHxWxC, keys_B, p):
  """Every image of the batch through the pipeline at probability p (a traced scalar)."""
  d = streams.draw_each(keys_B, lambda k: _draws(k, p))
  _, h, w, _ = x_BxHxWxC.shape
  if any(t in GEOMETRIC for t in spec.transforms):
    x_BxHxWxC = jax.vmap(resample)(x_BxHxWxC, inverse_map(d, spec.transforms, h, w))
  if 'brightness' in spec.transforms:
    x_BxHxWxC = x_BxHxWxC + d['brightness'][:, None, None, None]
  if 'contrast' in spec.transforms:
    x_BxHxWxC = x_BxHxWxC * d['contrast'][:, None, None, None]
  return x_BxHxWxC
