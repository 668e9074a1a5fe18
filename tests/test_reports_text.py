"""gan_jax/reports/text.py: the matched-diversity comparison against closed forms (linear
interpolation along a hand-made LM curve, points outside it), the aggregation of per-seed results,
the generated sentences, the table and the cost line."""
import math

import pytest

from gan_jax.reports import text

# A hand-made LM curve: (T, self-BLEU-4, quality), monotone in self-BLEU.
CURVE = [('0.5', 0.8, 90.0), ('1.0', 0.4, 50.0), ('1.2', 0.2, 30.0)]


@pytest.mark.parametrize('diversity, quality, lm, advantage, verdict, inside, segment', [
    # Inside: 90 + (0.6 - 0.8) / (0.4 - 0.8) * (50 - 90) = 70.
    (0.6, 80.0, 70.0, 10.0, 'better', True, ('0.5', '1.0')),
    # Inside: 50 + (0.3 - 0.4) / (0.2 - 0.4) * (30 - 50) = 40.
    (0.3, 20.0, 40.0, -20.0, 'worse', True, ('1.0', '1.2')),
    (0.4, 50.0, 50.0, 0.0, 'equal', True, ('0.5', '1.0')),  # On a point: level.
    (0.9, 60.0, 90.0, -30.0, 'worse', False, None),  # Less diverse than every T: nearest 0.5.
    (0.1, 35.0, 30.0, 5.0, 'better', False, None),  # More diverse than every T: nearest 1.2.
])
def test_compare_at_diversity(diversity, quality, lm, advantage, verdict, inside, segment):
  c = text.compare_at_diversity(diversity, quality, CURVE)
  assert c['lm_quality'] == pytest.approx(lm) and c['advantage'] == pytest.approx(advantage)
  assert c['verdict'] == verdict and c['inside'] == inside and c['segment'] == segment
  assert c['nearest'] == (None if inside else min(CURVE, key=lambda p: abs(p[1] - diversity)))


def test_compare_at_diversity_lower_is_better_and_several_crossings():
  # Lower is better: 2 + (0.5 - 0.8) / (0.4 - 0.8) * (4 - 2) = 3.5; the GAN's 3.0 is 0.5 better.
  c = text.compare_at_diversity(0.5, 3.0, [('0.5', 0.8, 2.0), ('1.0', 0.4, 4.0)], False)
  assert c['lm_quality'] == pytest.approx(3.5) and c['advantage'] == pytest.approx(0.5)
  assert c['segment'] == ('0.5', '1.0') and c['verdict'] == 'better'
  # A curve not monotone in self-BLEU crosses 0.5 twice (70 and 40): the better LM value counts.
  curve = [('0.5', 0.4, 80.0), ('0.7', 0.6, 60.0), ('1.0', 0.4, 20.0)]
  c = text.compare_at_diversity(0.5, 60.0, curve)
  assert c['lm_quality'] == pytest.approx(70.0) and c['verdict'] == 'worse'
  assert c['segment'] == ('0.5', '0.7')
  c = text.compare_at_diversity(0.5, 60.0, curve, higher_is_better=False)  # Now 40 is better.
  assert c['lm_quality'] == pytest.approx(40.0) and c['segment'] == ('0.7', '1.0')


def test_compare_at_diversity_one_point_and_missing_numbers():
  c = text.compare_at_diversity(0.5, 10.0, [('1.0', 0.5, 12.0)])
  assert c['inside'] and c['lm_quality'] == 12.0 and c['segment'] == ('1.0', '1.0')
  c = text.compare_at_diversity(0.3, 10.0, [('0.5', None, 1.0), ('1.0', 0.5, 12.0)])
  assert not c['inside'] and c['nearest'] == ('1.0', 0.5, 12.0)  # A point without numbers left out.
  with pytest.raises(ValueError, match='no point with both numbers'):
    text.compare_at_diversity(0.3, 10.0, [('0.5', None, 1.0)])


def _metrics(**values):
  return {'dictionary_percent': 1.0, 'heldout_percent': 0.0, 'bleu_4': 0.5, 'js_4': 0.6,
          'self_bleu_4': 0.7, 'unique_percent': 99.0, **values}


def test_aggregate_means_stds_seeds_and_minutes():
  gan = {s: {'metrics': _metrics(dictionary_percent=q), 'seconds': sec}
         for s, q, sec in ((0, 1.0, 60.0), (1, 2.0, 600.0), (2, 3.0, None))}
  lm = {0: {'temperatures': {'1.0': _metrics(bleu_4=0.8), '0.85': _metrics(bleu_4=0.9)},
            'wall_minutes': 4.0, 'seconds': 1.0},  # Wall time, when kept, before seconds.
        1: {'temperatures': {'1.0': _metrics(bleu_4=0.6), '10.0': _metrics()}, 'seconds': 120.0}}
  real = _metrics(dictionary_percent=100.0)
  # ScratchGAN is an 'lm' run: its GAN point is its samples at T = 1, not at another T.
  scratch = {0: {'temperatures': {'1.0': _metrics(dictionary_percent=7.0),
                                  '0.5': _metrics(dictionary_percent=50.0)}, 'seconds': 60.0}}
  t = text.aggregate('words', {'softmax': gan, 'gumbel': {}, 'lm': lm, 'scratchgan': scratch},
                     real)
  assert t['real'] == {**real, 'js_bits_4': pytest.approx(0.6 / math.log(2))}  # Bits added.
  assert t['seeds'] == {'softmax': 3, 'gumbel': 0, 'scratchgan': 1, 'lm': 2, 'softmax_wide': 0}
  assert t['scratchgan']['dictionary_percent'] == {'mean': 7.0, 'std': 0.0, 'count': 1}
  assert text.aggregate('words', {'lm': lm}, real)['seeds']['softmax'] == 0  # Absent: none.
  # Mean 2, sample std 1 (ddof=1) over 1, 2, 3.
  assert t['softmax']['dictionary_percent'] == {'mean': 2.0, 'std': 1.0, 'count': 3}
  assert t['gumbel']['bleu_4'] == {'mean': None, 'std': None, 'count': 0}
  assert list(t['lm']) == ['0.85', '1.0', '10.0']  # Numeric order, not string order.
  assert t['lm']['1.0']['bleu_4']['mean'] == pytest.approx(0.7)
  assert t['lm']['1.0']['bleu_4']['std'] == pytest.approx(0.1 * 2 ** 0.5)
  assert t['lm']['0.85']['bleu_4'] == {'mean': 0.9, 'std': 0.0, 'count': 1}
  assert t['wall_minutes']['softmax'] == {'median': 5.5, 'min': 1.0, 'max': 10.0, 'count': 2}
  assert t['wall_minutes']['lm'] == {'median': 3.0, 'min': 2.0, 'max': 4.0, 'count': 2}
  assert t['wall_minutes']['gumbel'] is None


def test_lm_curve_reads_the_table_in_temperature_order():
  table = {'lm': {t: {'self_bleu_4': {'mean': d}, 'accepted_percent': {'mean': q}}
                  for t, d, q in CURVE}}
  assert text.lm_curve(table, 'accepted_percent') == CURVE


def test_wall_time_is_read_by_its_median_and_range():
  w = text.median_range([3.0, None, 40.0, 5.0])
  assert w == {'median': 5.0, 'min': 3.0, 'max': 40.0, 'count': 3}
  assert text.minutes_cell(w) == '5.0 (3.0–40.0)'
  assert text.minutes_cell(text.median_range([2.0])) == '2.0'
  assert text.minutes_cell(text.median_range([None])) == '—'
  assert text.run_minutes({'seconds': 90.0}) == 1.5 and text.run_minutes({'seconds': None}) is None


def test_cost_is_median_minutes_times_runs():
  tables = {'cfg': {'wall_minutes': {'softmax': text.median_range([30.0, 90.0, 31.0]),
                                     'gumbel': None, 'lm': text.median_range([6.0])}},
            'words': {'wall_minutes': {'softmax': text.median_range([18.0, 20.0])}}}
  assert text.cost_lines(tables)[0] == (  # 31 * 3 + 6 + 19 * 2 = 137 minutes.
      "Cost of the page: about 2.3 single-core hours of runs (each method's median minutes a run "
      'times its runs), about 1.1 hours as two single-core shards on a 2-core CPU.')
  assert text.cost_lines({'cfg': {'wall_minutes': {'lm': None}}}) == []


def _stats(**values):
  return {k: {'mean': v, 'std': 0.0, 'count': 1} for k, v in values.items()}


def _table(softmax, gumbel, real=None, quality='accepted_percent'):
  """A benchmark's table: the LM at CURVE, each GAN at (self-BLEU-4, quality), one seed each."""
  point = lambda d, q: _stats(**{quality: q, 'self_bleu_4': d})  # noqa: E731
  real = {quality: 100.0, 'self_bleu_4': 0.3} if real is None else real
  return {'real': real, 'softmax': point(*softmax), 'gumbel': point(*gumbel),
          'lm': {t: point(d, q) for t, d, q in CURVE}}


def test_reading_says_plainly_when_every_gan_loses():
  lines, results = text.reading('cfg', _table((0.3, 20.0), (0.9, 60.0)))
  joined = '\n'.join(lines)
  assert results['softmax']['lm_quality'] == pytest.approx(40.0)
  assert lines[2] == 'The MLE temperatures span self-BLEU-4 0.200 to 0.800 (real data 0.300).'
  assert '- GAN WGAN-GP softmax: accepted % 20 ± 0, self-BLEU-4 0.3 ± 0 (1 seed). ' in joined
  assert 'between T=1.0 and T=1.2) reaches accepted % 40: the GAN is worse than MLE by 20 ' \
         'points' in joined
  assert 'outside the MLE curve (the GAN is less diverse than every temperature); the nearest ' \
         'MLE point, T=0.5 (self-BLEU-4 0.8), has accepted % 90: the GAN is worse than MLE by ' \
         '30 points of accepted % (MLE at T=0.5 is both more diverse and better)' in joined
  assert 'Against real data (accepted % 100, self-BLEU-4 0.3) it is worse by 80 points of ' \
         'accepted % and as or more diverse.' in joined
  assert lines[-2] == ('On cfg every GAN loses: each is worse than the MLE language model at '
                       'its own diversity (or at the nearest MLE point) and worse than real data.')


def test_reading_counts_a_lift_above_the_floor_in_points():
  lines, _ = text.reading('cfg', _table((0.6, 80.0), (0.3, 20.0), quality='accepted_lift'))
  assert 'better than MLE by 10 points of accepted % above floor' in '\n'.join(lines)
  assert 'nats' not in '\n'.join(lines)


def test_reading_names_a_gan_ahead_of_the_curve():
  lines, _ = text.reading('cfg', _table((0.6, 80.0), (0.3, 20.0)))
  joined = '\n'.join(lines)
  assert 'the GAN is better than MLE by 10 points of accepted %' in joined
  assert 'every GAN loses' not in joined
  assert 'ahead of MLE at matched diversity: GAN WGAN-GP softmax; not ahead: GAN ' \
         'Gumbel-softmax.' in joined


def test_reading_in_nats_without_a_floor_and_without_a_curve():
  table = _table((0.3, 20.0), (0.9, 60.0), real={}, quality='nll_oracle')
  lines, results = text.reading('oracle', table)
  # Lower is better: at 0.3 the curve has 40 and the GAN 20, 20 nats per token better.
  assert results['softmax']['advantage'] == pytest.approx(20.0)
  assert 'the GAN is better than MLE by 20 nats per token of NLL_oracle' in '\n'.join(lines)
  assert 'Against real data' not in '\n'.join(lines)
  table['lm'] = {}
  assert text.reading('oracle', table) == ([], {})


def test_table_lines_rows_and_cells():
  table = {'real': {'accepted_percent': 100.0, 'bleu_4': 0.8481},
           'seeds': {'softmax': 3, 'gumbel': 0, 'scratchgan': 1, 'lm': 1},
           'wall_minutes': {'softmax': text.median_range([3.0, 5.0, 40.0]), 'gumbel': None,
                            'scratchgan': text.median_range([9.0]),
                            'lm': text.median_range([6.0])},
           'scratchgan': {k: {'mean': 5.25, 'std': 0.0, 'count': 1}
                          for k in text.metric_keys('cfg')},
           'softmax': {k: {'mean': 20.84, 'std': 3.26, 'count': 3}
                       for k in text.metric_keys('cfg')},
           'gumbel': {k: {'mean': None, 'std': None, 'count': 0}
                      for k in text.metric_keys('cfg')},
           'lm': {'0.5': {k: {'mean': 0.7481, 'std': 0.0234, 'count': 1}
                          for k in text.metric_keys('cfg')}}}
  lines = text.table_lines('cfg', table)
  assert lines[0] == ('| method | seeds | accepted % above floor | accepted % | BLEU-4 | '
                      'JS-4 bits (lower better) | self-BLEU-4 (lower = more diverse) | distinct-4 | '
                      'unique % | mean length | length JS bits (lower better) | minutes a run |')
  assert lines[1] == '|---|' + '---|' * 11
  real = ('| real data (train vs held-out) | — | — | 100.0 | 0.848 | — | — | — | — | — | — '
          '| — |')
  assert lines[2] == real
  g = '20.840 ± 3.260'
  assert lines[3] == (f'| GAN WGAN-GP softmax | 3 | 20.8 ± 3.3 | 20.8 ± 3.3 | {g} | {g} | {g} | '
                      f'{g} | 20.8 ± 3.3 | {g} | {g} | 5.0 (3.0–40.0) |')
  assert lines[4] == '| GAN Gumbel-softmax | 0 |' + ' — |' * 10
  assert lines[5] == ('| ScratchGAN (REINFORCE, T=1) | 1 | 5.2 ± 0.0 | 5.2 ± 0.0 |' +
                      ' 5.250 ± 0.000 |' * 4 + ' 5.2 ± 0.0 |' + ' 5.250 ± 0.000 |' * 2 + ' 9.0 |')
  m = '0.748 ± 0.023'
  assert lines[6] == (f'| MLE, T=0.5 | 1 | 0.7 ± 0.0 | 0.7 ± 0.0 | {m} | {m} | {m} | {m} | '
                      f'0.7 ± 0.0 | {m} | {m} | 6.0 |')
  assert len(lines) == 7  # No JS line, and no row of the wide GAN, which has no runs here.
  table['seeds']['softmax_wide'], table['wall_minutes']['softmax_wide'] = 1, None
  table['softmax_wide'] = table['scratchgan']
  assert text.table_lines('cfg', table)[6].startswith('| GAN WGAN-GP softmax, width 128 | 1 |')
  table['real'] = text.with_bits({'js_1': 0.01, 'js_2': 0.1, 'js_3': 0.5, 'js_4': 0.687})
  assert text.table_lines('cfg', table)[-1] == (
      'JS-n in bits, 0 (the held-out n-grams) to the ceiling 1: real data score JS-1 0.014, '
      'JS-2 0.144, JS-3 0.721, JS-4 0.991 (saturated); an order where real data come within 0.1 '
      'bits of the ceiling is saturated and cannot rank models.')
  assert text.columns('oracle')[0] == ('nll_oracle', 'NLL_oracle (lower better)')
