"""ScratchGAN's pieces (de Masson d'Autume et al. 2019, "Training language GANs from scratch"; the
recipe of deepmind-research/scratchgan, whose files and lines are cited below as [ref]).

G is an autoregressive LSTM language model (gan_jax's LanguageModel) that samples discrete tokens;
it learns by REINFORCE from D's per-token rewards:
- D (`SequenceDiscriminator`, [ref] discriminator_nets.py): token embeddings (dropout on the whole
  embedding table, one mask per (token, dimension)), 8 cosine position features
  (`position_features`), a dense layer, an LSTM with layer norm on its gates, one logit per
  position; the logits after a row's first end symbol are multiplied by 0 (the end symbol itself
  is kept: model.counted_tokens, the tokens a row's likelihood counts).
- D's loss (`d_loss`, [ref] losses.py, experiment.py): per-token sigmoid cross entropy, real 1 and
  fake 0, 0.5 each, the mean over every position of the batch (masked positions, logit 0, add a
  constant log 2).
- The reward of a generated token (`rewards`): 2 sigmoid(D_t) - 1, in (-1, 1) (0 after the end);
  its return (`discounted_returns`): R_t = sum_{s >= t} gamma^(s - t) r_s, gamma 0.23 ([ref]
  experiment.py: discount 0.23).
- The baseline (`update_baseline`): a scalar moving average b <- decay b + (1 - decay) mean(R)
  over every position, decay 0.08 ([ref] baseline_decay), updated before the advantage R_t - b is
  taken.
- G's loss (`g_loss`): -mean over every position of stop_gradient(R_t - b) log p(x_t | x_<t), the
  log-probability 0 after the end; no entropy term, no advantage normalisation or clipping.
The recipe's optimisers: Adam, G 9.59e-5, D 9.38e-3, beta1 0.5 for both; batch 512; D's L2 1e-6;
one D step then one G step, each on fresh samples ([ref] experiment.py).
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gan_jax.applications.text.model import counted_tokens

DISCOUNT = 0.23
BASELINE_DECAY = 0.08
NUM_POSITION_FEATURES = 8


def position_features(length: int, num: int = NUM_POSITION_FEATURES):
  """(length, num) float32: cos(pi (t / period_i + phase_i)), periods exp(linspace(log 2,
  log length, num)), phases linspace(0, 2, num) ([ref] utils.py's get_position_signal)."""
  periods = jnp.exp(jnp.linspace(math.log(2.0), math.log(max(length, 2)), num))
  phases = jnp.linspace(0.0, 2.0, num)
  t = jnp.arange(length, dtype=jnp.float32)[:, None]
  return jnp.cos(jnp.pi * (t / periods[None] + phases[None])).astype(jnp.float32)


class LayerNormLSTMCell(nn.Module):
  """An LSTM cell with layer norm on its gates: [i, f, g, o] = LN(W x + U h) + b, c' = sigmoid(f +
  1) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c') (the forget bias 1 of Sonnet's LSTM)."""
  hidden: int

  @nn.compact
  def __call__(self, carry, x_BxD):
    c, h = carry
    z = nn.Dense(4 * self.hidden, use_bias=False)(jnp.concatenate([x_BxD, h], axis=-1))
    z = nn.LayerNorm(use_bias=False)(z) + self.param('bias', nn.initializers.zeros,
                                                    (4 * self.hidden,))
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(f + 1.0) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (c, h), h


class SequenceDiscriminator(nn.Module):
  """Per-token logits (B, L) of token rows (B, L), zero after each row's first end symbol."""
  vocab_size: int
  end_id: int = None
  embed: int = 64
  hidden: int = 512
  embedding_dropout: float = 0.1

  @nn.compact
  def __call__(self, tokens_BxL, train: bool = True):
    table = self.param('embedding', nn.initializers.normal(1.0), (self.vocab_size, self.embed))
    if train and self.embedding_dropout:  # One mask for the whole table ([ref] L64, L76).
      table = nn.Dropout(self.embedding_dropout, deterministic=False)(table)
    b, length = tokens_BxL.shape
    x = jnp.concatenate([table[tokens_BxL], jnp.broadcast_to(
        position_features(length), (b, length, NUM_POSITION_FEATURES))], axis=-1)
    x = nn.Dense(self.hidden)(x)
    cell = nn.scan(LayerNormLSTMCell, variable_broadcast='params', split_rngs={'params': False},
                   in_axes=1, out_axes=1)(self.hidden)
    zeros = jnp.zeros((b, self.hidden), x.dtype)
    _, h_BxLxH = cell((zeros, zeros), x)
    logits = nn.Dense(1)(h_BxLxH)[..., 0]
    return logits * counted_tokens(tokens_BxL, self.end_id)


def d_loss(real_logits_BxL, fake_logits_BxL):
  """0.5 CE(real, 1) + 0.5 CE(fake, 0), the mean over every position."""
  ce = optax.sigmoid_binary_cross_entropy
  return jnp.mean(0.5 * ce(real_logits_BxL, jnp.ones_like(real_logits_BxL)) +
                  0.5 * ce(fake_logits_BxL, jnp.zeros_like(fake_logits_BxL)))


def rewards(fake_logits_BxL):
  """2 sigmoid(D_t) - 1: in (-1, 1), 0 where the logit is masked to 0."""
  return 2.0 * jax.nn.sigmoid(fake_logits_BxL) - 1.0


def discounted_returns(rewards_BxL, discount: float = DISCOUNT):
  """R_t = sum_{s >= t} discount^(s - t) r_s, as one matrix product: R = r M, M[s, t] =
  discount^(s - t) for s >= t, else 0."""
  length = rewards_BxL.shape[1]
  s, t = jnp.arange(length)[:, None], jnp.arange(length)[None, :]
  m = jnp.where(s >= t, discount ** jnp.maximum(s - t, 0).astype(jnp.float32), 0.0)
  return rewards_BxL @ m


def update_baseline(baseline, returns_BxL, decay: float = BASELINE_DECAY):
  """decay b + (1 - decay) mean(R) over every position."""
  return decay * baseline + (1.0 - decay) * jnp.mean(returns_BxL)


def g_loss(logp_BxL, returns_BxL, baseline, mask_BxL):
  """-mean(stop_gradient(R - b) log p) over every position, log p counted through the end."""
  advantage = jax.lax.stop_gradient(returns_BxL - baseline)
  return -jnp.mean(advantage * logp_BxL * mask_BxL)
