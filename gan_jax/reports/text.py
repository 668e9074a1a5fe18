"""The text application's comparison: text GANs against the MLE language model at matched
diversity (Caccia et al. 2020, "Language GANs falling short").

A GAN is one operating point (self-BLEU-4, quality); the MLE language model sampled at several
temperatures is a curve. The GAN is read against the LM's quality interpolated linearly along that
curve at the GAN's self-BLEU-4 (`compare_at_diversity`), and against real data (training rows
scored as samples: the text evaluator's `real_train_vs_heldout`).

Output of other lengths games both axes (issue 28: random 2-letter strings are 21% dictionary
words and read as diverse), so: quality on words and cfg is the rate above its length-matched
floor (`dictionary_lift`, `accepted_lift`: evaluators/text_length.py) where the runs have it (the
first of QUALITY's numbers the table holds), and a GAN whose length histogram is further from the
data's (length_js_bits) than every MLE temperature's is not compared at matched diversity: its
verdict is 'refused' (`compare_at_diversity(..., length_js=...)`). JS-n is shown in bits (0 to 1)
beside real data's, an order where real data come within SATURATED of the ceiling marked.

Per-seed results in, per-benchmark tables out (`aggregate`), then the generated sentences
(`reading`), the markdown table (`table_lines`) and the cost line (`cost_lines`). A GAN result
holds 'metrics' (eval.json's numbers for its seed); an LM result holds 'temperatures' ({T: metrics},
T a string such as '0.85'). Minutes a run: the result's 'wall_minutes' when it has one (runs made by
the old scripts/text_table.py: its gan_jax.main process's wall time), else its training 'seconds'.
"""
import math
from typing import Optional

import numpy as np

from gan_jax.reports import stats

METHODS = ('softmax', 'gumbel', 'scratchgan', 'lm', 'softmax_wide')
GAN_NAMES = {'softmax': 'GAN WGAN-GP softmax', 'gumbel': 'GAN Gumbel-softmax',
             'scratchgan': 'ScratchGAN (REINFORCE, T=1)',
             'softmax_wide': 'GAN WGAN-GP softmax, width 128'}
OPTIONAL = ('softmax_wide',)  # Methods a study runs on some benchmarks only: no row without runs.
GAN_TEMPERATURE = '1.0'  # A GAN trained as a language model (ScratchGAN) is read at T = 1.
# Benchmark -> its quality numbers (metric, label, higher is better); the first is the one the
# reading and the figure use.
QUALITY = {
    'words': (('dictionary_lift', 'dictionary % above floor', True),
              ('dictionary_percent', 'dictionary %', True),
              ('heldout_percent', 'held-out words %', True)),
    'cfg': (('accepted_lift', 'accepted % above floor', True),
            ('accepted_percent', 'accepted %', True)),
    'oracle': (('nll_oracle', 'NLL_oracle', False),),
}
COMMON = (('bleu_4', 'BLEU-4', True), ('js_bits_4', 'JS-4 bits (lower better)', False),
          ('self_bleu_4', 'self-BLEU-4 (lower = more diverse)', False),
          ('distinct_4', 'distinct-4', True), ('unique_percent', 'unique %', True),
          ('mean_length', 'mean length', None),
          ('length_js_bits', 'length JS bits (lower better)', False))
DIVERSITY = 'self_bleu_4'
LENGTH = 'length_js_bits'
JS_ORDERS = (1, 2, 3, 4)
SATURATED = 0.1  # An order is saturated when real data's JS is within this many bits of 1.


def with_bits(metrics: Optional[dict]) -> Optional[dict]:
  """metrics with js_bits_n = js_n / ln 2 (the evaluator's JS is in nats) for each js_n."""
  if metrics is None:
    return None
  bits = {f'js_bits_{n}': metrics[f'js_{n}'] / math.log(2) for n in JS_ORDERS
          if metrics.get(f'js_{n}') is not None}
  return {**metrics, **bits}


# --- Aggregation -------------------------------------------------------------------------------
def metric_keys(benchmark: str) -> list:
  return [k for k, _, _ in QUALITY[benchmark]] + [k for k, _, _ in COMMON]


def stats_of(metrics: list, keys: list) -> dict:
  """{key: {'mean', 'std', 'count'}} over a list of metric dicts (mean ± sample std)."""
  out = {}
  for k in keys:
    mean, std, count = stats.mean_std([with_bits(m).get(k) for m in metrics])
    out[k] = {'mean': mean, 'std': std, 'count': count}
  return out


def median_range(values) -> Optional[dict]:
  """{'median', 'min', 'max', 'count'} of the numbers among values (None for none): times are
  read by their median, which with 3 or more seeds one run slowed by other work on its core does
  not move."""
  v = [x for x in values if x is not None]
  if not v:
    return None
  return {'median': float(np.median(v)), 'min': min(v), 'max': max(v), 'count': len(v)}


def run_minutes(result: dict) -> Optional[float]:
  """A run's minutes: its recorded wall time, else its training seconds / 60, else None."""
  if result.get('wall_minutes') is not None:
    return result['wall_minutes']
  return None if result.get('seconds') is None else result['seconds'] / 60


def temperatures(lm_results) -> list:
  """The temperatures of the LM results, in increasing order (strings as eval.json keys them)."""
  return sorted({t for r in lm_results for t in r['temperatures']}, key=float)


def gan_metrics(result: dict) -> dict:
  """A GAN run's numbers: its 'metrics' (eval.json of a 'gan' run), or, for a GAN whose generator
  is a language model (an 'lm' run: ScratchGAN), those of its samples at GAN_TEMPERATURE."""
  if 'metrics' in result:
    return result['metrics']
  return result['temperatures'][GAN_TEMPERATURE]


def aggregate(benchmark: str, runs: dict, real: Optional[dict]) -> dict:
  """The table of one benchmark from runs {method: {seed: result}} (methods of METHODS) and
  the real-data floor: {'real', 'seeds', 'wall_minutes', each GAN of GAN_NAMES: stats, 'lm': {T:
  stats}}."""
  keys = metric_keys(benchmark)
  runs = {m: runs.get(m, {}) for m in METHODS}  # A method without runs: empty cells.
  table = {'real': with_bits(real), 'seeds': {m: len(runs[m]) for m in METHODS},
           'wall_minutes': {m: median_range([run_minutes(r) for r in runs[m].values()])
                            for m in METHODS}}
  for m in GAN_NAMES:
    table[m] = stats_of([gan_metrics(r) for r in runs[m].values()], keys)
  lm = list(runs['lm'].values())
  table['lm'] = {t: stats_of([r['temperatures'][t] for r in lm if t in r['temperatures']], keys)
                 for t in temperatures(lm)}
  return table


# --- Matched diversity -------------------------------------------------------------------------
def length_refusal(length_js: Optional[tuple]) -> Optional[str]:
  """None, or why a GAN is not compared at matched diversity: length_js = (the GAN's length JS,
  [each MLE temperature's]), in bits; refused when the GAN's is above every MLE temperature's."""
  if length_js is None or length_js[0] is None:
    return None
  gan, lm = length_js[0], [x for x in length_js[1] if x is not None]
  if not lm or gan <= max(lm):
    return None
  return (f'its length histogram is further from the data\'s (length JS {gan:.3g} bits) than '
          f'every MLE temperature\'s (at most {max(lm):.3g})')


def compare_at_diversity(gan_diversity: float, gan_quality: float, curve: list,
                         higher_is_better: bool = True, length_js: Optional[tuple] = None,
                         refuse_length: bool = True) -> dict:
  """The GAN's quality against the LM curve's at the GAN's self-BLEU-4.

  curve: [(temperature, self-BLEU-4, quality)] in temperature order. Inside the curve's
  self-BLEU range the LM's quality is interpolated linearly on each segment that brackets the
  GAN's self-BLEU (the best LM value where the curve crosses it more than once); outside, the
  nearest LM point in self-BLEU is used. 'advantage' > 0 means the GAN is better (by that much
  of the quality number). With `length_js` (see length_refusal) a GAN of other lengths than
  every MLE temperature's gets the verdict 'refused' and the reason in 'refused' (the numbers
  are still computed), unless refuse_length is False."""
  pts = [(t, d, q) for t, d, q in curve if d is not None and q is not None]
  if not pts:
    raise ValueError('compare_at_diversity: the LM curve has no point with both numbers.')
  best = max if higher_is_better else min
  crossings = []
  for (t0, d0, q0), (t1, d1, q1) in zip(pts, pts[1:]):
    if min(d0, d1) <= gan_diversity <= max(d0, d1):
      w = 0.0 if d1 == d0 else (gan_diversity - d0) / (d1 - d0)
      crossings.append((q0 + w * (q1 - q0), (t0, t1)))
  if len(pts) == 1 and pts[0][1] == gan_diversity:
    crossings.append((pts[0][2], (pts[0][0], pts[0][0])))
  if crossings:
    lm_quality, segment = best(crossings, key=lambda c: c[0])
    nearest = None
  else:
    nearest = min(pts, key=lambda p: abs(p[1] - gan_diversity))
    lm_quality, segment = nearest[2], None
  advantage = (gan_quality - lm_quality) * (1 if higher_is_better else -1)
  verdict = 'better' if advantage > 0 else 'worse' if advantage < 0 else 'equal'
  refused = length_refusal(length_js) if refuse_length else None
  return {'inside': nearest is None, 'lm_quality': lm_quality, 'segment': segment,
          'nearest': nearest, 'advantage': advantage,
          'verdict': 'refused' if refused else verdict, 'refused': refused}


def lm_curve(table: dict, quality: str) -> list:
  """[(T, mean self-BLEU-4, mean quality)] of a benchmark's table, in temperature order."""
  return [(t, s[DIVERSITY]['mean'], s[quality]['mean']) for t, s in table['lm'].items()]


def quality_of(benchmark: str, table: dict) -> tuple:
  """(metric, label, higher is better): the first of QUALITY[benchmark] that some MLE temperature
  of the table has a mean for (runs made before the evaluator had it lack it), else the first."""
  for q in QUALITY[benchmark]:
    if any(s.get(q[0], {}).get('mean') is not None for s in table['lm'].values()):
      return q
  return QUALITY[benchmark][0]


def lm_length_js(table: dict) -> list:
  return [s.get(LENGTH, {}).get('mean') for s in table['lm'].values()]


# --- The sentences -----------------------------------------------------------------------------
def _by(value: float, quality: str, label: str) -> str:
  unit = 'points' if quality.endswith(('percent', 'lift')) else 'nats per token'
  return f'by {abs(value):.3g} {unit} of {label}'


def _against_mle(cmp: dict, d: float, label: str) -> tuple:
  """(the MLE clause of a GAN's sentence, the 'dominated' remark or '')."""
  if cmp['inside']:
    t0, t1 = cmp['segment']
    return (f'At the same self-BLEU-4 the MLE curve (between T={t0} and T={t1}) reaches '
            f'{label} {cmp["lm_quality"]:.3g}'), ''
  t, nd, nq = cmp['nearest']
  side = 'less' if d > nd else 'more'
  mle = (f'Its self-BLEU-4 lies outside the MLE curve (the GAN is {side} diverse than every '
         f'temperature); the nearest MLE point, T={t} (self-BLEU-4 {nd:.3g}), has {label} '
         f'{nq:.3g}')
  dominated = (f' (MLE at T={t} is both more diverse and better)'
               if side == 'less' and cmp['verdict'] == 'worse' else '')
  return mle, dominated


def gan_sentence(name: str, gan: dict, cmp: dict, real: Optional[dict], quality: str,
                 label: str, higher: bool) -> tuple:
  """One GAN's sentence (against the MLE curve at matched diversity, then against real data) and
  whether the GAN is worse than real data (None without a floor)."""
  q, d = gan[quality]['mean'], gan[DIVERSITY]['mean']
  count = gan[quality]['count']
  head = (f'- {name}: {label} {q:.3g} ± {gan[quality]["std"]:.2g}, self-BLEU-4 {d:.3g} ± '
          f'{gan[DIVERSITY]["std"]:.2g} ({count} seed{"" if count == 1 else "s"}). ')
  mle, dominated = _against_mle(cmp, d, label)
  if cmp['verdict'] == 'refused':
    out = head + (f'Not compared with MLE at matched diversity: {cmp["refused"]}, so its '
                  f'{label} and self-BLEU-4 are those of output of other lengths.')
  else:
    verdict = ('level with MLE' if cmp['verdict'] == 'equal' else
               f'{cmp["verdict"]} than MLE {_by(cmp["advantage"], quality, label)}')
    out = head + mle + f': the GAN is {verdict}{dominated}.'
  worse_than_real = None
  if real and real.get(quality) is not None and real.get(DIVERSITY) is not None:
    gap = (q - real[quality]) * (1 if higher else -1)
    worse_than_real = gap < 0
    out += (f' Against real data ({label} {real[quality]:.3g}, self-BLEU-4 '
            f'{real[DIVERSITY]:.3g}) it is ' +
            ('level' if gap == 0 else
             f'{"better" if gap > 0 else "worse"} {_by(gap, quality, label)}') +
            f' and {"less" if d > real[DIVERSITY] else "as or more"} diverse.')
  return out, worse_than_real


def summary_sentence(benchmark: str, verdicts: dict) -> str:
  """verdicts: {GAN name: (verdict against MLE, worse than real data or None)}."""
  refused = [n for n, (v, _) in verdicts.items() if v == 'refused']
  if refused:
    rest = {n: v for n, v in verdicts.items() if n not in refused}
    return ' '.join(filter(None, [
        f'On {benchmark}, not compared (length histogram further from the data\'s than every MLE '
        f'temperature\'s): {", ".join(refused)}.', summary_sentence(benchmark, rest) if rest
        else '']))
  if all(v == 'worse' and r is not False for v, r in verdicts.values()):
    real = '' if any(r is None for _, r in verdicts.values()) else ' and worse than real data'
    return (f'On {benchmark} every GAN loses: each is worse than the MLE language model at its '
            f'own diversity (or at the nearest MLE point){real}.')
  ahead = [n for n, (v, _) in verdicts.items() if v == 'better']
  behind = [n for n, (v, _) in verdicts.items() if v != 'better']
  return (f'On {benchmark}, ahead of MLE at matched diversity: {", ".join(ahead) or "none"}; '
          f'not ahead: {", ".join(behind) or "none"}.')


def span_sentence(curve: list, table: dict) -> str:
  """How far the MLE temperatures move self-BLEU-4 (the matched-diversity axis), and real
  data's: a narrow span (cfg's small grammar repeats itself at every temperature) leaves little
  room to match a GAN's diversity."""
  d = [x for _, x, _ in curve if x is not None]
  real = (table.get('real') or {}).get(DIVERSITY)
  return (f'The MLE temperatures span self-BLEU-4 {min(d):.3f} to {max(d):.3f}' +
          ('' if real is None else f' (real data {real:.3f})') + '.')


def reading(benchmark: str, table: dict) -> tuple:
  """(generated lines for one benchmark, {method: comparison}); ([], {}) without an LM curve."""
  quality, label, higher = quality_of(benchmark, table)
  curve = lm_curve(table, quality)
  if not any(d is not None and q is not None for _, d, q in curve):
    return [], {}
  out = [f'Reading ({benchmark}, generated from the table; {label}, '
         f'{"higher" if higher else "lower"} is better; matched diversity: the MLE temperature '
         'curve interpolated linearly at the GAN\'s self-BLEU-4):', '', span_sentence(curve, table),
         '']
  results, verdicts = {}, {}
  for m, name in GAN_NAMES.items():
    gan = table.get(m)
    if gan is None or gan[quality]['mean'] is None or gan[DIVERSITY]['mean'] is None:
      continue
    cmp = compare_at_diversity(gan[DIVERSITY]['mean'], gan[quality]['mean'], curve, higher,
                               length_js=(gan.get(LENGTH, {}).get('mean'), lm_length_js(table)))
    sentence, worse_than_real = gan_sentence(name, gan, cmp, table['real'], quality, label,
                                             higher)
    out.append(sentence)
    results[m], verdicts[name] = cmp, (cmp['verdict'], worse_than_real)
  if verdicts:
    out += ['', summary_sentence(benchmark, verdicts)]
  return out + [''], results


# --- The table and the cost --------------------------------------------------------------------
def digits(key: str) -> int:
  return 1 if key.endswith(('percent', 'lift')) else 3


def cell(s: Optional[dict], key: str) -> str:
  """'12.5 ± 1.5' (percentages) or '0.944 ± 0.006'; '—' without a mean."""
  if s is None or s.get('mean') is None:
    return '—'
  d = digits(key)
  return f'{s["mean"]:.{d}f} ± {s["std"]:.{d}f}'


def minutes_cell(w: Optional[dict]) -> str:
  """'5.0 (3.0–40.0)': the median (range) of a method's minutes a run; '—' without any."""
  if not w:
    return '—'
  return f'{w["median"]:.1f}' + (f' ({w["min"]:.1f}–{w["max"]:.1f})' if w['count'] > 1 else '')


def columns(benchmark: str) -> list:
  """(metric, header) of a benchmark's table after 'seeds'."""
  return [(k, label + ('' if higher else ' (lower better)')) for k, label, higher in
          QUALITY[benchmark]] + [(k, label) for k, label, _ in COMMON]


def table_lines(benchmark: str, table: dict) -> list:
  """The markdown table of one benchmark: real data, the GANs, MLE at each temperature."""
  cols = columns(benchmark)
  wall = lambda m: minutes_cell(table['wall_minutes'][m])  # noqa: E731
  lines = ['| method | seeds | ' + ' | '.join(h for _, h in cols) + ' | minutes a run |',
           '|---|' + '---|' * (len(cols) + 2)]
  real = table['real'] or {}
  lines.append('| real data (train vs held-out) | — | ' + ' | '.join(
      '—' if real.get(k) is None else f'{real[k]:.{digits(k)}f}' for k, _ in cols) + ' | — |')
  for m, name in GAN_NAMES.items():
    if m in OPTIONAL and not table['seeds'].get(m):
      continue
    lines.append(f'| {name} | {table["seeds"][m]} | ' +
                 ' | '.join(cell(table[m][k], k) for k, _ in cols) + f' | {wall(m)} |')
  for t, s in table['lm'].items():
    lines.append(f'| MLE, T={t} | {s[DIVERSITY]["count"]} | ' +
                 ' | '.join(cell(s[k], k) for k, _ in cols) + f' | {wall("lm")} |')
  return lines + [''] + js_line(table) if js_line(table) else lines


def js_line(table: dict) -> list:
  """JS-n in bits beside its real-data floor and ceiling, saturated orders marked ([] without a
  real-data row holding JS)."""
  real = table['real'] or {}
  orders = [n for n in JS_ORDERS if real.get(f'js_bits_{n}') is not None]
  if not orders:
    return []
  cells = [f'JS-{n} {real[f"js_bits_{n}"]:.3f}' + (
      ' (saturated)' if real[f'js_bits_{n}'] >= 1 - SATURATED else '') for n in orders]
  return [f'JS-n in bits, 0 (the held-out n-grams) to the ceiling 1: real data score '
          f'{", ".join(cells)}; an order where real data come within {SATURATED} bits of the '
          'ceiling is saturated and cannot rank models.']


def unmeasured_lines(tables: dict) -> list:
  """A note when some runs predate the length-aware metrics ('—' in their columns)."""
  old = any(s.get('mean_length', {}).get('count', 0) < s.get(DIVERSITY, {}).get('count', 0)
            for t in tables.values() for s in [*(t[m] for m in GAN_NAMES), *t['lm'].values()])
  if not old:
    return []
  return ['Some runs were scored before the evaluator measured lengths, length-matched floors and '
          'distinct-n (issue 28): their cells in those columns are —, and the reading falls back '
          'to the raw rate; rerun the study to fill them.', '']


def cost_lines(tables: dict) -> list:
  """The page's training cost: each method's median minutes a run times its runs."""
  minutes = sum(w['median'] * w['count'] for t in tables.values()
                for w in t['wall_minutes'].values() if w)
  if not minutes:
    return []
  return [f'Cost of the page: about {minutes / 60:.1f} single-core hours of runs (each method\'s '
          f'median minutes a run times its runs), about {minutes / 120:.1f} hours as two '
          'single-core shards on a 2-core CPU.', '']
