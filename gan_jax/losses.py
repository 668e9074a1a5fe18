"""GAN objectives, computed from discriminator logits.

A loss is a pair of functions to minimize: `d_loss(real_logits_B, fake_logits_B)` for the
discriminator and `g_loss(fake_logits_B)` for the generator. With D(x) = sigmoid(logit),
log D = log_sigmoid(logit) and log(1 - D) = log_sigmoid(-logit): finite and accurate for any
logit (no log of a rounded probability).

- minimax: the game of Goodfellow et al. (2014), min_G max_D E[log D(x)] + E[log(1 - D(G(z)))].
  D minimizes -E[log D(x)] - E[log(1 - D(G(z)))]; G minimizes E[log(1 - D(G(z)))] (saturating:
  its gradient vanishes when D confidently rejects the fakes, as early in training).
- non_saturating: same D loss; G minimizes -E[log D(G(z))] (the paper's practical variant, with
  the same fixed point and strong gradients early in training).
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class Loss(NamedTuple):
  d_loss: Callable[[jax.Array, jax.Array], jax.Array]
  g_loss: Callable[[jax.Array], jax.Array]


def cross_entropy_d_loss(real_logits_B, fake_logits_B):
  return -jnp.mean(jax.nn.log_sigmoid(real_logits_B)) - jnp.mean(jax.nn.log_sigmoid(-fake_logits_B))


def minimax_g_loss(fake_logits_B):
  return jnp.mean(jax.nn.log_sigmoid(-fake_logits_B))


def non_saturating_g_loss(fake_logits_B):
  return -jnp.mean(jax.nn.log_sigmoid(fake_logits_B))


LOSSES: dict[str, Loss] = {
    'minimax': Loss(cross_entropy_d_loss, minimax_g_loss),
    'non_saturating': Loss(cross_entropy_d_loss, non_saturating_g_loss),
}


def get_loss(name: str) -> Loss:
  if name not in LOSSES:
    raise ValueError(f'Unknown loss {name!r}; valid names: {sorted(LOSSES)}.')
  return LOSSES[name]
