"""Metrics of generated text against held-out text (plain Python and numpy float64).

A sequence is a tuple or list of hashable tokens (ints, or 1-character strings; a str is read as
its characters). The caller strips padding and end symbols first: every token given counts, in
n-grams and in lengths.

- `ngram_counts`, `js_divergence`, `ngram_js`: Jensen-Shannon divergence (natural log, in
  [0, ln 2]) between the n-gram distributions of the samples and of the held-out split, n = 1..4
  (Rajeswar et al. 2017, "Adversarial generation of natural language"). The floor to report beside
  it is `ngram_js(train, heldout, n)`.
- `bleu`: sentence BLEU-n (Papineni et al. 2002) exactly as nltk's `sentence_bleu` computes it with
  uniform weights and `SmoothingFunction().method1`, the choice of Texygen (Zhu et al. 2018).
- `corpus_bleu_mean`: the mean sentence BLEU of each hypothesis against all the references,
  Texygen's BLEU (SeqGAN's, Yu et al. 2017, against held-out text); `self_bleu`: the mean BLEU of
  each sample against all the other samples, Texygen's self-BLEU (lower: more diverse), a sample
  shorter than n scored at its own length (so short rows cannot read as diverse). Both
  precompute the clip counts and the lengths of the reference set once: O(H + R) n-gram lookups
  instead of nltk's O(H x R).
- `distinct_n`: distinct n-grams over all n-grams (Li et al. 2016); `length_stats`: the samples'
  length distribution against the reference's (mean, std, JS of the histograms in bits).
- `word_stats`, `unique_percent`: for a word list, the percent of samples that are dictionary
  words, held-out words never seen in training, copies of training words, and distinct samples.
  A grammar's acceptance rate is the grammar's own test; `unique_percent` goes beside it.
"""
import bisect
import collections
import math

import numpy as np

EPSILON = 0.1  # nltk's SmoothingFunction().method1: a precision 0 / d becomes EPSILON / d.


def _check_order(n: int):
  if int(n) != n or n < 1:
    raise ValueError(f'The n-gram order must be an integer >= 1, got {n}.')


def _ngrams(seq: tuple, n: int):
  return zip(*(seq[i:] for i in range(n)))


def ngram_counts(seqs, n: int) -> collections.Counter:
  """Counts of the n-grams (tuples of n tokens) over all sequences; one shorter than n adds none."""
  _check_order(n)
  counts = collections.Counter()
  for seq in seqs:
    counts.update(_ngrams(tuple(seq), n))
  return counts


def _distribution(counts, keys, name: str) -> np.ndarray:
  c = np.array([counts.get(k, 0) for k in keys], np.float64)
  if np.any(c < 0):
    raise ValueError(f'{name} holds negative counts.')
  if not c.sum():
    raise ValueError(f'{name} is empty: no counts to make a distribution of.')
  return c / c.sum()


def js_divergence(p_counts, q_counts) -> float:
  """JS(p, q) = KL(p || m) / 2 + KL(q || m) / 2, m = (p + q) / 2, natural log (0 to ln 2), for the
  distributions p and q that the two mappings of counts make over the union of their keys."""
  keys = list(set(p_counts) | set(q_counts))
  p = _distribution(p_counts, keys, 'p_counts')
  q = _distribution(q_counts, keys, 'q_counts')
  m = 0.5 * (p + q)
  kl_pm = np.sum(p[p > 0] * np.log(p[p > 0] / m[p > 0]))
  kl_qm = np.sum(q[q > 0] * np.log(q[q > 0] / m[q > 0]))
  return float(min(max(0.5 * (kl_pm + kl_qm), 0.0), math.log(2)))


def ngram_js(samples, reference, n: int) -> float:
  """JS divergence between the n-gram distributions of two sets of sequences."""
  p, q = ngram_counts(samples, n), ngram_counts(reference, n)
  for name, counts in (('samples', p), ('reference', q)):
    if not counts:
      raise ValueError(f'The {name} hold no {n}-grams (empty, or every sequence shorter than {n}).')
  return js_divergence(p, q)


def _score(nums: list, dens: list, hyp_len: int, ref_len: int, smoothing: bool) -> float:
  """BLEU from the clipped counts and totals per order, as nltk's corpus_bleu combines them."""
  if nums[0] == 0:  # nltk: no unigram match (an empty hypothesis too) gives 0, smoothed or not.
    return 0.0
  if not smoothing and min(nums) == 0:  # nltk's method0 gives exp(log(2.2e-308) / max_n) ~ 0.
    return 0.0
  w = 1 / len(nums)
  log_p = (w * math.log((num if num else EPSILON) / den) for num, den in zip(nums, dens))
  bp = 1 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
  return bp * math.exp(math.fsum(log_p))


def _clipped(hyp: tuple, max_n: int, max_count) -> tuple[list, list]:
  """Per order n: the hypothesis n-grams clipped by max_count(n, gram), and their total (at
  least 1: nltk's denominator for a hypothesis shorter than n)."""
  nums, dens = [], []
  for n in range(1, max_n + 1):
    counts = collections.Counter(_ngrams(hyp, n))
    nums.append(sum(min(c, max_count(n, g)) for g, c in counts.items()))
    dens.append(max(1, sum(counts.values())))
  return nums, dens


def _closest(lengths: list, hyp_len: int) -> int:
  """The length in sorted `lengths` closest to hyp_len, the shorter on a tie (nltk's rule)."""
  i = bisect.bisect_left(lengths, hyp_len)
  return min(lengths[max(i - 1, 0):i + 1], key=lambda r: (abs(r - hyp_len), r))


def _max_counts(refs: list, max_n: int) -> list[dict]:
  """Per order n, n-gram -> its largest count in any one reference (the clip count)."""
  tables = [{} for _ in range(max_n)]
  for ref in refs:
    for n, table in enumerate(tables, 1):
      for g, c in collections.Counter(_ngrams(ref, n)).items():
        if c > table.get(g, 0):
          table[g] = c
  return tables


def _tuples(seqs, name: str) -> list:
  out = [tuple(s) for s in seqs]
  if not out:
    raise ValueError(f'No {name} given.')
  return out


def corpus_bleu_mean(hypotheses, references, max_n: int, smoothing: bool = True) -> float:
  """Mean over the hypotheses of `bleu(hypothesis, references, max_n, smoothing)`."""
  _check_order(max_n)
  hyps, refs = _tuples(hypotheses, 'hypotheses'), _tuples(references, 'references')
  tables = _max_counts(refs, max_n)
  lengths = sorted(set(len(r) for r in refs))
  max_count = lambda n, g: tables[n - 1].get(g, 0)
  scores = [_score(*_clipped(h, max_n, max_count), len(h), _closest(lengths, len(h)), smoothing)
            for h in hyps]
  return math.fsum(scores) / len(scores)


def bleu(hypothesis, references, max_n: int, smoothing: bool = True) -> float:
  """Sentence BLEU-max_n of one hypothesis against a list of references, as nltk's
  `sentence_bleu(references, hypothesis, weights=(1/max_n,)*max_n,
  smoothing_function=SmoothingFunction().method1)` (smoothing=False: nltk's default method0).

  Precision p_n: the hypothesis n-grams, each count clipped to its largest count in any one
  reference, over the number of hypothesis n-grams. Brevity penalty exp(1 - r / c) when the
  hypothesis length c is <= r, the reference length closest to c (the shorter on a tie); else 1.
  BLEU = penalty * exp(sum_n log(p_n) / max_n). As in nltk:
  - a hypothesis with no unigram in any reference, an empty one included, scores 0;
  - with smoothing, a precision 0 / d becomes 0.1 / d; a hypothesis shorter than n has
    precision 0 / 1 (nltk's denominator is at least 1), so 0.1: short hypotheses are penalized,
    not skipped;
  - without smoothing, any zero precision gives 0 (nltk returns exp(log(2.2e-308) / max_n),
    about 1e-77 or less, with a warning).
  """
  return corpus_bleu_mean([hypothesis], references, max_n, smoothing)


def _top_two_counts(seqs: list, max_n: int) -> list[dict]:
  """Per order n, n-gram -> (largest count in one sequence, that sequence's index, the largest
  count in any other sequence): the clip count with any one sequence left out."""
  tables = [{} for _ in range(max_n)]
  for idx, seq in enumerate(seqs):
    for n, table in enumerate(tables, 1):
      for g, c in collections.Counter(_ngrams(seq, n)).items():
        best, holder, second = table.get(g, (0, -1, 0))
        if c > best:
          table[g] = (c, idx, best)
        elif c > second:
          table[g] = (best, holder, c)
  return tables


def _closest_other(lengths: list, multiplicity: dict, hyp_len: int) -> int:
  """`_closest` over the multiset of lengths less one copy of hyp_len (the hypothesis's own)."""
  if multiplicity[hyp_len] > 1:
    return hyp_len
  i = bisect.bisect_left(lengths, hyp_len)  # lengths[i] == hyp_len.
  return min(lengths[max(i - 1, 0):i] + lengths[i + 1:i + 2],
             key=lambda r: (abs(r - hyp_len), r))


def self_bleu(samples, max_n: int, smoothing: bool = True) -> float:
  """Mean over the samples of `bleu(sample, the other samples, order, smoothing)`, order =
  min(max_n, the sample's length) (at least 1): a duplicate of a sample among the others counts,
  so two equal samples both score 1 at any length. A sample shorter than max_n is scored at the
  orders it has: at max_n, nltk's precision 0.1 / 1 for its missing orders would score an
  identical 3-token row 0.1 ** (1 / 4) = 0.562, and self-BLEU-4 would read short rows as diverse
  (issue 28: 26% of cfg's sentences are shorter than 4 tokens). Rows of max_n tokens or more score
  exactly as nltk's sentence_bleu against the others."""
  _check_order(max_n)
  seqs = _tuples(samples, 'samples')
  if len(seqs) < 2:
    raise ValueError(f'Self-BLEU needs at least 2 samples, got {len(seqs)}.')
  tables = _top_two_counts(seqs, max_n)
  multiplicity = collections.Counter(len(s) for s in seqs)
  lengths = sorted(multiplicity)
  scores = []
  for idx, seq in enumerate(seqs):
    def max_count(n, g):
      best, holder, second = tables[n - 1][g]  # g is in seq, so in the table.
      return second if holder == idx else best
    ref_len = _closest_other(lengths, multiplicity, len(seq))
    order = max(1, min(max_n, len(seq)))
    scores.append(_score(*_clipped(seq, order, max_count), len(seq), ref_len, smoothing))
  return math.fsum(scores) / len(scores)


def _hashable(sample):
  return sample if isinstance(sample, (str, tuple)) else tuple(sample)


def unique_percent(samples) -> float:
  """100 x (distinct samples) / (samples)."""
  keys = [_hashable(s) for s in samples]
  if not keys:
    raise ValueError('No samples given.')
  return 100.0 * len(set(keys)) / len(keys)


def word_stats(samples, dictionary, train, heldout) -> dict:
  """Percent of the samples (strings, repeats counted) that are in `dictionary`
  ('dictionary_percent'), in `heldout` but not in `train` ('heldout_percent': real words the
  generator never saw), in `train` ('copied_percent'), and distinct ('unique_percent')."""
  samples = list(samples)
  if not samples:
    raise ValueError('No samples given.')
  dictionary, train, heldout = set(dictionary), set(train), set(heldout)
  percent = lambda hits: 100.0 * sum(hits) / len(samples)
  return {'dictionary_percent': percent(s in dictionary for s in samples),
          'heldout_percent': percent(s in heldout and s not in train for s in samples),
          'copied_percent': percent(s in train for s in samples),
          'unique_percent': unique_percent(samples), 'num_samples': len(samples)}


def distinct_n(samples, n: int):
  """Distinct n-grams over all n-grams of the samples (Li et al. 2016, "A diversity-promoting
  objective"): 1 when no n-gram repeats; None when no sample has n tokens."""
  counts = ngram_counts((tuple(_hashable(s)) for s in samples), n)
  total = sum(counts.values())
  return len(counts) / total if total else None


def js_bits(p_counts, q_counts) -> float:
  """`js_divergence` in bits: 0 to 1."""
  return js_divergence(p_counts, q_counts) / math.log(2)


def length_stats(samples, reference) -> dict:
  """The samples' lengths against the reference's: mean and sample std of each, and the JS
  divergence (bits) of the two length histograms ('length_js_bits': 0 for the same histogram,
  1 for lengths the other never has)."""
  lengths = [len(_hashable(s)) for s in samples]
  ref_lengths = [len(_hashable(r)) for r in reference]
  if not lengths or not ref_lengths:
    raise ValueError('length_stats needs samples and reference rows.')
  std = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
  return {'mean_length': float(np.mean(lengths)), 'std_length': std(lengths),
          'ref_mean_length': float(np.mean(ref_lengths)), 'ref_std_length': std(ref_lengths),
          'length_js_bits': js_bits(collections.Counter(lengths), collections.Counter(ref_lengths))}


LENGTH_BUCKETS = ((1, 2), (3, 5), (6, None))  # Rows of 1-2, 3-5 and 6 or more symbols.


def bucket_name(lo: int, hi) -> str:
  """'1-2', or '6+' for a bucket without an upper end."""
  return f'{lo}-{hi}' if hi is not None else f'{lo}+'


def random_rows_like(reference, alphabet, num: int, seed: int) -> list:
  """`num` strings of symbols drawn uniformly from `alphabet`, their lengths drawn from the
  reference rows' length histogram (numpy default_rng(seed)): the floor of a rate such as
  dictionary % for output of the data's lengths and no knowledge of the language."""
  lengths = np.array([len(_hashable(r)) for r in reference])
  alphabet = list(alphabet)
  if not len(lengths) or not alphabet:
    raise ValueError('random_rows_like needs reference rows and an alphabet.')
  rng = np.random.default_rng(seed)
  drawn = rng.choice(lengths, size=num)
  return [''.join(alphabet[i] for i in rng.integers(len(alphabet), size=n)) for n in drawn]


def percent_by_length(samples, hits, buckets=LENGTH_BUCKETS) -> dict:
  """100 x the share of hits among the samples of each length bucket ('1-2', '3-5', '6+'), None
  for a bucket with no sample; `hits` is one bool per sample (e.g. is a dictionary word)."""
  samples, hits = list(samples), list(hits)
  if len(samples) != len(hits):
    raise ValueError(f'{len(samples)} samples but {len(hits)} hits.')
  out = {}
  for lo, hi in buckets:
    name = bucket_name(lo, hi)
    inside = [h for s, h in zip(samples, hits)
              if lo <= len(_hashable(s)) and (hi is None or len(_hashable(s)) <= hi)]
    out[name] = 100.0 * sum(inside) / len(inside) if inside else None
  return out
