"""Discriminator penalties on its input gradient, added to D's loss with their weights.

Each penalty is `fn(d_fn, real, fake, keys_B) -> scalar`, where `d_fn(x_BxDIMS) -> logits_B` is D in
training mode and `real`, `fake` are D's inputs (packs, with model.pack > 1); `fake` carries no
gradient to G; `keys_B` holds one key per example (D's input row), from which that example's
random draws come (streams.py: the same draws on any number of devices). Input gradients are per sample: the gradient of sum_b D(x)_b with respect to x,
exact when D treats samples independently (no batch norm in D's training mode).

- gradient_penalty (WGAN-GP, Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2] at random
  interpolates x_hat = e x + (1 - e) x_fake, e ~ U[0, 1] per sample. WGAN-GP's weight: 10.
- r1 (Mescheder et al. 2018): E[||grad D(x)||^2] on real data; StyleGAN's gamma is 2 x the weight.
- r2: the same on fake data.
- dragan (Kodali et al. 2017): E[(||grad D(x_p)|| - 1)^2] at x_p = x + 0.5 std(x) u,
  u ~ U[0, 1] elementwise. DRAGAN's weight: 10. std(x) is over the device's shard of the batch:
  the one number of the update that depends on the device count (not a random draw).

`PENALTIES` maps each name to its entry, a `Penalty`: the function and how the step applies it.
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from gan_jax import streams


def grad_sq_norms(d_fn: Callable, x: jax.Array) -> jax.Array:
  """||d D(x)_b / d x_b||^2 for each sample b."""
  g = jax.grad(lambda x: jnp.sum(d_fn(x)))(x)
  return jnp.sum(g ** 2, axis=tuple(range(1, g.ndim)))


def _unit_norm_penalty(d_fn, x):
  norms = jnp.sqrt(grad_sq_norms(d_fn, x) + 1e-12)  # The offset keeps sqrt's gradient finite.
  return jnp.mean((norms - 1.0) ** 2)


def gradient_penalty(d_fn, real, fake, keys_B):
  eps = streams.draw_each(keys_B, lambda k: jax.random.uniform(k, (1,) * (real.ndim - 1)))
  return _unit_norm_penalty(d_fn, eps * real + (1.0 - eps) * fake)


def r1(d_fn, real, fake, keys_B):
  del fake, keys_B
  return jnp.mean(grad_sq_norms(d_fn, real))


def r2(d_fn, real, fake, keys_B):
  del real, keys_B
  return jnp.mean(grad_sq_norms(d_fn, fake))


def dragan(d_fn, real, fake, keys_B):
  del fake
  u = streams.draw_each(keys_B, lambda k: jax.random.uniform(k, real.shape[1:]))
  perturbed = real + 0.5 * jnp.std(real) * u
  return _unit_norm_penalty(d_fn, perturbed)


class Penalty(NamedTuple):
  """A registry entry: `fn(d_fn, real, fake, keys_B) -> scalar` (calling the entry calls it);
  `lazy`: loss.lazy_every may compute it every k-th step only, weight x k (StyleGAN2);
  `on_fake_labels`: a conditional D is evaluated with the fakes' labels (else the real batch's)."""
  fn: Callable
  lazy: bool = False
  on_fake_labels: bool = False

  def __call__(self, d_fn, real, fake, keys_B):
    return self.fn(d_fn, real, fake, keys_B)


PENALTIES: dict[str, Penalty] = {
    'gradient_penalty': Penalty(gradient_penalty),
    'r1': Penalty(r1, lazy=True),
    'r2': Penalty(r2, lazy=True, on_fake_labels=True),
    'dragan': Penalty(dragan),
}
