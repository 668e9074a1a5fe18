"""Length-aware quality for the text evaluator: a rate such as dictionary % or accepted % beside
the rate that random output of the same lengths reaches, and by length.

Short output games such rates (issue 28: uniform random 2-letter strings are 21% dictionary words,
as 139 of the 676 letter pairs are words, against 4 to 14% for the MLE language model's samples of
the data's lengths). So a rate is read with its length-matched floor: the rate of rows of uniformly
random symbols with the samples' own lengths, row by row.
- `dictionary_floor`: words, exactly: a random string of length l is a dictionary word with
  probability (dictionary words of length l over the alphabet) / |alphabet|^l; the floor is the
  mean of that over the samples' lengths.
- `grammar_floor`: cfg, by Monte Carlo: `draws` rows of uniformly random terminals for each
  sample's length (numpy default_rng(seed)), the fraction the grammar accepts.
`length_rates` then gives, for a rate named q: q_floor_percent, q_lift (q minus its floor: what
the samples know of the language beyond their lengths) and q by length bucket (q_len1_2,
q_len3_5, q_len6up: rows of 1-2, 3-5, 6 or more symbols; None for a bucket without rows).
"""
import collections

import numpy as np

from gan_jax.data import sequences
from gan_jax.metrics import text as text_metrics

FLOOR_SEED = 0
GRAMMAR_DRAWS = 4  # Random rows per sample for the grammar's floor.


def bucket_key(name: str) -> str:
  """'1-2' -> 'len1_2', '6+' -> 'len6up' (metric-name safe)."""
  return 'len' + name.replace('-', '_').replace('+', 'up')


def metric_names(rate: str) -> tuple:
  """The names length_rates gives for a rate."""
  return (f'{rate}_floor_percent', f'{rate}_lift') + tuple(
      f'{rate}_{bucket_key(text_metrics.bucket_name(lo, hi))}'
      for lo, hi in text_metrics.LENGTH_BUCKETS)


def words_by_length(dictionary, alphabet) -> collections.Counter:
  """{length: how many dictionary words of that length are spelt over `alphabet`}: counted once
  per reference (the words benchmark's dictionary holds 235k words)."""
  alphabet = set(alphabet)
  return collections.Counter(len(w) for w in set(dictionary) if set(w) <= alphabet)


def dictionary_floor(lengths, per_length: collections.Counter, alphabet_size: int) -> float:
  """100 x the mean over `lengths` of P(a uniformly random string of that length over an
  alphabet of `alphabet_size` symbols is a dictionary word), per_length = words_by_length."""
  if alphabet_size < 1:
    raise ValueError('dictionary_floor needs a non-empty alphabet.')
  lengths = list(lengths)
  if not lengths:
    raise ValueError('dictionary_floor needs at least one length.')
  return 100.0 * float(np.mean([per_length.get(n, 0) / alphabet_size ** n for n in lengths]))


def grammar_floor(lengths, grammar, draws: int = GRAMMAR_DRAWS, seed: int = FLOOR_SEED) -> float:
  """100 x the fraction of `draws` random rows of uniform terminals per length the grammar
  accepts (a length of 0 is never accepted)."""
  lengths = list(lengths)
  if not lengths or draws < 1:
    raise ValueError('grammar_floor needs at least one length and draws >= 1.')
  rng = np.random.default_rng(seed)
  rows = [tuple(rng.integers(len(grammar.terminals), size=n)) for n in lengths
          for _ in range(draws)]
  return 100.0 * float(sequences.accepts_batch(grammar, rows).mean())


def length_rates(rate: str, rows, hits, floor_percent: float) -> dict:
  """The floor, lift and per-length rates of one rate (see the module docstring); `rows` are the
  stripped samples, `hits` one bool each (e.g. is a dictionary word)."""
  hits = [bool(h) for h in hits]
  names = metric_names(rate)
  by_length = text_metrics.percent_by_length(rows, hits)
  return {names[0]: floor_percent, names[1]: 100.0 * float(np.mean(hits)) - floor_percent,
          **{f'{rate}_{bucket_key(b)}': v for b, v in by_length.items()}}
