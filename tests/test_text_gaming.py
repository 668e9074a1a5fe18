"""Issue 28's probes, end to end on the words benchmark: output that is not text must not win the
matched-diversity comparison. The MLE curve here is a character trigram model fitted by maximum
likelihood (counts) on the training words and sampled at the study's temperatures: a language
model in closed form, so the test needs no training. Random 2- and 3-letter strings, a copy of
the training set and the held-out words are scored by the text evaluator and read by
reports/text.py as the page reads a GAN."""
import collections

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax.evaluators import text as text_lib
from gan_jax.metrics import text as text_metrics
from gan_jax.reports import text as report

TEMPERATURES = ('0.5', '0.7', '0.85', '1.0', '1.2')
NUM = 1000


@pytest.fixture(scope='module')
def words():
  config = configs.base_config()
  config.data.source = 'words'
  source = data_lib.get_source(config.data)
  ref, real, _ = text_lib.reference_and_floor('words', source, NUM, {})
  return source, ref, real


def trigram_samples(source, temperature: float, seed: int = 0) -> np.ndarray:
  """NUM rows of a character trigram MLE of the training words, sampled at `temperature`."""
  vocab, train = source.vocab, source.splits['train']
  rows = train.get(np.arange(train.size))
  end, size, length = vocab.end_id, vocab.size, rows.shape[1]
  counts = collections.defaultdict(lambda: np.zeros(size))
  for row in rows:
    seq = (end, end) + vocab.strip(row) + (end,)
    for a, b, c in zip(seq, seq[1:], seq[2:]):
      counts[(a, b)][c] += 1
  rng, out = np.random.default_rng(seed), np.full((NUM, length), end, np.int32)
  for i in range(NUM):
    a, b = end, end
    for j in range(length):
      p = counts[(a, b)] ** (1 / temperature)
      c = int(rng.choice(size, p=p / p.sum()))
      if c == end:
        break
      out[i, j], (a, b) = c, (b, c)
  return out


def random_rows(source, length: int, seed: int) -> np.ndarray:
  letters = [i for i in range(source.vocab.size) if i != source.vocab.end_id]
  rows = np.full((NUM, source.splits['train'].element_shape[0]), source.vocab.end_id, np.int32)
  rows[:, :length] = np.random.default_rng(seed).choice(letters, (NUM, length))
  return rows


def stats_of(m: dict) -> dict:
  return {k: {'mean': v, 'std': 0.0, 'count': 1} for k, v in report.with_bits(m).items()}


@pytest.fixture(scope='module')
def table(words):
  source, ref, real = words
  lm = {t: stats_of(text_lib.score(trigram_samples(source, float(t)), ref)) for t in TEMPERATURES}
  return {'real': report.with_bits(real), 'lm': lm}


def read(table, metrics, **kw):
  quality, _, higher = report.quality_of('words', table)
  m = stats_of(metrics)
  return report.compare_at_diversity(
      m[report.DIVERSITY]['mean'], m[quality]['mean'], report.lm_curve(table, quality), higher,
      length_js=(m[report.LENGTH]['mean'], report.lm_length_js(table)), **kw)


@pytest.mark.slow  # About 40 s: five temperatures and four probes scored on the words benchmark.
def test_random_short_strings_copies_and_heldout_words_land_where_they_should(words, table):
  source, ref, real = words
  assert report.quality_of('words', table)[0] == 'dictionary_lift'
  for length in (2, 3):
    m = text_lib.score(random_rows(source, length, seed=length), ref)
    # The probe of issue 28: on the raw rate, short random strings look like MLE's samples.
    assert m['dictionary_percent'] > 5.0
    assert abs(m['dictionary_lift']) < 3.0  # Nothing known beyond their length.
    c = read(table, m)
    assert c['verdict'] == 'refused' and 'length histogram' in c['refused'], length
    assert read(table, m, refuse_length=False)['verdict'] == 'worse', length  # Lift: below MLE.
  train = source.splits['train']
  copy = text_lib.score(text_lib.seeded_rows(train, NUM, 5), ref)
  assert copy['copied_percent'] == 100.0 and copy['dictionary_percent'] == 100.0
  test = source.splits['test']
  heldout = text_lib.score(text_lib.seeded_rows(test, NUM, 5), ref)
  assert heldout['copied_percent'] == 0.0 and heldout['heldout_percent'] == 100.0
  for k, tol in (('dictionary_lift', 1.0), ('mean_length', 0.3), ('self_bleu_4', 0.03),
                 ('length_js_bits', 0.02)):
    assert heldout[k] == pytest.approx(real[k], abs=tol), k  # At the real-data point.
  assert read(table, heldout)['verdict'] == 'better'  # Real words beat the trigram model.
  lm_lift = [s['dictionary_lift']['mean'] for s in table['lm'].values()]
  assert min(lm_lift) > 3.0 and max(lm_lift) < real['dictionary_lift']


def test_length_refusal_is_against_every_temperature():
  assert report.length_refusal((0.3, [0.1, 0.35])) is None  # Within the MLE range.
  assert report.length_refusal((0.3, [])) is None and report.length_refusal(None) is None
  assert report.length_refusal((None, [0.1])) is None
  reason = report.length_refusal((0.5, [0.1, None, 0.35]))
  assert reason == ('its length histogram is further from the data\'s (length JS 0.5 bits) than '
                    'every MLE temperature\'s (at most 0.35)')
  curve = [('0.5', 0.8, 90.0), ('1.0', 0.4, 50.0)]
  c = report.compare_at_diversity(0.6, 80.0, curve, length_js=(0.5, [0.1, 0.35]))
  assert c['verdict'] == 'refused' and c['refused'] == reason and c['advantage'] == 10.0
  c = report.compare_at_diversity(0.6, 80.0, curve, length_js=(0.5, [0.1]), refuse_length=False)
  assert c['verdict'] == 'better' and c['refused'] is None


def test_a_refused_gan_reads_as_not_compared():
  table = {'real': None, 'lm': {'1.0': {'self_bleu_4': {'mean': 0.5}, 'nll_oracle': {'mean': 4.0},
                                        'length_js_bits': {'mean': 0.1}}}}
  gan = {k: {'mean': v, 'std': 0.0, 'count': 2} for k, v in
         (('nll_oracle', 3.0), ('self_bleu_4', 0.5), ('length_js_bits', 0.4))}
  table.update(softmax=gan, gumbel={k: {'mean': None, 'std': None, 'count': 0} for k in gan})
  lines, results = report.reading('oracle', table)
  assert results['softmax']['verdict'] == 'refused'
  text = '\n'.join(lines)
  assert 'Not compared with MLE at matched diversity: its length histogram' in text
  assert ('On oracle, not compared (length histogram further from the data\'s than every MLE '
          'temperature\'s): GAN WGAN-GP softmax.') in text
