"""GAN objectives, computed from the discriminator's outputs (logits).

A loss is a pair of functions to minimize: `d_loss(real_logits_B, fake_logits_B)` for the
discriminator and `g_loss(real_logits_B, fake_logits_B)` for the generator (only relativistic
losses read the real logits in G's loss; `g_needs_real` says so, and the step then runs D on a
real batch during the G update). With D(x) = sigmoid(logit), log D = log_sigmoid(logit) and
log(1 - D) = log_sigmoid(-logit): finite and accurate for any logit.

- minimax: the game of Goodfellow et al. (2014), min_G max_D E[log D(x)] + E[log(1 - D(G(z)))].
  D minimizes -E[log D(x)] - E[log(1 - D(G(z)))]; G minimizes E[log(1 - D(G(z)))] (saturating:
  its gradient vanishes when D confidently rejects the fakes, as early in training).
- non_saturating: same D loss; G minimizes -E[log D(G(z))] (the paper's practical variant).
- wasserstein (Arjovsky et al. 2017): D (the critic) minimizes E[C(G(z))] - E[C(x)]; G minimizes
  -E[C(G(z))]. Needs a Lipschitz constraint: loss.penalties.gradient_penalty (WGAN-GP) or
  loss.weight_clip (the original WGAN).
- least_squares (LSGAN, Mao et al. 2017, a=0, b=c=1): D minimizes
  1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]; G minimizes 1/2 E[(D(G(z)) - 1)^2].
- hinge (Lim & Ye 2017; SN-GAN, BigGAN): D minimizes E[relu(1 - D(x))] + E[relu(1 + D(G(z)))];
  G minimizes -E[D(G(z))].
- relativistic_average (RaSGAN, Jolicoeur-Martineau 2019, non-saturating form): with
  r = C(x) - E[C(G(z))] and f = C(G(z)) - E[C(x)], D minimizes -E[log sigmoid(r)] -
  E[log(1 - sigmoid(f))]; G minimizes -E[log sigmoid(f)] - E[log(1 - sigmoid(r))].
- rpgan (relativistic pairing GAN, Jolicoeur-Martineau 2019; the loss of R3GAN, Huang et al.,
  NeurIPS 2024, brownvc/R3GAN R3GAN/Trainer.py): each real logit is paired with the fake logit of
  the same batch position; D minimizes E_b[softplus(-(C(x_b) - C(G(z_b))))], G minimizes
  E_b[softplus(-(C(G(z_b)) - C(x_b)))] (softplus(-t) = -log sigmoid(t)). A mean over pairs, no
  batch statistic: the same on any number of devices. R3GAN adds R1 and R2 with weight gamma/2
  each (loss.penalties.r1 = r2 = gamma / 2).

The config's loss section (`defaults()`, `problems(config)`) lives here too: the loss by name, the
weights of D's input-gradient penalties (gan_jax/penalties.py), weight clipping and ACGAN's weight.
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections

from gan_jax.penalties import PENALTIES
from gan_jax.validation import failed, is_int, is_real


class Loss(NamedTuple):
  """`takes_batch_mean`: d_loss and g_loss take a keyword `batch_mean` (x_B -> the mean of x over
  the global batch: data parallel, over every device's shard, so that the loss is the same on any
  number of devices); the relativistic average compares each logit with such a mean."""
  d_loss: Callable[..., jax.Array]
  g_loss: Callable[..., jax.Array]
  g_needs_real: bool = False
  takes_batch_mean: bool = False


def cross_entropy_d_loss(real_logits_B, fake_logits_B):
  return -jnp.mean(jax.nn.log_sigmoid(real_logits_B)) - jnp.mean(jax.nn.log_sigmoid(-fake_logits_B))


def minimax_g_loss(real_logits_B, fake_logits_B):
  del real_logits_B
  return jnp.mean(jax.nn.log_sigmoid(-fake_logits_B))


def non_saturating_g_loss(real_logits_B, fake_logits_B):
  del real_logits_B
  return -jnp.mean(jax.nn.log_sigmoid(fake_logits_B))


def wasserstein_d_loss(real_logits_B, fake_logits_B):
  return jnp.mean(fake_logits_B) - jnp.mean(real_logits_B)


def minus_mean_fake_g_loss(real_logits_B, fake_logits_B):
  del real_logits_B
  return -jnp.mean(fake_logits_B)


def least_squares_d_loss(real_logits_B, fake_logits_B):
  return 0.5 * jnp.mean((real_logits_B - 1.0) ** 2) + 0.5 * jnp.mean(fake_logits_B ** 2)


def least_squares_g_loss(real_logits_B, fake_logits_B):
  del real_logits_B
  return 0.5 * jnp.mean((fake_logits_B - 1.0) ** 2)


def hinge_d_loss(real_logits_B, fake_logits_B):
  return jnp.mean(jax.nn.relu(1.0 - real_logits_B)) + jnp.mean(jax.nn.relu(1.0 + fake_logits_B))


def relativistic_average_d_loss(real_logits_B, fake_logits_B, batch_mean=jnp.mean):
  return cross_entropy_d_loss(real_logits_B - batch_mean(fake_logits_B),
                              fake_logits_B - batch_mean(real_logits_B))


def relativistic_average_g_loss(real_logits_B, fake_logits_B, batch_mean=jnp.mean):
  # D's loss with the roles of real and fake exchanged.
  return cross_entropy_d_loss(fake_logits_B - batch_mean(real_logits_B),
                              real_logits_B - batch_mean(fake_logits_B))


def rpgan_d_loss(real_logits_B, fake_logits_B):
  return jnp.mean(jax.nn.softplus(-(real_logits_B - fake_logits_B)))


def rpgan_g_loss(real_logits_B, fake_logits_B):
  # D's loss with the roles exchanged; R3GAN's G reads D on real data without a gradient to it.
  return jnp.mean(jax.nn.softplus(-(fake_logits_B - real_logits_B)))


LOSSES: dict[str, Loss] = {
    'minimax': Loss(cross_entropy_d_loss, minimax_g_loss),
    'non_saturating': Loss(cross_entropy_d_loss, non_saturating_g_loss),
    'wasserstein': Loss(wasserstein_d_loss, minus_mean_fake_g_loss),
    'least_squares': Loss(least_squares_d_loss, least_squares_g_loss),
    'hinge': Loss(hinge_d_loss, minus_mean_fake_g_loss),
    'relativistic_average': Loss(relativistic_average_d_loss, relativistic_average_g_loss,
                                 g_needs_real=True, takes_batch_mean=True),
    'rpgan': Loss(rpgan_d_loss, rpgan_g_loss, g_needs_real=True),
}


def get_loss(name: str) -> Loss:
  """LOSSES[name]; the name was checked by configs.validate."""
  return LOSSES[name]


def defaults() -> ml_collections.ConfigDict:
  """The loss section with its defaults."""
  loss = ml_collections.ConfigDict()
  loss.name = 'minimax'
  # Weights of D's input-gradient penalties (gan_jax/penalties.py); 0 turns one off.
  loss.penalties = ml_collections.ConfigDict({name: 0.0 for name in PENALTIES})
  loss.lazy_every = 1  # r1 / r2 every k-th step only, weight x k (StyleGAN2).
  loss.weight_clip = 0.0  # > 0: clip D's parameters to [-c, c] (WGAN: 0.01).
  loss.acgan_weight = 1.0  # model.d_conditioning='acgan': weight of the class losses.
  return loss


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the loss section, each naming the field and its valid values."""
  loss = config.loss
  checks = [(loss.name in LOSSES,
             f'Unknown loss.name {loss.name!r}; valid names: {sorted(LOSSES)}.')]
  for name, w in loss.penalties.items():
    checks += [
        (name in PENALTIES,
         f'Unknown penalty loss.penalties.{name}; valid: {sorted(PENALTIES)}.'),
        (is_real(w) and w >= 0, f'loss.penalties.{name} is a weight >= 0, got {w!r}.')]
  checks += [
      (is_int(loss.lazy_every) and loss.lazy_every >= 1,
       f'loss.lazy_every must be an integer >= 1, got {loss.lazy_every!r}.'),
      (is_real(loss.weight_clip) and loss.weight_clip >= 0,
       f'loss.weight_clip must be >= 0 (0: off), got {loss.weight_clip!r}.'),
      (is_real(loss.acgan_weight) and loss.acgan_weight >= 0,
       f'loss.acgan_weight must be >= 0, got {loss.acgan_weight!r}.')]
  return failed(checks)
