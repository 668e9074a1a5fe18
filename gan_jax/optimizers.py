"""Optimizers and learning-rate schedules of G and D, and the config's optim section.

`make_optimizers(config.optim) -> (g_tx, d_tx)`: Adam for each (optim.g_lr / d_lr, b1, b2), with
the learning rate of `optim.schedule` (`lr_schedule`). The section also holds n_critic (D updates
per step), the update order (simultaneous) and G's EMA (ema_decay, ema_start), which the update
step reads.

Burn-in (R3GAN, Huang et al. 2024; brownvc/R3GAN training/training_loop.py
`cosine_decay_with_warmup` and train.py's presets): over the first `optim.burnin.steps` steps
several hyperparameters move from a start to an end value, by `optim.burnin.shape`:
    v(t) = start + w(t) (end - start),  w = 0.5 (1 - cos(pi t / T)) ('cosine', R3GAN's) or t / T
    ('linear'), for t < T = optim.burnin.steps, and v(t) = end after.
- learning rate: from g_lr / d_lr to lr_factor x them (R3GAN: 2e-4 -> 5e-5, factor 0.25);
- Adam's beta2: from b2_start to optim.b2 (R3GAN: 0.9 -> 0.99); b2_start 0 turns it off;
- the penalty weights (gamma): every loss.penalties weight from its value to gamma_factor x it
  (R3GAN's CIFAR-10: gamma 0.05 -> 0.005, factor 0.1), applied in the update (step.py);
- G's EMA (`ema`): its half-life rises from 0 to that of optim.ema_decay, h = ln 0.5 / ln(decay)
  steps, and the decay at step t is 0.5 ** (1 / h(t)) (R3GAN: 0 -> 5M images).
R3GAN counts images (cur_nimg); here t counts steps (images / data.batch_size). The learning
rate and beta2 ride in Adam's state (optax.inject_hyperparams, from its update count, D's divided
by n_critic so that every D update of step t reads step t); gamma and the EMA are read from
state.step in the update (`burnin_update_fields` gives the update spec's fields).
"""
import math
from typing import Callable, Optional

import jax.numpy as jnp
import ml_collections
import optax

from gan_jax.validation import failed, is_int, is_real

SCHEDULES = ('constant', 'linear', 'cosine')  # optim.schedule.
BURNIN_SHAPES = ('cosine', 'linear')  # optim.burnin.shape.


def burnin_defaults() -> ml_collections.ConfigDict:
  """optim.burnin: off (steps 0) with every field at the value that schedules nothing."""
  burnin = ml_collections.ConfigDict()
  burnin.steps = 0  # Burn-in length in steps (0: off); R3GAN: 2e7 images / batch size.
  burnin.shape = 'cosine'  # cosine (R3GAN's) | linear.
  burnin.lr_factor = 1.0  # The learning rates end at this x g_lr / d_lr (R3GAN: 0.25).
  burnin.b2_start = 0.0  # > 0: Adam's beta2 rises from this to optim.b2 (R3GAN: 0.9 -> 0.99).
  burnin.gamma_factor = 1.0  # Penalty weights end at this x loss.penalties (R3GAN: 0.1).
  burnin.ema = False  # True: the EMA's half-life rises from 0 to optim.ema_decay's (R3GAN).
  return burnin


def defaults() -> ml_collections.ConfigDict:
  """The optim section with its defaults."""
  optim = ml_collections.ConfigDict()
  optim.g_lr = 2e-4
  optim.d_lr = 2e-4
  optim.b1 = 0.5
  optim.b2 = 0.999
  optim.n_critic = 1
  # True: G's step reads D as it was before this step's D updates (simultaneous gradient descent,
  # as code that updates both players from one graph does: ALI's and PacGAN's Blocks code).
  optim.simultaneous = False
  optim.schedule = 'constant'  # constant | linear | cosine (to 0 at decay_steps).
  optim.warmup_steps = 0  # Linear warm-up from 0 over this many steps.
  optim.decay_steps = 0  # Steps over which linear / cosine decay to 0 (required for them).
  optim.ema_decay = 0.0  # > 0: keep an EMA of G's parameters; samples and eval use it.
  optim.ema_start = 0  # The EMA copies G's parameters up to this step, then averages.
  optim.burnin = burnin_defaults()  # R3GAN's burn-in schedules (module docstring).
  return optim


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the optim section, each naming the field and its valid values."""
  o = config.optim
  checks = [(is_real(o[f]) and o[f] > 0, f'optim.{f} must be a positive number, got {o[f]!r}.')
            for f in ('g_lr', 'd_lr')]
  checks += [(is_real(o[f]) and 0 <= o[f] < 1, f'optim.{f} must be in [0, 1), got {o[f]!r}.')
             for f in ('b1', 'b2')]
  checks += [
      (is_int(o.n_critic) and o.n_critic >= 1,
       f'optim.n_critic must be an integer >= 1, got {o.n_critic!r}.'),
      (isinstance(o.simultaneous, bool),
       f'optim.simultaneous must be True or False, got {o.simultaneous!r}.'),
      (o.schedule in SCHEDULES,
       f'Unknown optim.schedule {o.schedule!r}; valid: {list(SCHEDULES)}.'),
      (is_int(o.warmup_steps) and o.warmup_steps >= 0,
       f'optim.warmup_steps must be an integer >= 0, got {o.warmup_steps!r}.'),
      (is_int(o.decay_steps) and o.decay_steps >= 0,
       f'optim.decay_steps must be an integer >= 0, got {o.decay_steps!r}.')]
  if o.schedule != 'constant' and is_int(o.decay_steps) and is_int(o.warmup_steps):
    checks.append((o.decay_steps > o.warmup_steps,
                   f'optim.schedule={o.schedule!r} decays to 0 at optim.decay_steps, which must '
                   f'exceed optim.warmup_steps={o.warmup_steps}; set it (e.g. to '
                   f'train.num_steps={config.train.num_steps}), got {o.decay_steps!r}.'))
  checks += [
      (is_real(o.ema_decay) and 0 <= o.ema_decay < 1,
       f'optim.ema_decay must be in [0, 1) (0: no EMA; e.g. 0.999), got {o.ema_decay!r}.'),
      (is_int(o.ema_start) and o.ema_start >= 0,
       f'optim.ema_start must be an integer >= 0, got {o.ema_start!r}.')]
  return failed(checks) + burnin_problems(config)


def _burnin_used(b) -> list[str]:
  """The burn-in fields that schedule something (not at their 'off' value)."""
  off = burnin_defaults()
  return [f for f in ('lr_factor', 'b2_start', 'gamma_factor', 'ema') if b[f] != off[f]]


def burnin_problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of optim.burnin, each naming the field and its valid values."""
  o, b = config.optim, config.optim.burnin
  unknown = sorted(set(b) - set(burnin_defaults()))
  checks = [
      (not unknown,
       f'Unknown field(s) optim.burnin.{unknown}; valid: {sorted(burnin_defaults())}.'),
      (is_int(b.steps) and b.steps >= 0,
       f'optim.burnin.steps must be an integer >= 0 (0: no burn-in), got {b.steps!r}.'),
      (b.shape in BURNIN_SHAPES,
       f'Unknown optim.burnin.shape {b.shape!r}; valid: {list(BURNIN_SHAPES)}.'),
      (is_real(b.lr_factor) and b.lr_factor > 0,
       f'optim.burnin.lr_factor must be a number > 0 (1: no schedule), got {b.lr_factor!r}.'),
      (is_real(b.b2_start) and 0 <= b.b2_start < 1,
       f'optim.burnin.b2_start must be in [0, 1) (0: no beta2 schedule), got {b.b2_start!r}.'),
      (is_real(b.gamma_factor) and b.gamma_factor >= 0,
       f'optim.burnin.gamma_factor must be a number >= 0 (1: no schedule), got '
       f'{b.gamma_factor!r}.'),
      (isinstance(b.ema, bool), f'optim.burnin.ema must be True or False, got {b.ema!r}.')]
  if unknown or not checks[1][0]:
    return failed(checks)
  used = _burnin_used(b)
  checks += [
      (b.steps > 0 or not used,
       f'optim.burnin.{", ".join(used)} schedule(s) over the burn-in: set optim.burnin.steps > 0 '
       f'(R3GAN: 2e7 images / data.batch_size), or leave them off.'),
      (not (b.ema is True and not (is_real(o.ema_decay) and o.ema_decay > 0)),
       'optim.burnin.ema=True ramps the EMA up to optim.ema_decay: set optim.ema_decay > 0 '
       '(e.g. 0.999).'),
      (not (b.lr_factor != 1.0 and (o.schedule != 'constant' or o.warmup_steps != 0)),
       f'optim.burnin.lr_factor={b.lr_factor!r} schedules the learning rate; it takes '
       f'optim.schedule=\'constant\' and optim.warmup_steps=0, got {o.schedule!r} and '
       f'{o.warmup_steps!r}: use one or the other.')]
  return failed(checks)


def burnin_value(start: float, end: float, t, steps: int, shape: str):
  """The burn-in schedule at step t (int or array): start + w(t) (end - start), w the cosine
  0.5 (1 - cos(pi t / steps)) or the line t / steps, clipped to [0, 1] (end from `steps` on)."""
  frac = jnp.clip(jnp.asarray(t, jnp.float32) / max(steps, 1), 0.0, 1.0)
  w = 0.5 * (1.0 - jnp.cos(jnp.pi * frac)) if shape == 'cosine' else frac
  return start + w * (end - start)


def ema_half_life(decay: float) -> float:
  """The half-life in steps of an EMA with this decay: decay ** h = 1/2."""
  return math.log(0.5) / math.log(decay)


def burnin_update_fields(optim_config) -> dict:
  """The update spec's burn-in fields (step.UpdateSpec): `penalty_scale` (step -> the factor of
  every penalty weight) and `ema_schedule` (step -> the EMA's decay), each only when scheduled:
  {} at the defaults, so the update is unchanged."""
  b, fields = optim_config.burnin, {}
  if b.steps and b.gamma_factor != 1.0:
    fields['penalty_scale'] = lambda t: burnin_value(1.0, b.gamma_factor, t, b.steps, b.shape)
  if b.steps and b.ema:
    h_end = ema_half_life(optim_config.ema_decay)
    fields['ema_schedule'] = lambda t: 0.5 ** (1.0 / jnp.maximum(
        burnin_value(0.0, h_end, t, b.steps, b.shape), 1e-8))
  return fields


def lr_schedule(lr: float, optim_config, updates_per_step: int = 1):
  """The learning rate of `optim.schedule` as an optax schedule over optimizer updates.

  Steps are training steps; D takes `updates_per_step` (n_critic) updates per step, so its
  schedule is stretched to match. 'constant' (with optional warm-up), 'linear' (to 0 at
  optim.decay_steps) or 'cosine' (to 0 at optim.decay_steps), each after a linear warm-up from 0
  over optim.warmup_steps. A constant rate without warm-up is the plain float `lr`.
  """
  o = optim_config
  if o.schedule == 'constant' and o.warmup_steps == 0:
    return lr
  warm = o.warmup_steps * updates_per_step
  decay = max(o.decay_steps * updates_per_step - warm, 1)
  body = {'constant': lambda: optax.constant_schedule(lr),
          'linear': lambda: optax.linear_schedule(lr, 0.0, decay),
          'cosine': lambda: optax.cosine_decay_schedule(lr, decay)}[o.schedule]()
  if not warm:
    return body
  return optax.join_schedules([optax.linear_schedule(0.0, lr, warm), body], [warm])


def _burnin_adam(lr: float, o, updates_per_step: int) -> Optional[optax.GradientTransformation]:
  """Adam whose learning rate and / or beta2 follow the burn-in (from the update count, the step
  being count // updates_per_step); None when neither is scheduled."""
  b = o.get('burnin', burnin_defaults())
  if not b.steps or (b.lr_factor == 1.0 and not b.b2_start):
    return None
  step = lambda count: count // updates_per_step
  lr_fn: Callable = lambda c: burnin_value(lr, lr * b.lr_factor, step(c), b.steps, b.shape)
  b2_fn: Callable = lambda c: burnin_value(b.b2_start, o.b2, step(c), b.steps, b.shape)
  return optax.inject_hyperparams(optax.adam)(
      learning_rate=lr_fn if b.lr_factor != 1.0 else lr, b1=o.b1,
      b2=b2_fn if b.b2_start else o.b2)


def make_optimizers(optim_config) -> tuple[optax.GradientTransformation,
                                           optax.GradientTransformation]:
  """(G's, D's) Adam with their learning-rate schedules; D's counts n_critic updates a step.
  With a burn-in of the learning rate or beta2 (optim.burnin), Adam with injected
  hyperparameters (its state then holds them); otherwise optax.adam exactly as before."""
  o = optim_config
  g_tx = _burnin_adam(o.g_lr, o, 1) or optax.adam(lr_schedule(o.g_lr, o), b1=o.b1, b2=o.b2)
  d_tx = _burnin_adam(o.d_lr, o, o.n_critic) or optax.adam(
      lr_schedule(o.d_lr, o, o.n_critic), b1=o.b1, b2=o.b2)
  return g_tx, d_tx
