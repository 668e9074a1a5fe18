"""The language model: an autoregressive recurrent LM, its likelihood and its samples.

`LanguageModel` (lm.cell 'lstm' or 'gru', lm.num_layers layers of lm.hidden units over
lm.embed-dimensional embeddings, dropout lm.dropout) runs over the source's V tokens plus a start
token (id V, an input only). Teacher forced, it predicts every one of a row's L tokens from the
start token and the tokens before it, end symbols and the padding after them included
(`token_nll`); `heldout_nll` is the NLL per token counted up to and including each row's first end
symbol (`counted_tokens`). `sample` draws rows ancestrally from softmax(logits / T) (T = 0: the
argmax), a pure function of (params, seed, stream, index, T).
"""
import functools
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.data import sequences

CELLS = {'lstm': nn.LSTMCell, 'gru': nn.GRUCell}  # lm.cell.
# The run's random streams, fold_in(PRNGKey(seed), STREAM): parameters, dropout (then the step),
# the evaluation's samples (then the temperature's index), the samples written while training.
STREAM_INIT, STREAM_DROPOUT, STREAM_SAMPLES, STREAM_PICTURES = 1, 2, 3, 4
NLL_CHUNK = 500  # Rows per call of the held-out NLL (one compiled shape).


def zero_carry(cell: str, num_layers: int, hidden: int, batch: int) -> tuple:
  """The recurrent state before the start token: zeros, per layer ((c, h) for an LSTM)."""
  zeros = jnp.zeros((batch, hidden), jnp.float32)
  return tuple((zeros, zeros) if cell == 'lstm' else zeros for _ in range(num_layers))


class LanguageModel(nn.Module):
  """p(x_t | start, x_<t) over `vocab_size` tokens; token id `vocab_size` is the start token.
  `step` advances one token; `__call__` gives the teacher-forced logits (N, L, V)."""
  vocab_size: int
  cell: str = 'lstm'
  embed: int = 64
  hidden: int = 256
  num_layers: int = 1
  dropout: float = 0.0

  def setup(self):
    self.embedding = nn.Embed(self.vocab_size + 1, self.embed)
    self.cells = [CELLS[self.cell](self.hidden) for _ in range(self.num_layers)]
    self.drop = nn.Dropout(self.dropout)
    self.readout = nn.Dense(self.vocab_size)

  def initial_carry(self, batch: int) -> tuple:
    return zero_carry(self.cell, self.num_layers, self.hidden, batch)

  def step(self, carry, tokens_B, deterministic: bool = True):
    x_BxH = self.embedding(tokens_B)
    new_carry = []
    for layer_carry, cell in zip(carry, self.cells):
      layer_carry, x_BxH = cell(layer_carry, self.drop(x_BxH, deterministic=deterministic))
      new_carry.append(layer_carry)
    return tuple(new_carry), self.readout(self.drop(x_BxH, deterministic=deterministic))

  def __call__(self, tokens_NxL, deterministic: bool = True):
    n = tokens_NxL.shape[0]
    inputs_NxL = jnp.concatenate(
        [jnp.full((n, 1), self.vocab_size, tokens_NxL.dtype), tokens_NxL[:, :-1]], axis=1)
    scan = nn.scan(lambda module, carry, x_N: module.step(carry, x_N, deterministic),
                   variable_broadcast='params', split_rngs={'params': False, 'dropout': True},
                   in_axes=1, out_axes=1)
    _, logits_NxLxV = scan(self, self.initial_carry(n), inputs_NxL)
    return logits_NxLxV


def build_model(config, vocab_size: int) -> LanguageModel:
  lm = config.lm
  return LanguageModel(vocab_size, cell=lm.cell, embed=lm.embed, hidden=lm.hidden,
                       num_layers=lm.num_layers, dropout=float(lm.dropout))


def token_nll(model: LanguageModel, params, tokens_NxL, dropout_key=None):
  """(N, L) teacher-forced NLL of each token (nats); dropout on when a key is given."""
  rngs = {} if dropout_key is None else {'dropout': dropout_key}
  logits_NxLxV = model.apply({'params': params}, tokens_NxL,
                             deterministic=dropout_key is None, rngs=rngs)
  logp_NxLxV = jax.nn.log_softmax(logits_NxLxV.astype(jnp.float32))
  return -jnp.take_along_axis(logp_NxLxV, tokens_NxL[..., None], axis=-1)[..., 0]


def counted_tokens(tokens_NxL, end_id: Optional[int]):
  """(N, L) bool: the tokens a row's NLL counts, every one up to and including its first end
  symbol (the padding after it, which a model predicts for free, is left out); all of them when
  the vocabulary has no end symbol (end_id None: fixed-length rows)."""
  if end_id is None:
    return jnp.ones(tokens_NxL.shape, bool)
  is_end = tokens_NxL == end_id
  return jnp.cumsum(is_end, axis=1) - is_end == 0


@functools.partial(jax.jit, static_argnums=(0, 3))
def _row_nll(model, params, tokens_NxL, end_id):
  return jnp.sum(token_nll(model, params, tokens_NxL) * counted_tokens(tokens_NxL, end_id), 1)


def heldout_nll(model: LanguageModel, params, rows_NxL: np.ndarray,
                end_id: Optional[int] = None) -> float:
  """The mean NLL per counted token (nats; `counted_tokens`) of the rows, in chunks of NLL_CHUNK
  (one compiled shape)."""
  rows = np.asarray(rows_NxL, np.int32)
  nll_N = sequences.rows_in_chunks(functools.partial(_row_nll, model, params, end_id=end_id),
                                   rows, NLL_CHUNK)
  return float(nll_N.sum() / np.asarray(counted_tokens(rows, end_id)).sum())


def draw(model: LanguageModel, params, key, num: int, length: int, temperature):
  """int32 (num, length): ancestral samples from softmax(logits / temperature) (0: the argmax),
  the token at position t drawn with fold_in(key, t); traceable (jit it, or call it in a jit)."""
  def body(state, t):
    carry, tokens_N = state
    carry, logits_NxV = model.apply({'params': params}, carry, tokens_N,
                                    method=LanguageModel.step)
    logits_NxV = logits_NxV.astype(jnp.float32)
    drawn_N = jax.random.categorical(jax.random.fold_in(key, t),
                                     logits_NxV / jnp.maximum(temperature, 1e-30))
    tokens_N = jnp.where(temperature > 0, drawn_N, jnp.argmax(logits_NxV, axis=-1))
    return (carry, tokens_N.astype(jnp.int32)), tokens_N.astype(jnp.int32)

  start_N = jnp.full((num,), model.vocab_size, jnp.int32)
  carry = zero_carry(model.cell, model.num_layers, model.hidden, num)
  _, tokens_LxN = jax.lax.scan(body, (carry, start_N), jnp.arange(length))
  return tokens_LxN.T


_draw = jax.jit(draw, static_argnums=(0, 3, 4))


def sample(model: LanguageModel, params, num: int, length: int, seed: int, temperature: float,
           index: int = 0, stream: int = STREAM_SAMPLES) -> np.ndarray:
  """int32 (num, length): ancestral samples from softmax(logits / temperature) (0: greedy),
  jitted; the key is fold_in(fold_in(PRNGKey(seed), stream), index)."""
  key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), stream), index)
  return np.asarray(_draw(model, params, key, num, length, jnp.float32(temperature)))
