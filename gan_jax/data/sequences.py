"""Synthetic token-sequence benchmarks of the text-GAN literature, made offline, scored exactly.

- cfg (Rajeswar et al. 2017, "Adversarial generation of natural language"; Texygen's Cfg metric):
  sentences of a seeded probabilistic context-free grammar (`random_grammar`, or the hand-written
  `arithmetic_grammar`). A sentence is scored by whether the grammar derives it: `accepts` runs CYK
  on the grammar's Chomsky normal form, an exact membership test; a model's score is the fraction
  of its sentences accepted (`acceptance_rate`).
- oracle (SeqGAN, Yu et al. 2017; Texygen, Zhu et al. 2018): a randomly initialised LSTM language
  model, every weight and bias drawn N(0, 1) as SeqGAN's target LSTM, is the data distribution
  (`OracleLSTM`, `oracle_params`, `oracle_sample`); any sequence is scored by the oracle's exact,
  teacher-forced negative log-likelihood (`oracle_nll`).

Tokens. A sentence is a tuple of token ids; token id i is `grammar.terminals[i]`. Fixed-length
arrays pad a sentence with a pad id (one past the vocabulary by convention, `len(terminals)`), and
a row of generated tokens ends at its first pad id (`pad_sentences`, `unpad`). Oracle sequences
have a fixed length T and no pad; the oracle is fed a fixed start token (id 0, a vocabulary token
as in SeqGAN) before the first position.

Bounded length. Grammars have no empty productions, so every pending nonterminal of a derivation
yields at least one token; `sample_sentences` abandons a derivation as soon as its emitted tokens
plus its pending symbols exceed `max_len` and draws again. Sentences are therefore distributed as
the PCFG conditioned on length <= max_len (exact rejection sampling), whatever the grammar.

NLL convention. `oracle_nll` is each sequence's whole negative log-likelihood in nats,
-sum_t log p(x_t | start, x_<t) over its T positions, so exp(-nll) sums to 1 over all V^T
sequences. The number the papers tabulate as NLL_oracle is that sum divided by T, averaged over
the sequences (`oracle_nll_per_token`): SeqGAN's target_lstm.py divides the summed token losses by
sequence_length * batch_size and sequence_gan.py's target_loss averages that over batches;
Texygen's Nll metric reuses it. SeqGAN's table (MLE 9.04, SeqGAN 8.74, random 10.31 at V = 5000,
T = 20) is thus per token: summed over the 20 positions it would be some 20 times larger (uniform
tokens alone cost at least log(5000) = 8.52 nats per token, 170 per sequence).

Float32 in JAX; samples and scores are deterministic functions of their seeds, and sequence i of
`oracle_sample` depends on (params, length, seed, i) only, not on how many are drawn.
"""
import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

START_TOKEN = 0  # The oracle's input before position 1 (SeqGAN's START_TOKEN).


@dataclasses.dataclass(frozen=True)
class Rule:
  """lhs -> rhs with probability prob; rhs symbols are terminals or nonterminals, never empty."""
  lhs: str
  rhs: tuple
  prob: float

  def __post_init__(self):
    object.__setattr__(self, 'rhs', tuple(self.rhs))


@dataclasses.dataclass(frozen=True)
class Grammar:
  """A PCFG. Token id i is terminals[i]; the rules of each nonterminal have probabilities summing
  to 1. Symbol names are unique: no name is both a terminal and a nonterminal."""
  nonterminals: tuple
  terminals: tuple
  rules: tuple
  start: str

  def __post_init__(self):
    for field in ('nonterminals', 'terminals', 'rules'):  # Tuples: a grammar is hashable.
      object.__setattr__(self, field, tuple(getattr(self, field)))
    nts, ts = set(self.nonterminals), set(self.terminals)
    if nts & ts or len(nts) != len(self.nonterminals) or len(ts) != len(self.terminals):
      raise ValueError('grammar symbol names must be unique across terminals and nonterminals')
    if self.start not in nts:
      raise ValueError(f'start symbol {self.start!r} is not a nonterminal')
    total = dict.fromkeys(self.nonterminals, 0.0)
    for r in self.rules:
      if r.lhs not in nts or not r.rhs or not set(r.rhs) <= nts | ts or r.prob <= 0:
        raise ValueError(f'bad rule {r}: lhs a nonterminal, rhs non-empty and known, prob > 0')
      total[r.lhs] += r.prob
    bad = {a: p for a, p in total.items() if abs(p - 1.0) > 1e-6}
    if bad:
      raise ValueError(f'rule probabilities of each nonterminal must sum to 1, got {bad}')


def _rules(text: str) -> tuple:
  """Rules from lines 'A -> x y | z 0.3 ...': each alternative ends with its probability."""
  rules = []
  for line in text.strip().splitlines():
    lhs, alternatives = line.split('->')
    for alt in alternatives.split('|'):
      *rhs, prob = alt.split()
      rules.append(Rule(lhs.strip(), tuple(rhs), float(prob)))
  return tuple(rules)


def arithmetic_grammar() -> Grammar:
  """Texygen's default Cfg grammar with probabilities: S -> S op x | x | ( S ), op in + - * /.
  The right operand of an operator is always a bare x: 'x * ( x )' is not a sentence."""
  text = """
      S -> S + x 0.1 | S - x 0.1 | S * x 0.1 | S / x 0.1 | x 0.4 | ( S ) 0.2
  """
  return Grammar(nonterminals=('S',), terminals=('x', '+', '-', '*', '/', '(', ')'),
                 rules=_rules(text), start='S')


def min_length(grammar: Grammar) -> int:
  """The fewest tokens of any sentence of the grammar (a fixed point over its rules)."""
  inf = float('inf')
  shortest = dict.fromkeys(grammar.nonterminals, inf)
  size = lambda sym: shortest[sym] if sym in shortest else 1  # A terminal is one token.
  changed = True
  while changed:
    changed = False
    for r in grammar.rules:
      n = sum(size(sym) for sym in r.rhs)
      if n < shortest[r.lhs]:
        shortest[r.lhs], changed = n, True
  return shortest[grammar.start]


def encode(grammar: Grammar, text: str) -> tuple:
  """'x + x' -> token ids (0, 1, 0): whitespace-separated terminal names."""
  index = {t: i for i, t in enumerate(grammar.terminals)}
  return tuple(index[w] for w in text.split())


def decode(grammar: Grammar, sentence) -> str:
  return ' '.join(grammar.terminals[int(i)] for i in sentence)


def _draw_rhs(rng: np.random.Generator, num_symbols: int, num_terminals: int,
              max_rhs: int) -> tuple:
  """The rhs of a non-stopping rule: 2..max_rhs symbols, each a terminal or a nonterminal with
  equal chance, at least one nonterminal. Symbols: ids < num_terminals are terminals."""
  while True:
    length = rng.integers(2, max_rhs + 1)
    is_nt = rng.random(length) < 0.5
    if is_nt.any():
      return tuple(int(num_terminals + rng.integers(num_symbols - num_terminals)) if nt
                   else int(rng.integers(num_terminals)) for nt in is_nt)


def random_grammar(seed: int, num_terminals: int = 12, num_nonterminals: int = 5,
                   words_per_nonterminal: int = 3, rules_per_nonterminal: int = 3,
                   max_rhs: int = 3, stop_prob: float = 0.5) -> Grammar:
  """A seeded PCFG over terminals 't0'.. and nonterminals 'N0' (the start) ...

  Every nonterminal but the start has `words_per_nonterminal` lexical rules A -> t (distinct
  terminals), sharing probability `stop_prob`; every nonterminal has `rules_per_nonterminal`
  distinct composite rules of 2..max_rhs symbols, each symbol a terminal or a nonterminal with
  equal chance and at least one nonterminal (recursion allowed), sharing the rest. Shares are
  Dirichlet(1) draws. Sentences have at least 2 tokens. With the defaults a rule of a
  non-start nonterminal brings 0.76 nonterminals on average, so most sentences are short;
  whatever the draw, `sample_sentences(max_len=...)` bounds their length exactly, by rejection.
  """
  if not 0 < stop_prob < 1 or rules_per_nonterminal < 1 or max_rhs < 2:
    raise ValueError('need 0 < stop_prob < 1, rules_per_nonterminal >= 1 and max_rhs >= 2')
  if not 1 <= words_per_nonterminal <= num_terminals or num_nonterminals < 2:
    raise ValueError('need 1 <= words_per_nonterminal <= num_terminals, num_nonterminals >= 2')
  rng = np.random.default_rng(seed)
  terminals = tuple(f't{i}' for i in range(num_terminals))
  nonterminals = tuple(f'N{i}' for i in range(num_nonterminals))
  names = terminals + nonterminals
  rules = []
  for a in range(num_nonterminals):
    words = [] if a == 0 else rng.choice(num_terminals, words_per_nonterminal, replace=False)
    composite = set()
    while len(composite) < rules_per_nonterminal:
      composite.add(_draw_rhs(rng, len(names), num_terminals, max_rhs))
    rhss = [(int(w),) for w in words] + sorted(composite)
    stop = stop_prob if len(words) else 0.0
    probs = np.concatenate([stop * rng.dirichlet(np.ones(len(words))) if len(words) else [],
                            (1 - stop) * rng.dirichlet(np.ones(len(composite)))])
    rules.extend(Rule(nonterminals[a], tuple(names[s] for s in rhs), float(p))
                 for rhs, p in zip(rhss, probs))
  return Grammar(nonterminals, terminals, tuple(rules), start=nonterminals[0])


def _expansion_table(grammar: Grammar) -> dict:
  """{nonterminal id: (cumulative probs, rhs tuples)}; symbols: ids < V terminals, >= V not."""
  num_t = len(grammar.terminals)
  ids = {t: i for i, t in enumerate(grammar.terminals)}
  ids.update({a: num_t + j for j, a in enumerate(grammar.nonterminals)})
  table = {}
  for r in grammar.rules:
    cum, rhss = table.setdefault(ids[r.lhs], ([], []))
    cum.append((cum[-1] if cum else 0.0) + r.prob)
    rhss.append(tuple(ids[s] for s in r.rhs))
  return {a: (np.array(cum) / cum[-1], rhss) for a, (cum, rhss) in table.items()}


def _derive(table: dict, start: int, num_t: int, rng: np.random.Generator, max_len: int):
  """One leftmost derivation as token ids, or None once it must exceed max_len tokens."""
  out, stack = [], [start]
  while stack:
    symbol = stack.pop()
    if symbol < num_t:
      out.append(symbol)
      continue
    cum, rhss = table[symbol]
    stack.extend(reversed(rhss[int(np.searchsorted(cum, rng.random(), side='right'))]))
    if len(out) + len(stack) > max_len:
      return None
  return tuple(out)


def sample_sentences(grammar: Grammar, num: int, seed: int, max_len: int = 20,
                     max_tries_per_sentence: int = 1000) -> list:
  """`num` sentences (tuples of token ids) of the PCFG conditioned on length <= max_len."""
  num_t = len(grammar.terminals)
  table = _expansion_table(grammar)
  start = num_t + grammar.nonterminals.index(grammar.start)
  rng = np.random.default_rng(seed)
  sentences, tries = [], 0
  while len(sentences) < num:
    tries += 1
    if tries > max_tries_per_sentence * max(num, 1):
      raise ValueError(f'fewer than 1 in {max_tries_per_sentence} derivations have at most '
                       f'{max_len} tokens: raise max_len or choose another grammar')
    sentence = _derive(table, start, num_t, rng, max_len)
    if sentence is not None:
      sentences.append(sentence)
  return sentences


@dataclasses.dataclass(frozen=True)
class _Cnf:
  """The grammar in Chomsky normal form with unit rules kept apart, over K nonterminals."""
  lexical_VxK: np.ndarray   # [a, A]: A -> a.
  left: np.ndarray          # Binary rule r is lhs[r] -> left[r] right[r].
  right: np.ndarray
  lhs_RxK: np.ndarray       # One-hot lhs of each binary rule, float32.
  closure_KxK: np.ndarray   # [B, A]: A derives B through unit rules (reflexive), float32.
  start: int


@functools.lru_cache(maxsize=16)
def _cnf(grammar: Grammar) -> _Cnf:
  """TERM (a terminal inside a long rule becomes a preterminal), BIN (long rules become chains of
  binary rules over fresh nonterminals); unit rules A -> B are closed transitively. No empty rules
  exist, so no DEL step is needed. The language is unchanged."""
  num_t = len(grammar.terminals)
  nt = {a: j for j, a in enumerate(grammar.nonterminals)}
  tid = {t: i for i, t in enumerate(grammar.terminals)}
  lexical, units, binary = [], [], []  # (terminal, A), (B, A), (A, B, C).
  preterminal = {}
  count = [len(nt)]  # Nonterminals so far: the grammar's, then fresh ones.

  def fresh() -> int:
    count[0] += 1
    return count[0] - 1

  def as_nonterminal(s) -> int:
    if s in nt:
      return nt[s]
    if s not in preterminal:
      preterminal[s] = fresh()
      lexical.append((tid[s], preterminal[s]))
    return preterminal[s]

  for r in grammar.rules:
    a = nt[r.lhs]
    if len(r.rhs) == 1:
      (s,) = r.rhs
      if s in tid:
        lexical.append((tid[s], a))
      else:
        units.append((nt[s], a))
      continue
    symbols = [as_nonterminal(s) for s in r.rhs]
    for s in symbols[:-2]:
      rest = fresh()
      binary.append((a, s, rest))
      a = rest
    binary.append((a, symbols[-2], symbols[-1]))
  k = count[0]
  lex = np.zeros((num_t, k), bool)
  for t, a in lexical:
    lex[t, a] = True
  closure = np.eye(k, dtype=bool)
  for b, a in units:
    closure[b, a] = True
  while True:  # Transitive closure by repeated squaring.
    wider = (closure.astype(np.float32) @ closure.astype(np.float32)) > 0
    if (wider == closure).all():
      break
    closure = wider
  lhs, left, right = np.array(binary, np.int64).reshape(-1, 3).T
  return _Cnf(lex, left, right, np.eye(k, dtype=np.float32)[lhs], closure.astype(np.float32),
              nt[grammar.start])


def _cyk_same_length(cnf: _Cnf, tokens_BxN: np.ndarray) -> np.ndarray:
  """CYK over a batch of sentences of one length N >= 1: chart[L] holds (B, N-L+1, K) booleans,
  which nonterminals derive each span of L tokens."""
  n = tokens_BxN.shape[1]
  close = lambda cells: (cells.astype(np.float32) @ cnf.closure_KxK) > 0
  chart = {1: close(cnf.lexical_VxK[tokens_BxN])}
  for length in range(2, n + 1):
    m = n - length + 1
    left = np.stack([chart[k][:, :m] for k in range(1, length)], axis=2)  # (B, m, L-1, K)
    right = np.stack([chart[length - k][:, k:k + m] for k in range(1, length)], axis=2)
    fired = (left[..., cnf.left] & right[..., cnf.right]).any(axis=2)  # (B, m, R)
    chart[length] = close(fired.astype(np.float32) @ cnf.lhs_RxK)
  return chart[n][:, 0, cnf.start]


def accepts_batch(grammar: Grammar, sentences) -> np.ndarray:
  """Whether the grammar derives each sentence (a sequence of token ids): bool (num,). Exact.
  The empty sentence and sentences with ids outside the vocabulary are rejected."""
  cnf = _cnf(grammar)
  num_t = len(grammar.terminals)
  result = np.zeros(len(sentences), bool)
  by_length = {}
  for i, s in enumerate(sentences):
    s = tuple(int(t) for t in s)
    if s and all(0 <= t < num_t for t in s):
      by_length.setdefault(len(s), []).append((i, s))
  for group in by_length.values():
    rows, tokens = zip(*group)
    result[list(rows)] = _cyk_same_length(cnf, np.array(tokens, np.int64))
  return result


def accepts(grammar: Grammar, sentence) -> bool:
  return bool(accepts_batch(grammar, [sentence])[0])


def pad_sentences(sentences, length: int, pad_id: int) -> np.ndarray:
  """int32 (num, length): each sentence followed by pad_id; longer sentences are an error."""
  out = np.full((len(sentences), length), pad_id, np.int32)
  for i, s in enumerate(sentences):
    if len(s) > length:
      raise ValueError(f'sentence {i} has {len(s)} tokens, more than length={length}')
    out[i, :len(s)] = s
  return out


def unpad(tokens_NxT, pad_id: int) -> list:
  """The sentences of a token array: each row cut at its first pad_id."""
  rows = np.asarray(tokens_NxT)
  ends = np.where((rows == pad_id).any(axis=1), (rows == pad_id).argmax(axis=1), rows.shape[1])
  return [tuple(int(t) for t in row[:end]) for row, end in zip(rows, ends)]


def acceptance_rate(grammar: Grammar, tokens_NxT, pad_id: int) -> float:
  """The cfg score: the fraction of rows (cut at their first pad_id) the grammar accepts."""
  accepted = accepts_batch(grammar, unpad(tokens_NxT, pad_id))
  return float(accepted.mean()) if len(accepted) else float('nan')


class OracleLSTM(nn.Module):
  """SeqGAN's target LSTM: embedding, one LSTM layer (flax's LSTMCell: the same gate equations
  as SeqGAN's recurrent unit), a dense layer giving logits over the vocabulary; every weight and
  bias N(0, 1). `step` advances one token; `__call__` gives teacher-forced logits (N, T, V) of
  x_t given the start token and x_<t."""
  vocab: int
  hidden: int = 32
  embed: int = 32

  def setup(self):
    init = nn.initializers.normal(stddev=1.0)
    self.embedding = nn.Embed(self.vocab, self.embed, embedding_init=init)
    self.cell = nn.LSTMCell(self.hidden, kernel_init=init, recurrent_kernel_init=init,
                            bias_init=init)
    self.readout = nn.Dense(self.vocab, kernel_init=init, bias_init=init)

  def step(self, carry, tokens_B):
    carry, h_BxH = self.cell(carry, self.embedding(tokens_B))
    return carry, self.readout(h_BxH)

  def __call__(self, tokens_NxT):
    inputs_NxT = jnp.concatenate(
        [jnp.full_like(tokens_NxT[:, :1], START_TOKEN), tokens_NxT[:, :-1]], axis=1)
    scan = nn.scan(lambda module, carry, x_B: module.step(carry, x_B),
                   variable_broadcast='params', split_rngs={'params': False},
                   in_axes=1, out_axes=1)
    _, logits_NxTxV = scan(self, zero_carry(tokens_NxT.shape[0], self.hidden), inputs_NxT)
    return logits_NxTxV


def zero_carry(batch: int, hidden: int) -> tuple:
  """The LSTM's initial (cell, hidden) state: zeros, as SeqGAN's h0."""
  zeros = jnp.zeros((batch, hidden), jnp.float32)
  return zeros, zeros


def oracle_params(seed: int, vocab: int = 5000, hidden: int = 32, embed: int = 32) -> dict:
  """The oracle's weights (SeqGAN: vocab 5000, hidden 32, embed 32), every one drawn N(0, 1) by
  numpy from `seed`, leaf after leaf in flax's (sorted) order: no JAX random kernel to compile."""
  model = OracleLSTM(vocab, hidden, embed)
  shapes = jax.eval_shape(functools.partial(model.init, method=OracleLSTM.step),
                          jax.random.PRNGKey(0), zero_carry(1, hidden), jnp.zeros((1,), jnp.int32))
  rng = np.random.default_rng(seed)
  return jax.tree_util.tree_map(
      lambda leaf: jnp.asarray(rng.standard_normal(leaf.shape), jnp.float32), shapes['params'])


def _oracle(params) -> OracleLSTM:
  vocab, embed = params['embedding']['embedding'].shape
  return OracleLSTM(vocab, hidden=params['readout']['kernel'].shape[0], embed=embed)


@jax.jit
def _sample_rows(params, uniforms_NxT):
  """Ancestral sampling by inversion: x_t is the first token whose cumulative probability under
  p(. | start, x_<t) exceeds u_t (u_t scaled by the float32 total, which is 1 up to rounding)."""
  model = _oracle(params)

  def body(state, u_N):
    carry, tokens_N = state
    carry, logits_NxV = model.apply({'params': params}, carry, tokens_N, method=OracleLSTM.step)
    cdf_NxV = jnp.cumsum(jax.nn.softmax(logits_NxV), axis=-1)
    below_NxV = cdf_NxV <= (u_N * cdf_NxV[:, -1])[:, None]
    tokens_N = jnp.minimum(below_NxV.sum(axis=-1), model.vocab - 1).astype(jnp.int32)
    return (carry, tokens_N), tokens_N

  num = uniforms_NxT.shape[0]
  state = (zero_carry(num, model.hidden), jnp.full((num,), START_TOKEN, jnp.int32))
  _, tokens_TxN = jax.lax.scan(body, state, uniforms_NxT.T)
  return tokens_TxN.T


SAMPLE_BLOCK = 1024  # Rows per block of uniforms in oracle_sample.


def oracle_sample(params, num: int, length: int = 20, seed: int = 0) -> np.ndarray:
  """int32 (num, length): ancestral samples from the start token, jitted. The uniforms of row i
  are row i % SAMPLE_BLOCK of numpy's float32 default_rng([seed, i // SAMPLE_BLOCK]).random(
  (SAMPLE_BLOCK, length)): row i depends on (params, length, seed, i) only, not on num."""
  rows_per_call = min(num, SAMPLE_BLOCK)  # One compiled shape per call.
  rows = []
  for block in range(-(-num // SAMPLE_BLOCK)):
    uniforms = np.random.default_rng([seed, block]).random((SAMPLE_BLOCK, length), np.float32)
    needed = min(SAMPLE_BLOCK, num - block * SAMPLE_BLOCK)
    sampled = _sample_rows(params, jnp.asarray(uniforms[:rows_per_call]))
    rows.append(np.asarray(sampled)[:needed])
  return np.concatenate(rows) if rows else np.zeros((0, length), np.int32)


@jax.jit
def _nll_rows(params, tokens_NxT):
  logp_NxTxV = jax.nn.log_softmax(_oracle(params).apply({'params': params}, tokens_NxT))
  picked_NxT = jnp.take_along_axis(logp_NxTxV, tokens_NxT[..., None], axis=-1)[..., 0]
  return -picked_NxT.sum(axis=1)


def oracle_nll(params, tokens_NxT, batch_size: int = 256) -> np.ndarray:
  """float64 (N,): each sequence's exact negative log-likelihood under the oracle, in nats, summed
  over its T positions (teacher forced from the start token). Divide by T for the per-token
  NLL_oracle that SeqGAN and Texygen report (`oracle_nll_per_token`)."""
  tokens = np.asarray(tokens_NxT, np.int32)
  vocab = params['embedding']['embedding'].shape[0]
  if tokens.ndim != 2 or tokens.min(initial=0) < 0 or tokens.max(initial=0) >= vocab:
    raise ValueError(f'tokens must be (N, T) ids in [0, {vocab}), got shape {tokens.shape}')
  return rows_in_chunks(functools.partial(_nll_rows, params), tokens, batch_size)


def rows_in_chunks(fn, rows_NxT: np.ndarray, chunk: int) -> np.ndarray:
  """float64 (N,): fn (int32 rows -> one number a row) over the rows in chunks of one size, the
  last zero-padded, so that a jitted fn compiles once."""
  rows = np.asarray(rows_NxT, np.int32)
  chunk = max(1, min(chunk, len(rows)))
  out = []
  for begin in range(0, len(rows), chunk):
    part = rows[begin:begin + chunk]
    padded = np.concatenate([part, np.zeros((chunk - len(part), rows.shape[1]), np.int32)])
    out.append(np.asarray(fn(padded), np.float64)[:len(part)])
  return np.concatenate(out) if out else np.zeros(0)


def oracle_nll_per_token(params, tokens_NxT, batch_size: int = 256) -> float:
  """NLL_oracle as SeqGAN and Texygen tabulate it: the mean over sequences of nll / T."""
  return float(oracle_nll(params, tokens_NxT, batch_size).mean() / np.shape(tokens_NxT)[1])


def split(items, heldout_fraction: float, seed: int) -> tuple:
  """(train, heldout): a fixed seeded split, round(heldout_fraction * n) items held out, each part
  in the items' original order. Lists and tuples give lists; arrays give arrays."""
  if not 0 <= heldout_fraction < 1:
    raise ValueError(f'heldout_fraction must be in [0, 1), got {heldout_fraction}')
  n = len(items)
  order = np.random.default_rng(seed).permutation(n)
  num_heldout = int(round(heldout_fraction * n))
  heldout_idx, train_idx = np.sort(order[:num_heldout]), np.sort(order[num_heldout:])
  if isinstance(items, np.ndarray):
    return items[train_idx], items[heldout_idx]
  return [items[i] for i in train_idx], [items[i] for i in heldout_idx]
