"""Optimizers and learning-rate schedules of G and D, and the config's optim section.

`make_optimizers(config.optim) -> (g_tx, d_tx)`: Adam for each (optim.g_lr / d_lr, b1, b2), with
the learning rate of `optim.schedule` (`lr_schedule`). The section also holds n_critic (D updates
per step), the update order (simultaneous) and G's EMA (ema_decay, ema_start), which the update
step reads.
"""
import ml_collections
import optax

from gan_jax.validation import failed, is_int, is_real

SCHEDULES = ('constant', 'linear', 'cosine')  # optim.schedule.


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
  return failed(checks)


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


def make_optimizers(optim_config) -> tuple[optax.GradientTransformation,
                                           optax.GradientTransformation]:
  """(G's, D's) Adam with their learning-rate schedules; D's counts n_critic updates a step."""
  o = optim_config
  g_tx = optax.adam(lr_schedule(o.g_lr, o), b1=o.b1, b2=o.b2)
  d_tx = optax.adam(lr_schedule(o.d_lr, o, o.n_critic), b1=o.b1, b2=o.b2)
  return g_tx, d_tx
