"""Length-matched floors of text rates (evaluators/text_length.py): the exact dictionary floor
against Monte Carlo over random strings, the grammar floor against enumeration, and the names."""
import itertools

import numpy as np
import pytest

from gan_jax.data import sequences
from gan_jax.evaluators import text_length
from gan_jax.metrics import text as text_metrics


def test_dictionary_floor_is_the_chance_a_random_string_of_that_length_is_a_word():
  dictionary = {'a', 'ab', 'ba', 'abc', 'zzz', 'ab1'}  # 'zzz', 'ab1' are not over the alphabet.
  alphabet = 'abc'
  # Length 1: 1 of 3; length 2: 2 of 9; length 3: 1 of 27; length 0 and 4: none.
  counts = text_length.words_by_length(dictionary, alphabet)
  assert counts == {1: 1, 2: 2, 3: 1}
  assert text_length.dictionary_floor([1, 2, 3, 0, 4], counts, 3) == pytest.approx(
      100 * (1 / 3 + 2 / 9 + 1 / 27) / 5)
  rows = text_metrics.random_rows_like(['xx', 'yyy'], alphabet, 60_000, seed=1)
  monte_carlo = 100 * np.mean([r in dictionary for r in rows])
  exact = text_length.dictionary_floor([len(r) for r in rows], counts, 3)
  assert monte_carlo == pytest.approx(exact, abs=0.5)  # Binomial sd about 0.13 points.
  with pytest.raises(ValueError, match='alphabet'):
    text_length.dictionary_floor([1], counts, 0)


def test_grammar_floor_matches_the_share_of_all_strings_the_grammar_accepts():
  grammar = sequences.arithmetic_grammar()
  t = len(grammar.terminals)
  for n in (1, 3):
    every = list(itertools.product(range(t), repeat=n))
    share = 100 * sequences.accepts_batch(grammar, every).mean()
    floor = text_length.grammar_floor([n] * 500, grammar, draws=8, seed=3)
    assert floor == pytest.approx(share, abs=3.0), n  # 4,000 draws: sd under 1 point.
  assert text_length.grammar_floor([0, 0], grammar) == 0.0


def test_length_rates_names_lift_and_buckets():
  rows = ['a', 'abcd', 'abcdefg', 'ab']
  m = text_length.length_rates('dictionary', rows, [True, False, True, False], 10.0)
  assert set(m) == set(text_length.metric_names('dictionary'))
  assert m['dictionary_floor_percent'] == 10.0 and m['dictionary_lift'] == 40.0
  assert (m['dictionary_len1_2'], m['dictionary_len3_5'], m['dictionary_len6up']) == (
      50.0, 0.0, 100.0)
