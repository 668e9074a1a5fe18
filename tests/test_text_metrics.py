"""Text metrics against hand-computed values, direct implementations written here, and nltk."""
import collections
import math
import warnings

import numpy as np
import pytest

from gan_jax.metrics import text

LN2 = math.log(2)


def _random_seqs(rng, num, max_len, vocab=3):
  return [tuple(int(t) for t in rng.integers(vocab, size=rng.integers(max_len + 1)))
          for _ in range(num)]


def test_ngram_counts_known_counts():
  seqs = [('a', 'b', 'a'), ('b',), ('a', 'b')]
  assert text.ngram_counts(seqs, 1) == collections.Counter({('a',): 3, ('b',): 3})
  assert text.ngram_counts(seqs, 2) == collections.Counter({('a', 'b'): 2, ('b', 'a'): 1})
  assert text.ngram_counts(seqs, 3) == collections.Counter({('a', 'b', 'a'): 1})
  assert text.ngram_counts(seqs, 4) == collections.Counter()  # Every sequence is shorter than 4.
  assert text.ngram_counts(['aba', 'b', 'ab'], 2) == text.ngram_counts(seqs, 2)  # str: characters.
  assert text.ngram_counts([[1, 2, 1, 2]], 2) == collections.Counter({(1, 2): 2, (2, 1): 1})
  with pytest.raises(ValueError, match='order'):
    text.ngram_counts(seqs, 0)


def test_js_divergence_two_word_vocabulary():
  # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4):
  # KL(p||m) = ln(1 / (3/4)) = ln(4/3); KL(q||m) = 1/2 ln((1/2)/(3/4)) + 1/2 ln((1/2)/(1/4))
  # = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3); JS = 1/2 ln(4/3) + 1/4 ln(4/3) = 3/4 ln(4/3).
  expected = 0.75 * math.log(4 / 3)
  assert text.js_divergence({'a': 1}, {'a': 1, 'b': 1}) == pytest.approx(expected, rel=1e-12)
  # Only the normalized counts matter, and JS is symmetric.
  assert text.js_divergence({'a': 3, 'b': 3}, {'a': 5}) == pytest.approx(expected, rel=1e-12)
  # p = (3/4, 1/4), q = (1/4, 3/4), m = (1/2, 1/2): KL(p||m) = 3/4 ln(3/2) + 1/4 ln(1/2) = KL(q||m)
  # = 3/4 ln 3 - ln 2.
  got = text.js_divergence({'a': 3, 'b': 1}, {'a': 1, 'b': 3})
  assert got == pytest.approx(0.75 * math.log(3) - LN2, rel=1e-12)


def test_js_divergence_identical_disjoint_and_bounds():
  assert text.js_divergence({'a': 2, 'b': 1}, {'a': 2, 'b': 1}) == 0.0
  assert text.js_divergence({'a': 4, 'b': 2}, {'a': 2, 'b': 1}) == pytest.approx(0.0, abs=1e-15)
  assert text.js_divergence({'a': 1, 'b': 7}, {'c': 2, 'd': 1}) == pytest.approx(LN2, rel=1e-12)
  rng = np.random.default_rng(0)
  for _ in range(20):
    p = dict(enumerate(rng.integers(0, 5, size=6)))
    q = dict(enumerate(rng.integers(1, 5, size=6)))
    value = text.js_divergence(p, q)
    assert 0.0 <= value <= LN2
    assert value == pytest.approx(text.js_divergence(q, p), rel=1e-12)


def test_js_divergence_rejects_empty_and_negative():
  with pytest.raises(ValueError, match='p_counts is empty'):
    text.js_divergence({}, {'a': 1})
  with pytest.raises(ValueError, match='q_counts is empty'):
    text.js_divergence({'a': 1}, collections.Counter())
  with pytest.raises(ValueError, match='negative'):
    text.js_divergence({'a': 1, 'b': -1}, {'a': 1})


def test_ngram_js_hand_computed():
  samples, reference = ['aa', 'ab'], ['ab', 'bb']
  # Unigrams: samples a:3 b:1, reference a:1 b:3: JS = 3/4 ln 3 - ln 2 (as above).
  assert text.ngram_js(samples, reference, 1) == pytest.approx(0.75 * math.log(3) - LN2)
  # Bigrams over (aa, ab, bb): p = (1/2, 1/2, 0), q = (0, 1/2, 1/2), m = (1/4, 1/2, 1/4):
  # KL(p||m) = 1/2 ln 2 + 1/2 ln 1 = KL(q||m), so JS = 1/2 ln 2.
  assert text.ngram_js(samples, reference, 2) == pytest.approx(0.5 * LN2, rel=1e-12)
  assert text.ngram_js(samples, samples, 2) == 0.0
  with pytest.raises(ValueError, match='samples hold no 3-grams'):
    text.ngram_js(samples, ['abc'], 3)
  with pytest.raises(ValueError, match='reference hold no 2-grams'):
    text.ngram_js(samples, ['a', 'b'], 2)


def test_bleu_equal_to_a_reference_is_one():
  hyp = (1, 2, 3, 4, 5)
  for max_n in range(1, 5):
    assert text.bleu(hyp, [(9, 9), hyp, (1, 2, 3)], max_n) == pytest.approx(1.0, rel=1e-15)


def test_bleu_brevity_penalty_and_clipped_count():
  # Hypothesis a a b, reference a b c d. Unigrams: a:2 clipped to a's reference count 1, b:1, so
  # p1 = 2/3. Bigrams (a a), (a b): one in the reference, p2 = 1/2. c = 3 < r = 4: the penalty is
  # exp(1 - 4/3). BLEU-2 = exp(-1/3) * (2/3 * 1/2)^(1/2) = exp(-1/3) / sqrt(3).
  got = text.bleu('aab', ['abcd'], 2)
  assert got == pytest.approx(math.exp(-1 / 3) / math.sqrt(3), rel=1e-12)
  # BLEU-1 = exp(-1/3) * 2/3.
  assert text.bleu('aab', ['abcd'], 1) == pytest.approx(math.exp(-1 / 3) * 2 / 3, rel=1e-12)


def test_bleu_clips_to_the_max_over_references_and_ties_to_the_shorter_length():
  # References a b and a a b c: a's clip count is max(1, 2) = 2, so p1 = 3/3; the bigrams a a and
  # a b are both in a a b c: p2 = 1. Lengths 2 and 4 are both 1 from c = 3: the shorter, 2, is
  # taken and c > r, no penalty. (Taking 4 would give exp(1 - 4/3).)
  assert text.bleu('aab', ['ab', 'aabc'], 2) == pytest.approx(1.0, rel=1e-15)
  # Lengths 2 and 5: 2 is closer, no penalty.
  assert text.bleu('aab', ['ab', 'aacde'], 2) == pytest.approx(1.0, rel=1e-15)


def test_bleu_smoothing_and_short_hypotheses():
  # a b against b a: p1 = 2/2, no bigram matches: 0/1 smoothed to 0.1/1; c = r = 2: penalty 1.
  assert text.bleu('ab', ['ba'], 2) == pytest.approx(math.sqrt(0.1), rel=1e-12)
  assert text.bleu('ab', ['ba'], 2, smoothing=False) == 0.0
  # A hypothesis shorter than n: p2 = 0/1 -> 0.1 (nltk's denominator is at least 1); c = 1 < r = 2.
  assert text.bleu('a', ['ab'], 2) == pytest.approx(math.exp(-1) * math.sqrt(0.1), rel=1e-12)
  # BLEU-3 of a b against a b c: p1 = p2 = 1, p3 = 0.1 / 1; penalty exp(1 - 3/2).
  assert text.bleu('ab', ['abc'], 3) == pytest.approx(math.exp(-0.5) * 0.1 ** (1 / 3), rel=1e-12)
  # No unigram match, or an empty hypothesis: 0, smoothed or not.
  assert text.bleu('cc', ['ab'], 2) == 0.0
  assert text.bleu((), ['ab'], 2) == 0.0


def test_bleu_rejects_bad_arguments():
  with pytest.raises(ValueError, match='No references'):
    text.bleu('ab', [], 2)
  with pytest.raises(ValueError, match='order'):
    text.bleu('ab', ['ab'], 0)


def _bleu_direct(hyp, refs, max_n, smoothing=True):
  """nltk's sentence_bleu algorithm, reference by reference, without precomputed tables."""
  hyp, refs = tuple(hyp), [tuple(r) for r in refs]
  grams = lambda s, n: collections.Counter(tuple(s[i:i + n]) for i in range(len(s) - n + 1))
  log_p = []
  for n in range(1, max_n + 1):
    counts = grams(hyp, n)
    num = sum(min(c, max(grams(r, n)[g] for r in refs)) for g, c in counts.items())
    if n == 1 and num == 0:
      return 0.0
    if num == 0 and not smoothing:
      return 0.0
    log_p.append(math.log((num or 0.1) / max(1, sum(counts.values()))) / max_n)
  r = min((len(ref) for ref in refs), key=lambda length: (abs(length - len(hyp)), length))
  bp = 1.0 if len(hyp) > r else math.exp(1 - r / len(hyp))
  return bp * math.exp(math.fsum(log_p))


def test_bleu_matches_direct_on_random_sets():
  rng = np.random.default_rng(1)
  for trial in range(40):
    refs = _random_seqs(rng, int(rng.integers(1, 6)), 7)
    hyp = _random_seqs(rng, 1, 7)[0]
    for max_n in range(1, 5):
      smoothing = bool(trial % 2)
      assert text.bleu(hyp, refs, max_n, smoothing) == pytest.approx(
          _bleu_direct(hyp, refs, max_n, smoothing), rel=1e-12, abs=1e-15)


def test_corpus_bleu_mean_hand_computed_and_direct():
  # a b matches its reference (1); c has no unigram match (0).
  assert text.corpus_bleu_mean(['ab', 'c'], ['ab'], 2) == pytest.approx(0.5, rel=1e-15)
  rng = np.random.default_rng(2)
  hyps, refs = _random_seqs(rng, 30, 8), _random_seqs(rng, 20, 8)
  for max_n in range(1, 5):
    expected = np.mean([_bleu_direct(h, refs, max_n) for h in hyps])
    assert text.corpus_bleu_mean(hyps, refs, max_n) == pytest.approx(expected, rel=1e-12)


def _self_bleu_direct(samples, max_n, smoothing=True):
  """Each sample against the others at order min(max_n, its length), at least 1."""
  return np.mean([_bleu_direct(s, samples[:i] + samples[i + 1:], max(1, min(max_n, len(s))),
                               smoothing)
                  for i, s in enumerate(samples)])


def test_self_bleu_identical_samples_and_hand_computed():
  assert text.self_bleu(['abcab'] * 3, 4) == pytest.approx(1.0, rel=1e-15)
  # a b and a b have an equal other: 1 each. b a against {a b, a b}: p1 = 1, p2 = 0.1, penalty 1.
  # (With itself among the references, every sample would score 1.)
  got = text.self_bleu(['ab', 'ab', 'ba'], 2)
  assert got == pytest.approx((2 + math.sqrt(0.1)) / 3, rel=1e-12)
  # a a b leaves out its own a:2: the others, a b and a c, clip a to 1; p1 = 2/3, p2 = 1/2, and
  # r = 2 < c = 3. a b against {a a b, a c}: p1 = 1, p2 = 1, r = 2 = c (a c's length). a c against
  # {a a b, a b}: p1 = 1/2, p2 = 0.1 / 1, r = 2.
  expected = (math.sqrt(2 / 3 * 1 / 2) + 1 + math.sqrt(1 / 2 * 0.1)) / 3
  assert text.self_bleu(['aab', 'ab', 'ac'], 2) == pytest.approx(expected, rel=1e-12)


def test_self_bleu_matches_direct_on_random_sets():
  rng = np.random.default_rng(3)
  for trial in range(30):
    samples = _random_seqs(rng, int(rng.integers(2, 9)), 6, vocab=int(rng.integers(2, 4)))
    for max_n in range(1, 5):
      smoothing = bool(trial % 3)
      assert text.self_bleu(samples, max_n, smoothing) == pytest.approx(
          _self_bleu_direct(samples, max_n, smoothing), rel=1e-12, abs=1e-15)


def test_identical_short_rows_score_one_not_nltk_s_0_562():
  # Issue 28: at order 4 nltk gives an identical 3-token row 0.1 ** (1 / 4) = 0.562.
  assert text.bleu('abc', ['abc'], 4) == pytest.approx(0.1 ** 0.25, rel=1e-12)
  assert text.self_bleu(['abc'] * 5, 4) == pytest.approx(1.0, rel=1e-15)
  assert text.self_bleu(['a', 'a'], 4) == pytest.approx(1.0, rel=1e-15)
  # Distinct 2-letter rows over 2 letters: ab against {ba}: p1 = 1, p2 = 0.1 -> sqrt(0.1).
  assert text.self_bleu(['ab', 'ba'], 4) == pytest.approx(math.sqrt(0.1), rel=1e-12)
  # Short rows no longer read as diverse: repeated 2-letter rows beat varied 6-letter rows.
  assert text.self_bleu(['ab', 'ab', 'cd', 'cd'], 4) > text.self_bleu(
      ['abcdef', 'fedcba', 'acebdf', 'bdface'], 4)


def test_distinct_n_hand_computed():
  # a b a b: bigrams ab, ba, ab -> 2 distinct of 3; a b c: ab, bc -> with the first, 3 of 5.
  assert text.distinct_n(['abab'], 2) == pytest.approx(2 / 3)
  assert text.distinct_n(['abab', 'abc'], 2) == pytest.approx(3 / 5)
  assert text.distinct_n(['abc', 'abc'], 1) == pytest.approx(3 / 6)
  assert text.distinct_n([(1, 2), (3, 4)], 2) == 1.0
  assert text.distinct_n(['a', 'b'], 2) is None  # No row has two tokens.


def test_length_stats_and_js_in_bits():
  got = text.length_stats(['ab', 'abcd'], ['abc', 'abc', 'abcde'])
  assert got['mean_length'] == 3.0 and got['std_length'] == pytest.approx(math.sqrt(2))
  assert got['ref_mean_length'] == pytest.approx(11 / 3)
  assert got['length_js_bits'] == 1.0  # Lengths 2, 4 against 3, 5: disjoint histograms.
  assert text.length_stats(['ab', 'cd'], ['xy'])['length_js_bits'] == 0.0
  # p = (1/2, 1/2) over {1, 2}, q = (1) on {1}: m = (3/4, 1/4).
  expected = 0.5 * (0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)) \
      + 0.5 * math.log2(1 / 0.75)
  assert text.length_stats(['a', 'ab'], ['a'])['length_js_bits'] == pytest.approx(expected)
  assert text.js_bits({'a': 1}, {'b': 1}) == 1.0
  with pytest.raises(ValueError, match='needs samples'):
    text.length_stats([], ['a'])


def test_self_bleu_needs_two_samples():
  with pytest.raises(ValueError, match='at least 2'):
    text.self_bleu(['ab'], 2)


def test_word_stats_tiny_word_set():
  dictionary, train, heldout = {'ab', 'ba', 'aa'}, {'ab'}, {'ab', 'ba'}
  stats = text.word_stats(['ab', 'ba', 'ba', 'bb'], dictionary, train, heldout)
  assert stats == {
      'dictionary_percent': 75.0,  # ab, ba, ba.
      'heldout_percent': 50.0,  # ba, ba: held out and not in train (ab is in train).
      'copied_percent': 25.0,  # ab.
      'unique_percent': 75.0,  # ab, ba, bb of 4.
      'num_samples': 4}
  with pytest.raises(ValueError, match='No samples'):
    text.word_stats([], dictionary, train, heldout)


def test_unique_percent():
  assert text.unique_percent([(1, 2), [1, 2], (2, 1)]) == pytest.approx(200 / 3)
  assert text.unique_percent(['x'] * 4) == 25.0
  with pytest.raises(ValueError, match='No samples'):
    text.unique_percent([])


def test_bleu_and_self_bleu_match_nltk():
  bleu_score = pytest.importorskip('nltk.translate.bleu_score')
  method1 = bleu_score.SmoothingFunction().method1
  rng = np.random.default_rng(4)
  for _ in range(40):
    refs = _random_seqs(rng, int(rng.integers(1, 6)), 8)
    hyp = _random_seqs(rng, 1, 8)[0]
    for max_n in range(1, 5):
      weights = (1 / max_n,) * max_n
      expected = bleu_score.sentence_bleu(refs, hyp, weights, smoothing_function=method1)
      assert text.bleu(hyp, refs, max_n) == pytest.approx(expected, rel=1e-12, abs=1e-15)
      with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # method0 warns of a zero precision, and returns ~1e-77.
        expected = bleu_score.sentence_bleu(refs, hyp, weights)
      assert text.bleu(hyp, refs, max_n, smoothing=False) == pytest.approx(expected, abs=1e-70)
  samples = _random_seqs(rng, 12, 6)
  orders = [max(1, min(3, len(s))) for s in samples]
  assert min(orders) < 3 < max(len(s) for s in samples)  # Both kinds of row are checked.
  expected = np.mean([bleu_score.sentence_bleu(samples[:i] + samples[i + 1:], s,
                                               (1 / k,) * k, smoothing_function=method1)
                      for i, (s, k) in enumerate(zip(samples, orders))])
  assert text.self_bleu(samples, 3) == pytest.approx(expected, rel=1e-12)


def test_random_rows_follow_the_reference_lengths():
  reference = ['ab'] * 300 + ['abcde'] * 100
  rows = text.random_rows_like(reference, 'xyz', 4000, seed=0)
  lengths = collections.Counter(len(r) for r in rows)
  assert set(lengths) == {2, 5} and abs(lengths[2] / 4000 - 0.75) < 0.03
  assert set(''.join(rows)) == set('xyz')
  assert rows == text.random_rows_like(reference, 'xyz', 4000, seed=0)  # Seeded.
  # Uniform letters: 2-letter rows over 3 letters hit a 3-word dictionary 3/9 of the time.
  dictionary = {'xy', 'yz', 'zz'}
  two = [r for r in rows if len(r) == 2]
  assert abs(np.mean([r in dictionary for r in two]) - 1 / 3) < 0.03
  with pytest.raises(ValueError, match='needs reference rows'):
    text.random_rows_like([], 'ab', 3, 0)


def test_percent_by_length_buckets():
  samples = ['a', 'ab', 'abc', 'abcdef', 'abcdefg', 'abcd']
  hits = [True, False, True, True, False, False]
  assert text.percent_by_length(samples, hits) == {'1-2': 50.0, '3-5': 50.0, '6+': 50.0}
  assert text.percent_by_length(['ab'], [True]) == {'1-2': 100.0, '3-5': None, '6+': None}
  with pytest.raises(ValueError, match='1 samples but 2 hits'):
    text.percent_by_length(['a'], [True, False])
