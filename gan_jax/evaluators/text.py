"""`text`: generated token sequences against held-out text (words, cfg, oracle, text_file,
tfds_text).

Samples. G's evaluation-mode output is a distribution over the V tokens at each position,
float (N, L, V). `eval.text_decode` turns it into tokens: 'argmax' (the most likely token at each
position: Gulrajani et al. 2017's decoding of a softmax G; the default) or 'sample' (one
categorical draw per position from numpy's default_rng(0), the same draws at every evaluation:
the Gumbel-max sample of a Gumbel-softmax G, RelGAN). `metrics_of_tokens` scores token rows
directly (a likelihood baseline calls it with its own samples).

Rows. Each row is cut at its first end symbol (`Vocabulary.strip`; the oracle has none). Samples
are compared with the held-out split ('test': sequences the GAN never trains on), all of it, or a
fixed seeded subset of `MAX_HELDOUT` rows when it is larger (describe() says which).

Metrics (every source):
- js_1..js_4: Jensen-Shannon divergence (natural log) between the n-gram distributions of the
  samples and of the held-out rows (Rajeswar et al. 2017); None when either side has no n-gram;
- bleu_2..bleu_4: mean sentence BLEU (nltk method1) of each sample against the held-out rows as
  references (SeqGAN, Yu et al. 2017; Texygen, Zhu et al. 2018): quality;
- self_bleu_2..self_bleu_4: mean BLEU of each sample against the other samples (Texygen):
  lower is more diverse; read beside BLEU as the quality-diversity trade-off of Caccia et al.
  2020 ("Language GANs falling short"); None for fewer than 2 rows;
- unique_percent: distinct rows; distinct_2, distinct_4: distinct n-grams over all n-grams (Li et
  al. 2016), a diversity axis short rows cannot game (None when no row has n tokens);
- mean_length, std_length, length_js_bits: the rows' lengths, and the JS divergence (bits, 0 to 1)
  of their length histogram to the held-out rows' (all of them, cfg's included: whose mean and
  std describe() holds): short output games rates such as dictionary %, so length is read beside
  quality.
By source: words: dictionary_percent (samples that are dictionary words), heldout_percent
(held-out words never trained on), copied_percent (training words; metrics.text.word_stats);
cfg: accepted_percent (the grammar's exact CYK membership test, Rajeswar et al. 2017);
oracle: nll_oracle (the oracle LSTM's NLL per token, SeqGAN / Texygen's NLL_oracle).
Words' dictionary_percent and cfg's accepted_percent come with their length-matched floor, lift
and per-length rates (evaluators/text_length.py): dictionary_floor_percent, dictionary_lift,
dictionary_len1_2, dictionary_len3_5, dictionary_len6up, and the same for accepted_.

cfg's held-out rows exclude the sentences that also occur in training (a small grammar repeats
its short sentences: 57.6% of the held-out ones were training sentences, issue 28), so held-out
BLEU and JS-n measure generalisation; describe() says how many were dropped. The dropped rows are
the short ones, so lengths are compared with every held-out row (`Reference.length_rows`): the
data's own length distribution.

Floor. describe() holds `real_train_vs_heldout`: the same metrics of `num_samples` training rows
(a fixed seeded choice; all of them when fewer) against the same held-out rows: what real data
scores, the number a GAN's is read against. It is computed once per (source, rows, sizes) and kept
in the caller's cache.
"""
import dataclasses
import hashlib
from typing import Any, Optional

import numpy as np

from gan_jax.data import sequences
from gan_jax.data import text_sources
from gan_jax.evaluators import base
from gan_jax.evaluators import text_length
from gan_jax.metrics import text as text_metrics

DECODES = ('argmax', 'sample')  # eval.text_decode.
JS_ORDERS, BLEU_ORDERS = (1, 2, 3, 4), (2, 3, 4)
MAX_HELDOUT = 5000  # Held-out rows compared against: all, or a seeded subset of this many.
HELDOUT_SEED, TRAIN_SEED, DECODE_SEED = 0, 1, 0
CHUNK_ELEMENTS = 1 << 22  # Decoding: (rows x L x V) elements converted at a time.
DISTINCT_ORDERS = (2, 4)
LENGTH_METRICS = ('mean_length', 'std_length', 'length_js_bits')
GENERAL_METRICS = (tuple(f'js_{n}' for n in JS_ORDERS) + tuple(f'bleu_{n}' for n in BLEU_ORDERS)
                   + tuple(f'self_bleu_{n}' for n in BLEU_ORDERS) + ('unique_percent',)
                   + tuple(f'distinct_{n}' for n in DISTINCT_ORDERS) + LENGTH_METRICS)
SOURCE_METRICS = {'words': ('dictionary_percent', 'heldout_percent', 'copied_percent')
                           + text_length.metric_names('dictionary'),
                  'cfg': ('accepted_percent', 'copied_percent')
                         + text_length.metric_names('accepted'), 'oracle': ('nll_oracle',),
                  'text_file': ('copied_percent',), 'tfds_text': ('copied_percent',)}


def _chunks(num_rows: int, row_elements: int):
  step = max(1, CHUNK_ELEMENTS // max(1, row_elements))
  return (slice(i, i + step) for i in range(0, num_rows, step))


def _check_samples(samples) -> np.ndarray:
  samples = np.asarray(samples)
  if samples.ndim != 3:
    raise ValueError(f'text samples are distributions (N, L, V), got shape {samples.shape}.')
  return samples


def decode_argmax(samples_NxLxV) -> np.ndarray:
  """int32 (N, L): the most likely token at each position (the first on a tie)."""
  samples = _check_samples(samples_NxLxV)
  out = np.zeros(samples.shape[:2], np.int32)
  for rows in _chunks(len(samples), samples[0].size if len(samples) else 1):
    out[rows] = np.argmax(samples[rows].astype(np.float32), axis=-1)
  return out


def decode_sample(samples_NxLxV, seed: int = DECODE_SEED) -> np.ndarray:
  """int32 (N, L): token t at each position with probability p_t / sum(p) (inverse CDF with
  uniforms u of numpy's default_rng(seed).random((N, L)): the first token whose cumulative
  probability exceeds u * sum(p)); a token of probability 0 is never drawn."""
  samples = _check_samples(samples_NxLxV)
  uniforms = np.random.default_rng(seed).random(samples.shape[:2])
  out = np.zeros(samples.shape[:2], np.int32)
  for rows in _chunks(len(samples), samples[0].size if len(samples) else 1):
    cdf = np.cumsum(np.maximum(samples[rows].astype(np.float64), 0.0), axis=-1)
    below = cdf <= (uniforms[rows] * cdf[..., -1])[..., None]
    out[rows] = np.minimum(below.sum(axis=-1), samples.shape[-1] - 1)
  return out


def decode(samples_NxLxV, how: str) -> np.ndarray:
  """Tokens (N, L) of G's per-position distributions, by eval.text_decode."""
  if how == 'argmax':
    return decode_argmax(samples_NxLxV)
  if how == 'sample':
    return decode_sample(samples_NxLxV)
  raise ValueError(f'Unknown eval.text_decode {how!r}; valid: {list(DECODES)}.')


@dataclasses.dataclass(frozen=True)
class Reference:
  """What samples are scored against: the held-out rows (stripped), the source's language, and
  for words the training and held-out words."""
  kind: str
  vocab: text_sources.Vocabulary
  language: Any
  heldout: tuple  # Stripped held-out rows (the subset compared against).
  num_heldout_total: int
  length_rows: tuple  # The rows lengths are compared with: `heldout` before cfg's dedup.
  train_words: Optional[frozenset] = None
  heldout_words: Optional[frozenset] = None
  train_rows: Optional[frozenset] = None  # cfg, text_file, tfds_text: stripped training rows.
  num_heldout_in_train: int = 0  # cfg: held-out rows dropped as training sentences.
  words_by_length: Optional[dict] = None  # words: text_length.words_by_length, counted once.


def _has_ngrams(rows, n: int) -> bool:
  return any(len(r) >= n for r in rows)


def ngram_metrics(rows: list, heldout: tuple, length_rows: tuple) -> dict:
  """js_n, bleu_n, self_bleu_n, unique_percent and distinct_n of stripped rows against held-out
  rows, and their lengths against those of `length_rows`."""
  out = {}
  for n in JS_ORDERS:
    ok = _has_ngrams(rows, n) and _has_ngrams(heldout, n)
    out[f'js_{n}'] = text_metrics.ngram_js(rows, heldout, n) if ok else None
  for n in BLEU_ORDERS:
    out[f'bleu_{n}'] = text_metrics.corpus_bleu_mean(rows, heldout, n)
  for n in BLEU_ORDERS:
    out[f'self_bleu_{n}'] = text_metrics.self_bleu(rows, n) if len(rows) >= 2 else None
  out['unique_percent'] = text_metrics.unique_percent(rows)
  for n in DISTINCT_ORDERS:
    out[f'distinct_{n}'] = text_metrics.distinct_n(rows, n)
  lengths = text_metrics.length_stats(rows, length_rows)
  return {**out, **{k: lengths[k] for k in LENGTH_METRICS}}


def source_metrics(tokens_NxL: np.ndarray, ref: Reference) -> dict:
  """The metrics of one kind of source: copied_percent (words, cfg, text_file, tfds_text), and
  words, cfg or oracle's own numbers."""
  if ref.kind == 'words':
    words = [ref.vocab.decode(row) for row in tokens_NxL]
    dictionary = ref.language['dictionary']
    stats = text_metrics.word_stats(words, dictionary, ref.train_words, ref.heldout_words)
    floor = text_length.dictionary_floor([len(w) for w in words], ref.words_by_length,
                                         len(_letters(ref.vocab)))
    stats.update(text_length.length_rates('dictionary', words,
                                          [w in dictionary for w in words], floor))
    return {k: stats[k] for k in SOURCE_METRICS['words']}
  out = {}
  if ref.train_rows is not None:  # Samples that are training rows (memorised or common).
    rows = [ref.vocab.strip(r) for r in tokens_NxL]
    out['copied_percent'] = 100.0 * np.mean([r in ref.train_rows for r in rows])
  if ref.kind == 'cfg':
    pad = -1 if ref.vocab.end_id is None else ref.vocab.end_id
    rows = sequences.unpad(tokens_NxL, pad)
    hits = sequences.accepts_batch(ref.language['grammar'], rows)
    out['accepted_percent'] = 100.0 * float(hits.mean())
    floor = text_length.grammar_floor([len(r) for r in rows], ref.language['grammar'])
    out.update(text_length.length_rates('accepted', rows, hits, floor))
  if ref.kind == 'oracle':
    out['nll_oracle'] = sequences.oracle_nll_per_token(ref.language['oracle_params'], tokens_NxL)
  return out


def score(tokens_NxL, ref: Reference) -> dict:
  """Every metric of this source's kind for token rows (N, L) against the reference."""
  tokens = np.asarray(tokens_NxL)
  if tokens.ndim != 2 or not len(tokens):
    raise ValueError(f'token rows must be a non-empty (N, L) array, got shape {tokens.shape}.')
  if tokens.min() < 0 or tokens.max() >= ref.vocab.size:
    raise ValueError(f'token ids must be in [0, {ref.vocab.size}), got {tokens.min()} to '
                     f'{tokens.max()}.')
  rows = [ref.vocab.strip(row) for row in tokens]
  return {**ngram_metrics(rows, ref.heldout, ref.length_rows), **source_metrics(tokens, ref)}


def seeded_rows(dataset, limit: int, seed: int) -> np.ndarray:
  """All of a split's rows if it has at most `limit`, else a fixed seeded choice of `limit`
  (sorted indices)."""
  if dataset.size <= limit:
    return dataset.get(np.arange(dataset.size))
  pick = np.random.default_rng(seed).choice(dataset.size, limit, replace=False)
  return dataset.get(np.sort(pick))


def _digest(*arrays) -> str:
  h = hashlib.sha256()
  for a in arrays:
    h.update(str(a.shape).encode())
    h.update(np.ascontiguousarray(a, np.int32).tobytes())
  return h.hexdigest()


def _letters(vocab) -> list:
  """The symbols of a character vocabulary, its end symbol left out."""
  return [t for i, t in enumerate(vocab.tokens) if i != vocab.end_id]


def build_reference(kind: str, source) -> Reference:
  """The Reference of a sequence source (its 'train' and 'test' splits)."""
  train, test = source.splits['train'], source.splits['test']
  heldout = seeded_rows(test, MAX_HELDOUT, HELDOUT_SEED)
  words = {}
  if kind == 'words':
    decode_all = lambda d: frozenset(source.vocab.decode(r) for r in d.get(np.arange(d.size)))
    words = {'train_words': decode_all(train), 'heldout_words': decode_all(test),
             'words_by_length': text_length.words_by_length(source.language['dictionary'],
                                                            _letters(source.vocab))}
  rows = length_rows = tuple(source.vocab.strip(r) for r in heldout)
  if kind in ('cfg', 'text_file', 'tfds_text'):
    words = {'train_rows': frozenset(source.vocab.strip(r) for r in train.get(np.arange(train.size)))}
  if kind == 'cfg':
    kept = tuple(r for r in rows if r not in words['train_rows'])
    if not kept:
      raise ValueError('Every held-out cfg sentence also occurs in training: nothing to score '
                       'generalisation against; generate more distinct sentences (a larger '
                       'grammar or data size).')
    words['num_heldout_in_train'] = len(rows) - len(kept)
    rows = kept
  return Reference(kind, source.vocab, source.language, rows, test.size, length_rows, **words)


def reference_and_floor(kind: str, source, num_samples: int, cache: dict) -> tuple:
  """(Reference, floor metrics, training rows of the floor), computed once per (source, its rows,
  num_samples) in `cache`."""
  train, test = source.splits['train'], source.splits['test']
  key = ('text_reference', source.name, kind, num_samples, MAX_HELDOUT,
         _digest(train.get(np.arange(train.size)), test.get(np.arange(test.size))))
  if key not in cache:
    ref = build_reference(kind, source)
    real = seeded_rows(train, num_samples, TRAIN_SEED)
    cache[key] = (ref, score(real, ref), len(real))
  return cache[key]


class Text(base.Evaluator):
  """n-gram, BLEU and per-source metrics of generated token sequences against held-out text."""
  name = 'text'
  default_num_samples = 1000
  own_metrics = 'token sequences, evaluated by the text metrics'
  metric_names = GENERAL_METRICS + tuple(dict.fromkeys(  # Each once, in order.
      m for ms in SOURCE_METRICS.values() for m in ms))

  @classmethod
  def rejects_data(cls, config, element_shape) -> Optional[str]:
    if text_sources.source_kind(config.data.source) is None:
      return (f'text evaluates token sequences (data.source words, cfg, oracle or '
              f'{text_sources.TEXT_FILE_PREFIX}<path>, {text_sources.TFDS_TEXT_PREFIX}<name>), '
              f'not data.source='
              f'{config.data.source!r}; remove it from eval.evaluators.')
    return None

  def __init__(self, config, source, element_shape, num_classes, cache):
    super().__init__(config, source, element_shape, num_classes, cache)
    self.kind = text_sources.source_kind(config.data.source)
    self.text_decode = config.eval.text_decode
    self.reference, self.floor, self.num_floor_rows = reference_and_floor(
        self.kind, source, self.num_samples, cache)

  def describe(self) -> dict:
    ref = self.reference
    used, picked = len(ref.heldout), len(ref.heldout) + ref.num_heldout_in_train
    heldout = (f'all {picked} held-out rows' if picked == ref.num_heldout_total else
               f'a fixed seeded subset (numpy default_rng({HELDOUT_SEED})) of {picked} of the '
               f'{ref.num_heldout_total} held-out rows')
    if ref.num_heldout_in_train:
      heldout += f' less the {ref.num_heldout_in_train} that also occur in training ({used} kept)'
    lengths = text_metrics.length_stats(ref.length_rows, ref.length_rows)
    return {**self.protocol(reference_split='test', num_reference=used),
            'decode': self.text_decode, 'source_kind': self.kind, 'vocab_size': ref.vocab.size,
            'heldout': heldout + ', each row cut at its first end symbol' + (
                f'; lengths against all {picked}' if ref.num_heldout_in_train else ''),
            'heldout_mean_length': lengths['mean_length'],
            'heldout_std_length': lengths['std_length'],
            'real_train_vs_heldout': dict(self.floor), 'num_real_train': self.num_floor_rows,
            'real_train': (f'min(num_generated, training rows) rows of the train split (a fixed '
                           f'seeded choice, numpy default_rng({TRAIN_SEED})), scored as samples')}

  def metrics_of_tokens(self, tokens_NxL) -> dict:
    """The metrics of token rows (N, L): those of every source plus this source's own."""
    return score(tokens_NxL, self.reference)

  def metrics_of_samples(self, samples) -> dict:
    return self.metrics_of_tokens(decode(samples, self.text_decode))
