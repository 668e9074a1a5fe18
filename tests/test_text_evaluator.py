"""The `text` evaluator: decoding, every metric on tiny hand-built sources against values worked
out by hand, the real-data floor in describe(), the cache, and its place in the registry."""
import math

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import evaluators
from gan_jax.data import sequences
from gan_jax.data import text_sources
from gan_jax.evaluators import text as text_lib
from gan_jax.evaluators import text_length

AB = text_sources.Vocabulary(('a', 'b', text_sources.END), end_id=2, separator='')
GENERAL = set(text_lib.GENERAL_METRICS)


def _rows(words, length=4, vocab=AB, junk=None):
  """Token rows of words over `vocab`, each followed by the end symbol, then `junk` (a token
  after the end, which the evaluator must ignore) or more end symbols."""
  index = {t: i for i, t in enumerate(vocab.tokens)}
  out = np.full((len(words), length), vocab.end_id, np.int32)
  for i, w in enumerate(words):
    out[i, :len(w)] = [index[c] for c in w]
    if junk is not None and len(w) + 1 < length:
      out[i, len(w) + 1:] = junk
  return out


def _source(name, train, test, vocab=AB, language=None):
  return data_lib.Source(name=name, splits={'train': data_lib.tokens_dataset(train),
                                            'test': data_lib.tokens_dataset(test)},
                         vocab=vocab, language=language)


def _config(source, num_samples=None, decode='argmax'):
  config = configs.base_config()
  config.data.source = source
  config.eval.num_samples = num_samples
  config.eval.text_decode = decode
  return config


def _evaluator(config, source, cache=None):
  shape = source.splits['train'].element_shape
  return text_lib.Text(config, source, shape, 0, {} if cache is None else cache)


def _one_hot(tokens_NxL, vocab_size):
  return np.eye(vocab_size, dtype=np.float32)[tokens_NxL]


# Samples 'aa', 'ab' against held-out 'ab', 'ba' (worked out by hand):
# unigrams: samples a 3, b 1 -> p = (3/4, 1/4); held-out a 2, b 2 -> q = (1/2, 1/2), m = (5/8, 3/8).
JS_1 = 0.5 * (0.75 * math.log(0.75 / 0.625) + 0.25 * math.log(0.25 / 0.375)) + 0.5 * (
    0.5 * math.log(0.5 / 0.625) + 0.5 * math.log(0.5 / 0.375))
# bigrams: samples {aa, ab}, held-out {ab, ba}: p = (1/2, 1/2, 0), q = (0, 1/2, 1/2),
# m = (1/4, 1/2, 1/4): KL(p||m) = KL(q||m) = 1/2 ln 2, so JS = 1/2 ln 2.
JS_2 = 0.5 * math.log(2)
# BLEU (method1; every length 2, so no brevity penalty). 'aa': unigram precision 1/2 (a clipped to
# 1), bigram 0 -> 0.1, n > 2: shorter than n -> 0.1 / 1. 'ab': unigram 1, bigram 1, n > 2: 0.1.
BLEU = {2: (math.sqrt(0.5 * 0.1) + 1.0) / 2,
        3: ((0.5 * 0.1 * 0.1) ** (1 / 3) + 0.1 ** (1 / 3)) / 2,
        4: ((0.5 * 0.1 ** 3) ** 0.25 + (0.1 ** 2) ** 0.25) / 2}
# Self-BLEU: 'aa' against 'ab' and 'ab' against 'aa' both have unigram 1/2 and bigram 0 -> 0.1;
# rows of 2 tokens are scored at order 2 whatever n (metrics.text.self_bleu).
SELF_BLEU = {n: math.sqrt(0.05) for n in (2, 3, 4)}


def _check_two_word_metrics(m):
  assert set(m) == GENERAL | {'copied_percent'}
  assert m['copied_percent'] == 100.0  # The rows scored are the training rows 'aa', 'ab'.
  assert m['js_1'] == pytest.approx(JS_1, rel=1e-12)
  assert m['js_2'] == pytest.approx(JS_2, rel=1e-12)
  assert m['js_3'] is None and m['js_4'] is None  # No sample has 3 tokens.
  for n in (2, 3, 4):
    assert m[f'bleu_{n}'] == pytest.approx(BLEU[n], rel=1e-12), n
    assert m[f'self_bleu_{n}'] == pytest.approx(SELF_BLEU[n], rel=1e-12), n
  assert m['unique_percent'] == 100.0


def test_two_word_vocabulary_metrics_by_hand():
  source = _source('text_file:x.txt', _rows(['aa', 'ab']), _rows(['ab', 'ba'], junk=0))
  ev = _evaluator(_config('text_file:x.txt'), source)
  _check_two_word_metrics(ev.metrics_of_tokens(_rows(['aa', 'ab'], junk=1)))  # Junk after end.
  _check_two_word_metrics(ev.metrics_of_samples(_one_hot(_rows(['aa', 'ab']), 3)))


def test_describe_holds_the_real_training_floor():
  source = _source('text_file:x.txt', _rows(['aa', 'ab']), _rows(['ab', 'ba']))
  ev = _evaluator(_config('text_file:x.txt', num_samples=2), source)
  d = ev.describe()
  assert d['kind'] == 'text' and d['data'] == 'text_file:x.txt' and d['num_generated'] == 2
  assert d['reference_split'] == 'test' and d['num_reference'] == 2
  assert d['decode'] == 'argmax' and d['source_kind'] == 'text_file' and d['vocab_size'] == 3
  assert d['heldout'].startswith('all 2 held-out rows')
  assert d['num_real_train'] == 2  # Both training rows: 'aa', 'ab', the hand-worked samples.
  _check_two_word_metrics(d['real_train_vs_heldout'])


def test_heldout_subset_and_floor_rows_are_seeded(monkeypatch):
  monkeypatch.setattr(text_lib, 'MAX_HELDOUT', 3)
  words = ['a', 'b', 'aa', 'ab', 'ba', 'bb', 'aab']
  source = _source('text_file:x.txt', _rows(words), _rows(words))
  ev = _evaluator(_config('text_file:x.txt', num_samples=4), source)
  d = ev.describe()
  assert d['num_reference'] == 3 and d['num_real_train'] == 4
  assert d['heldout'].startswith('a fixed seeded subset') and 'of 3 of the 7' in d['heldout']
  pick = np.sort(np.random.default_rng(text_lib.HELDOUT_SEED).choice(7, 3, replace=False))
  assert ev.reference.heldout == tuple(AB.strip(r) for r in _rows(words)[pick])
  again = _evaluator(_config('text_file:x.txt', num_samples=4), source)
  assert again.describe() == d


def test_reference_is_cached_per_source_rows_and_size():
  source = _source('text_file:x.txt', _rows(['aa', 'ab']), _rows(['ab', 'ba']))
  cache = {}
  first = _evaluator(_config('text_file:x.txt', num_samples=2), source, cache)
  second = _evaluator(_config('text_file:x.txt', num_samples=2), source, cache)
  assert len(cache) == 1 and second.reference is first.reference
  _evaluator(_config('text_file:x.txt', num_samples=3), source, cache)
  other = _source('text_file:x.txt', _rows(['aa', 'ab']), _rows(['ab', 'bb']))
  _evaluator(_config('text_file:x.txt', num_samples=2), other, cache)
  assert len(cache) == 3  # Another size, other rows: other entries.


def test_words_dictionary_heldout_copied_unique():
  language = {'dictionary': frozenset({'ab', 'ba', 'aa'})}
  source = _source('words', _rows(['ab'], 3), _rows(['ba'], 3), language=language)
  ev = _evaluator(_config('words', num_samples=4), source)
  m = ev.metrics_of_tokens(_rows(['ab', 'ba', 'bb', 'ba'], 3))
  assert set(m) == GENERAL | {'dictionary_percent', 'heldout_percent', 'copied_percent',
                              *text_length.metric_names('dictionary')}
  assert m['dictionary_percent'] == 75.0  # ab, ba, ba.
  # Random 2-letter strings over {a, b} are dictionary words 3 times in 4: the samples, all of
  # length 2, know nothing beyond their length.
  assert m['dictionary_floor_percent'] == 75.0 and m['dictionary_lift'] == 0.0
  assert (m['dictionary_len1_2'], m['dictionary_len3_5'], m['dictionary_len6up']) == (
      75.0, None, None)
  assert (m['mean_length'], m['length_js_bits']) == (2.0, 0.0)  # Held-out 'ba': length 2 too.
  assert m['distinct_2'] == 0.75  # ab, ba, bb, ba: 3 distinct bigrams of 4.
  assert m['distinct_4'] is None  # No row has 4 letters.
  assert m['heldout_percent'] == 50.0  # ba, ba: held out, never trained on.
  assert m['copied_percent'] == 25.0  # ab.
  assert m['unique_percent'] == 75.0  # ab, ba, bb of 4.
  floor = ev.describe()['real_train_vs_heldout']  # The one training word, 'ab'.
  assert ev.describe()['num_real_train'] == 1
  assert (floor['dictionary_percent'], floor['heldout_percent'], floor['copied_percent']) == (
      100.0, 0.0, 100.0)
  assert floor['self_bleu_2'] is None  # Self-BLEU needs two rows.


def test_cfg_accepted_percent():
  grammar = sequences.arithmetic_grammar()  # x + - * / ( ), end id 7.
  vocab = text_sources.Vocabulary(grammar.terminals + (text_sources.END,), end_id=7,
                                  separator=' ')
  pad = lambda texts: sequences.pad_sentences(
      [sequences.encode(grammar, t) for t in texts], 6, 7)
  source = _source('cfg', pad(['x', 'x + x']), pad(['( x )', 'x * x']), vocab,
                   {'grammar': grammar})
  ev = _evaluator(_config('cfg', num_samples=2), source)
  tokens = pad(['x + x', '( x )', 'x +'])  # 'x +' is no sentence.
  tokens[2, 3:] = 0  # Tokens after the end symbol are ignored: 'x +' stays 'x +'.
  m = ev.metrics_of_tokens(tokens)
  assert set(m) == GENERAL | {'accepted_percent', 'copied_percent',
                              *text_length.metric_names('accepted')}
  assert m['accepted_percent'] == pytest.approx(200 / 3)
  assert (m['accepted_len1_2'], m['accepted_len3_5'], m['accepted_len6up']) == (0.0, 100.0, None)
  floor = text_length.grammar_floor([3, 3, 2], grammar)
  assert m['accepted_floor_percent'] == floor
  assert m['accepted_lift'] == pytest.approx(200 / 3 - floor)
  assert m['copied_percent'] == pytest.approx(100 / 3)  # 'x + x' is a training sentence.
  floor = ev.describe()['real_train_vs_heldout']
  assert floor['accepted_percent'] == 100.0 and floor['copied_percent'] == 100.0


def test_cfg_heldout_rows_that_occur_in_training_are_dropped():
  grammar = sequences.arithmetic_grammar()
  vocab = text_sources.Vocabulary(grammar.terminals + (text_sources.END,), end_id=7,
                                  separator=' ')
  pad = lambda texts: sequences.pad_sentences(
      [sequences.encode(grammar, t) for t in texts], 6, 7)
  source = _source('cfg', pad(['x', 'x + x']), pad(['x', '( x )', 'x + x', 'x * x']), vocab,
                   {'grammar': grammar})
  ev = _evaluator(_config('cfg', num_samples=2), source)
  assert ev.reference.heldout == tuple(sequences.unpad(pad(['( x )', 'x * x']), 7))
  d = ev.describe()
  assert d['num_reference'] == 2 and 'less the 2 that also occur in training (2 kept)' in d['heldout']
  assert d['heldout'].endswith('; lengths against all 4')
  # Lengths against every held-out row: the dropped ones are the data's short sentences.
  assert d['heldout_mean_length'] == 2.5 and len(ev.reference.length_rows) == 4
  m = ev.metrics_of_tokens(pad(['x * x', 'x', 'x + x', '( x )']))  # The data's lengths.
  assert m['mean_length'] == 2.5 and m['length_js_bits'] == pytest.approx(0.0, abs=1e-12)
  assert ev.metrics_of_tokens(pad(['( x )', 'x * x']))['length_js_bits'] > 0.1
  only_train = _source('cfg', pad(['x', 'x + x']), pad(['x', 'x + x']), vocab, {'grammar': grammar})
  with pytest.raises(ValueError, match='Every held-out cfg sentence also occurs in training'):
    _evaluator(_config('cfg', num_samples=2), only_train)


def test_oracle_nll_per_token():
  params = sequences.oracle_params(0, vocab=5, hidden=4, embed=4)
  vocab = text_sources.Vocabulary(tuple(str(i) for i in range(5)), end_id=None, separator=' ')
  rng = np.random.default_rng(0)
  train, test = (rng.integers(5, size=(n, 3)).astype(np.int32) for n in (6, 4))
  source = _source('oracle', train, test, vocab, {'oracle_params': params})
  ev = _evaluator(_config('oracle', num_samples=3), source)
  tokens = rng.integers(5, size=(7, 3)).astype(np.int32)
  m = ev.metrics_of_tokens(tokens)
  assert set(m) == GENERAL | {'nll_oracle'}
  assert m['nll_oracle'] == pytest.approx(sequences.oracle_nll_per_token(params, tokens),
                                          rel=1e-9)
  # Per token: the mean over rows of the summed NLL / 3.
  assert m['nll_oracle'] == pytest.approx(sequences.oracle_nll(params, tokens).mean() / 3,
                                          rel=1e-9)
  assert m['unique_percent'] == 100.0 * len({tuple(r) for r in tokens}) / 7


def test_metric_names_are_the_superset():
  assert set(text_lib.Text.metric_names) == GENERAL | {
      'dictionary_percent', 'heldout_percent', 'copied_percent', 'accepted_percent',
      'nll_oracle', *text_length.metric_names('dictionary'), *text_length.metric_names('accepted')}
  assert len(GENERAL) == 16 and text_lib.Text.default_num_samples == 1000


def test_argmax_decoding():
  samples = np.zeros((2, 3, 4), np.float32)
  samples[0] = [[0.1, 0.7, 0.1, 0.1], [0.5, 0.2, 0.2, 0.1], [0.0, 0.0, 0.3, 0.7]]
  samples[1] = [[0.2, 0.2, 0.6, 0.0], [0.25, 0.25, 0.25, 0.25], [0.1, 0.1, 0.1, 0.7]]
  np.testing.assert_array_equal(text_lib.decode(samples, 'argmax'), [[1, 0, 3], [2, 0, 3]])


def test_sample_decoding_of_one_hot_rows_is_the_argmax():
  tokens = np.array([[0, 3, 1, 2], [2, 2, 0, 3], [3, 1, 1, 0]])
  np.testing.assert_array_equal(text_lib.decode(_one_hot(tokens, 4), 'sample'), tokens)
  with pytest.raises(ValueError, match='text_decode'):
    text_lib.decode(_one_hot(tokens, 4), 'bogus')


def test_sample_decoding_draws_by_the_probabilities_with_a_fixed_seed():
  probs = np.broadcast_to(np.array([0.0, 0.25, 0.0, 0.75], np.float32), (500, 8, 4))
  first = text_lib.decode(probs, 'sample')
  np.testing.assert_array_equal(first, text_lib.decode(probs, 'sample'))  # Fixed seed.
  assert set(np.unique(first)) == {1, 3}  # Tokens of probability 0 are never drawn.
  assert np.mean(first == 3) == pytest.approx(0.75, abs=0.03)  # 4,000 draws: std 0.007.


def test_sample_decoding_through_the_evaluator():
  source = _source('text_file:x.txt', _rows(['aa', 'ab']), _rows(['ab', 'ba']))
  ev = _evaluator(_config('text_file:x.txt', decode='sample'), source)
  _check_two_word_metrics(ev.metrics_of_samples(_one_hot(_rows(['aa', 'ab']), 3)))
  assert ev.describe()['decode'] == 'sample'
  # Spread distributions: 'a' at 0.6, 'b' at 0.4 everywhere. argmax gives 'aa' every time;
  # sampling gives the draws of decode_sample, so eval.text_decode is honoured.
  probs = np.broadcast_to(np.array([0.6, 0.4, 0.0], np.float32), (64, 2, 3))
  sampled = ev.metrics_of_samples(probs)
  assert sampled == ev.metrics_of_tokens(text_lib.decode_sample(probs))
  assert sampled['unique_percent'] == pytest.approx(100 * 4 / 64)  # aa, ab, ba, bb all drawn.
  argmax = _evaluator(_config('text_file:x.txt', decode='argmax'), source)
  assert argmax.metrics_of_samples(probs)['unique_percent'] == pytest.approx(100 / 64)


def test_bad_tokens_and_shapes_are_errors():
  source = _source('text_file:x.txt', _rows(['aa']), _rows(['ab']))
  ev = _evaluator(_config('text_file:x.txt'), source)
  with pytest.raises(ValueError, match=r'in \[0, 3\)'):
    ev.metrics_of_tokens(np.array([[0, 3]]))
  with pytest.raises(ValueError, match=r'\(N, L, V\)'):
    ev.metrics_of_samples(np.zeros((2, 3)))


@pytest.mark.parametrize('source', ['words', 'cfg', 'oracle', 'text_file:some.txt'])
def test_auto_selects_text_for_token_sources(source):
  config = _config(source)
  assert evaluators.select(config, (12,)) == [text_lib.Text]
  assert text_lib.Text.rejects_data(config, (12,)) is None


def test_other_evaluators_reject_token_sources_and_text_rejects_images():
  config = _config('cfg')
  for name in ('features', 'mode_coverage', 'stacked_mnist'):
    config.eval.evaluators = (name,)
    with pytest.raises(evaluators.EvalError):
      evaluators.select(config, (20,))
  image = _config('mnist5k')
  assert evaluators.select(image, (28, 28, 1))[0].name == 'features'
  assert 'text evaluates token sequences' in text_lib.Text.rejects_data(image, (28, 28, 1))
  image.eval.evaluators = ('text',)
  with pytest.raises(evaluators.EvalError, match='text evaluates token sequences'):
    evaluators.select(image, (28, 28, 1))
  config = _config('cfg')
  config.eval.features = 'inception_v3'
  with pytest.raises(evaluators.EvalError, match='eval.features to auto'):
    evaluators.select(config, (20,))


def test_text_decode_field():
  assert evaluators.defaults().text_decode == 'argmax'
  config = _config('cfg', decode='sample')
  assert not [p for p in evaluators.problems(config) if 'text_decode' in p]
  config.eval.text_decode = 'bogus'
  with pytest.raises(configs.ConfigError,
                     match=r"Unknown eval.text_decode 'bogus'; valid: \['argmax', 'sample'\]"):
    configs.validate(config)
