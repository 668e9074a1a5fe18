import itertools

import jax
import numpy as np
import pytest
from scipy import stats

from gan_jax.data import sequences

# The arithmetic grammar (Texygen's Cfg): S -> S + x | S - x | S * x | S / x | x | ( S ).
# Token ids: x 0, + 1, - 2, * 3, / 4, ( 5, ) 6.
ACCEPTED = [
    'x',              # S -> x.
    'x + x',          # S -> S + x -> x + x.
    'x / x - x',      # S -> S - x -> S / x - x -> x / x - x: operators chain to the left.
    '( x )',          # S -> ( S ) -> ( x ).
    '( ( x ) )',      # Parentheses nest: S -> ( S ) -> ( ( S ) ).
    '( x + x ) * x',  # S -> S * x, that S -> ( S ) -> ( S + x ) -> ( x + x ).
    '( x ) - x',      # S -> S - x, that S -> ( S ) -> ( x ).
]
REJECTED = [
    '',               # No rule derives the empty sentence.
    '+',              # An operator alone: every S holds an x.
    'x x',            # Two operands side by side: no rule puts S next to S.
    'x +',            # S -> S + x: an operator needs its right operand.
    '+ x',            # No rule starts with an operator.
    'x * ( x )',      # The right operand of an operator is always a bare x, never ( S ).
    '( x',            # ( S ) always closes.
    'x )',            # A ) needs its (.
    '( )',            # ( S ) encloses an S, which is never empty.
    'x + + x',        # S + x: the right operand of the first + would be '+ x', not x.
]


def _language(grammar: sequences.Grammar, max_len: int) -> set:
  """Every sentence of at most max_len tokens, by expanding the leftmost nonterminal of every
  sentential form (no empty rules: a form never shrinks, so longer forms are cut)."""
  nonterminals = set(grammar.nonterminals)
  rhs_of = {}
  for rule in grammar.rules:
    rhs_of.setdefault(rule.lhs, []).append(rule.rhs)
  seen, todo, sentences = set(), [(grammar.start,)], set()
  while todo:
    form = todo.pop()
    i = next((k for k, s in enumerate(form) if s in nonterminals), None)
    if i is None:
      sentences.add(sequences.encode(grammar, ' '.join(form)))
      continue
    for rhs in rhs_of[form[i]]:
      new = form[:i] + rhs + form[i + 1:]
      if len(new) <= max_len and new not in seen:
        seen.add(new)
        todo.append(new)
  return sentences


def test_arithmetic_grammar_hand_listed_sentences():
  g = sequences.arithmetic_grammar()
  assert sequences.encode(g, '( x + x ) * x') == (5, 0, 1, 0, 6, 3, 0)
  for text in ACCEPTED:
    assert sequences.accepts(g, sequences.encode(g, text)), text
  for text in REJECTED:
    assert not sequences.accepts(g, sequences.encode(g, text)), text
  assert not sequences.accepts(g, (7,))  # Outside the vocabulary.


@pytest.mark.parametrize('grammar, max_len', [
    (sequences.arithmetic_grammar(), 5),
    (sequences.random_grammar(0), 4),
])
def test_accepts_is_exact_on_every_short_string(grammar, max_len):
  # Every string over the vocabulary of 1..max_len tokens: accepted iff a derivation makes it.
  language = _language(grammar, max_len)
  strings = [s for n in range(1, max_len + 1)
             for s in itertools.product(range(len(grammar.terminals)), repeat=n)]
  accepted = {s for s, ok in zip(strings, sequences.accepts_batch(grammar, strings)) if ok}
  assert accepted == language and len(language) >= 10


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_random_grammar_sentences_are_accepted_varied_and_bounded(seed):
  g = sequences.random_grammar(seed)
  sentences = sequences.sample_sentences(g, 2000, seed=7, max_len=20)
  assert sequences.accepts_batch(g, sentences).all()
  lengths = np.array([len(s) for s in sentences])
  assert lengths.min() >= 2 and lengths.max() <= 20 and lengths.max() >= 10
  assert len(set(sentences)) >= 200  # Non-trivial: many distinct sentences.
  # Random strings of the same lengths are almost never sentences.
  rng = np.random.default_rng(seed)
  noise = [tuple(rng.integers(len(g.terminals), size=n)) for n in lengths]
  assert sequences.accepts_batch(g, noise).mean() < 0.1


def test_sample_sentences_bound_length_exactly_by_rejection():
  g = sequences.arithmetic_grammar()
  sentences = sequences.sample_sentences(g, 3000, seed=0, max_len=3)
  assert {len(s) for s in sentences} <= {1, 3} and sequences.accepts_batch(g, sentences).all()
  # Conditioned on length <= 3, P('x') = 0.4 / (0.4 + 4 * 0.1 * 0.4 + 0.2 * 0.4) = 0.4 / 0.64.
  assert abs(sentences.count((0,)) / 3000 - 0.4 / 0.64) < 0.03
  with pytest.raises(ValueError, match='max_len'):
    sequences.sample_sentences(sequences.random_grammar(0), 1, seed=0, max_len=1,
                               max_tries_per_sentence=50)


def test_grammar_and_samples_are_deterministic_per_seed():
  assert sequences.random_grammar(3) == sequences.random_grammar(3)
  assert sequences.random_grammar(3) != sequences.random_grammar(4)
  g = sequences.random_grammar(3)
  first = sequences.sample_sentences(g, 100, seed=5)
  assert first == sequences.sample_sentences(g, 100, seed=5)
  assert first != sequences.sample_sentences(g, 100, seed=6)


def test_grammar_validation():
  with pytest.raises(ValueError, match='sum to 1'):
    sequences.Grammar(('S',), ('a',), (sequences.Rule('S', ('a',), 0.5),), 'S')
  with pytest.raises(ValueError, match='bad rule'):
    sequences.Grammar(('S',), ('a',), (sequences.Rule('S', (), 1.0),), 'S')
  with pytest.raises(ValueError, match='unique'):
    sequences.Grammar(('S',), ('S',), (), 'S')


def test_pad_unpad_and_acceptance_rate():
  g = sequences.arithmetic_grammar()
  pad = len(g.terminals)
  sentences = sequences.sample_sentences(g, 50, seed=1, max_len=9)
  tokens = sequences.pad_sentences(sentences, 9, pad)
  assert tokens.shape == (50, 9) and tokens.dtype == np.int32
  assert sequences.unpad(tokens, pad) == sentences
  assert sequences.acceptance_rate(g, tokens, pad) == 1.0
  # Rows 'x x' and 'x + x' (then pad, then ignored tokens): half accepted.
  rows = np.array([[0, 0, pad, 0], [0, 1, 0, pad]])
  assert sequences.acceptance_rate(g, rows, pad) == 0.5
  with pytest.raises(ValueError):
    sequences.pad_sentences([(0,) * 10], 9, pad)


def _reference_nll(params, tokens) -> float:
  """SeqGAN's target LSTM step by step in float64 numpy, from the start token 0."""
  p = jax.tree_util.tree_map(lambda v: np.asarray(v, np.float64), params)
  cell = p['cell']
  hidden = p['readout']['kernel'].shape[0]
  c, h, previous, nll = np.zeros(hidden), np.zeros(hidden), 0, 0.0
  sigmoid = lambda a: 1 / (1 + np.exp(-a))
  for token in tokens:
    x = p['embedding']['embedding'][previous]
    gate = lambda g: (x @ cell['i' + g]['kernel'] + h @ cell['h' + g]['kernel']
                      + cell['h' + g]['bias'])
    i, f, o, g = sigmoid(gate('i')), sigmoid(gate('f')), sigmoid(gate('o')), np.tanh(gate('g'))
    c = f * c + i * g
    h = o * np.tanh(c)
    logits = h @ p['readout']['kernel'] + p['readout']['bias']
    log_probs = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
    nll -= log_probs[token]
    previous = token
  return nll


def test_tiny_oracle_is_a_normalised_distribution_its_samples_follow():
  params = sequences.oracle_params(0, vocab=3, hidden=4, embed=4)
  every = np.array(list(itertools.product(range(3), repeat=4)))  # All 3^4 = 81 sequences.
  nll = sequences.oracle_nll(params, every)
  assert nll.shape == (81,)
  np.testing.assert_allclose(nll, [_reference_nll(params, s) for s in every], rtol=1e-4,
                             atol=1e-4)
  probs = np.exp(-nll)
  assert abs(probs.sum() - 1) < 1e-5
  # 20,000 samples: frequencies against exp(-nll) by a chi-square test, cells with fewer than 5
  # expected samples pooled; and a total-variation distance of sampling noise size.
  num = 20_000
  samples = sequences.oracle_sample(params, num, length=4, seed=0)
  assert samples.shape == (num, 4) and samples.dtype == np.int32
  counts = np.bincount(samples @ 3 ** np.arange(3, -1, -1), minlength=81)
  expected = num * probs
  big = expected >= 5
  observed = np.append(counts[big], counts[~big].sum())
  pooled = np.append(expected[big], expected[~big].sum())
  chi2 = ((observed - pooled) ** 2 / pooled).sum()
  assert stats.chi2.sf(chi2, len(pooled) - 1) > 1e-3
  assert np.abs(counts / num - probs).sum() / 2 < 0.03


def test_oracle_samples_are_likelier_than_random_sequences():
  params = sequences.oracle_params(1, vocab=100, hidden=32, embed=32)
  samples = sequences.oracle_sample(params, 500, length=20, seed=0)
  noise = np.random.default_rng(0).integers(100, size=(500, 20))
  per_token = sequences.oracle_nll_per_token(params, samples)
  assert per_token == pytest.approx(sequences.oracle_nll(params, samples).mean() / 20)
  # Uniform tokens cost at least log(100) nats each under any model (Gibbs' inequality); the
  # peaked N(0, 1) oracle's own samples cost far less.
  assert per_token < np.log(100) - 1 < np.log(100) < sequences.oracle_nll_per_token(params, noise)


def test_oracle_is_deterministic_per_seed():
  # The sizes and shapes of the test above: its compiled functions are reused.
  params = sequences.oracle_params(2, vocab=100, hidden=32, embed=32)
  again = sequences.oracle_params(2, vocab=100, hidden=32, embed=32)
  other = sequences.oracle_params(3, vocab=100, hidden=32, embed=32)
  assert all(np.array_equal(a, b) for a, b in zip(_leaves(params), _leaves(again)))
  assert not np.array_equal(_leaves(params)[0], _leaves(other)[0])
  many = sequences.oracle_sample(params, 500, length=20, seed=4)
  np.testing.assert_array_equal(many, sequences.oracle_sample(params, 500, length=20, seed=4))
  assert not np.array_equal(many, sequences.oracle_sample(params, 500, length=20, seed=5))
  # Row i depends on (seed, i) only: a shorter draw is a prefix of a longer one.
  np.testing.assert_array_equal(many[:10], sequences.oracle_sample(params, 10, length=20, seed=4))
  # Scores do not depend on the batch size.
  np.testing.assert_allclose(sequences.oracle_nll(params, many, batch_size=100),
                             sequences.oracle_nll(params, many), rtol=1e-6)
  with pytest.raises(ValueError):
    sequences.oracle_nll(params, np.full((2, 20), 100))


def _leaves(params) -> list:
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(params)]


def test_oracle_weights_are_standard_normal_in_seqgan_shapes():
  params = sequences.oracle_params(0)  # SeqGAN: vocab 5000, hidden 32, embed 32.
  assert params['embedding']['embedding'].shape == (5000, 32)
  assert params['readout']['kernel'].shape == (32, 5000)
  assert params['cell']['hi']['kernel'].shape == (32, 32)
  values = np.concatenate([x.ravel() for x in _leaves(params)])
  assert abs(values.mean()) < 0.01 and abs(values.std() - 1) < 0.01


def test_split_is_fixed_disjoint_and_complete():
  items = [f'item{i}' for i in range(100)]
  train, heldout = sequences.split(items, 0.2, seed=0)
  assert len(train) == 80 and len(heldout) == 20
  assert sorted(train + heldout) == sorted(items) and not set(train) & set(heldout)
  assert train == sorted(train, key=items.index)  # Original order kept.
  assert (train, heldout) == sequences.split(items, 0.2, seed=0)
  assert heldout != sequences.split(items, 0.2, seed=1)[1]
  array_train, array_heldout = sequences.split(np.arange(100), 0.2, seed=0)
  assert [items[i] for i in array_heldout] == heldout and len(array_train) == 80
  with pytest.raises(ValueError):
    sequences.split(items, 1.0, seed=0)
