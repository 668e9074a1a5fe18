"""Text GANs against the MLE language model on words, cfg and oracle: quality, diversity, time.

  .venv/bin/python scripts/text_table.py [--benchmarks words,cfg,oracle] [--seeds 3]
      [--workdir runs/text] [--shard i/n] [--table_only] [--gan_steps N] [--lm_steps N]

For each benchmark B and seed s (seed-major, so a stopped table is balanced) three runs, each a
`python -m gan_jax.main` subprocess in <workdir>/<B>_<method>/seed<s> with --config.seed=s:
  softmax  experiments/text_gan.py:B         (Gulrajani et al. 2017: WGAN-GP, softmax G)
  gumbel   experiments/text_gan.py:B,gumbel  (RelGAN-style Gumbel-softmax G)
  lm       --mode=lm experiments/text_lm.py:B (the MLE LSTM, sampled at several temperatures)
--gan_steps / --lm_steps set train.num_steps (default: the experiment's); --runlocal appends
`,runlocal` to the config argument and --extra appends flags to every run (both for tests).
Resumable: a run whose eval.json is at its final step is read, not retrained; a stopped one
resumes from its checkpoints. Each run's wall time (the subprocess, summed over the invocations
that trained it) is kept in its wall.json, written when the run finishes. `--shard i/n` trains
every n-th run from the i-th, then any other not yet taken (scripts/shards.py), and writes no
docs; without --shard, or with --table_only, every finished run is collected into
<docs_dir>/text.md, text.json and text.png.

The page compares each GAN with the MLE curve at matched diversity (Caccia et al. 2020): the
LM's quality number interpolated linearly along its temperature curve at the GAN's self-BLEU-4.
"""
import argparse
import functools
import glob
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from scripts import doc_files  # noqa: E402
from scripts import shards  # noqa: E402
from gan_jax.evaluation import mean_std  # noqa: E402

BENCHMARKS = ('words', 'cfg', 'oracle')
METHODS = ('softmax', 'gumbel', 'lm')  # Run order within a (seed, benchmark).
GAN_NAMES = {'softmax': 'GAN WGAN-GP softmax', 'gumbel': 'GAN Gumbel-softmax'}
# Benchmark -> its quality numbers (metric, label, higher is better); the first is the one the
# reading and the figure use.
QUALITY = {
    'words': (('dictionary_percent', 'dictionary %', True),
              ('heldout_percent', 'held-out words %', True)),
    'cfg': (('accepted_percent', 'accepted %', True),),
    'oracle': (('nll_oracle', 'NLL_oracle', False),),
}
COMMON = (('bleu_4', 'BLEU-4', True), ('js_4', 'JS-4 (lower better)', False),
          ('self_bleu_4', 'self-BLEU-4 (lower = more diverse)', False),
          ('unique_percent', 'unique %', True))
DIVERSITY = 'self_bleu_4'
NUM_SHOWN_SAMPLES = 5
COLORS = {'lm': (31, 119, 180), 'softmax': (214, 39, 40), 'gumbel': (44, 160, 44),
          'real': (0, 0, 0)}


# --- Runs ------------------------------------------------------------------------------------
def run_dir(workdir, benchmark, method, seed):
  return os.path.join(workdir, f'{benchmark}_{method}', f'seed{seed}')


def config_arg(benchmark, method, runlocal):
  """The --config value of a run: experiments/text_{gan,lm}.py:<benchmark>[,gumbel][,runlocal]."""
  name = 'text_lm' if method == 'lm' else 'text_gan'
  arg = benchmark + (',gumbel' if method == 'gumbel' else '') + (',runlocal' if runlocal else '')
  return f'experiments/{name}.py:{arg}'


@functools.lru_cache(maxsize=None)
def default_steps(config):
  """train.num_steps of an experiment (path:arg), as gan_jax loads it."""
  from gan_jax import configs
  path, arg = config.split(':', 1)
  return int(configs.load_experiment(os.path.join(ROOT, path), arg).train.num_steps)


def final_step(benchmark, method, args):
  steps = args.lm_steps if method == 'lm' else args.gan_steps
  return steps if steps else default_steps(config_arg(benchmark, method, args.runlocal))


def command(benchmark, method, seed, args):
  """The gan_jax.main command line of one run."""
  cmd = [sys.executable, '-m', 'gan_jax.main'] + (['--mode=lm'] if method == 'lm' else [])
  cmd += [f'--config={config_arg(benchmark, method, args.runlocal)}',
          f'--workdir={run_dir(args.workdir, benchmark, method, seed)}', f'--config.seed={seed}']
  steps = args.lm_steps if method == 'lm' else args.gan_steps
  if steps:
    cmd.append(f'--config.train.num_steps={steps}')
  return cmd + shlex.split(args.extra)


def read_json(path):
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def finished(benchmark, method, seed, args):
  """The run's eval.json when it is at its final step, else None."""
  e = read_json(os.path.join(run_dir(args.workdir, benchmark, method, seed), 'eval.json'))
  return e if e is not None and e['step'] >= final_step(benchmark, method, args) else None


def add_wall(path, seconds):
  """Adds one invocation's seconds to a wall-time file ({"seconds", "invocations"})."""
  wall = read_json(path) or {'seconds': 0.0, 'invocations': 0}
  wall = {'seconds': wall['seconds'] + seconds, 'invocations': wall['invocations'] + 1}
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    json.dump(wall, f)


def train(benchmark, method, seed, args):
  """Trains one run as a subprocess, timed. Each invocation's seconds go to wall_partial.json
  (kept when one is interrupted or fails), which joins wall.json when the run finishes."""
  d = run_dir(args.workdir, benchmark, method, seed)
  cmd = command(benchmark, method, seed, args)
  print(' '.join(cmd[1:]), flush=True)
  partial, start = os.path.join(d, 'wall_partial.json'), time.time()
  try:
    subprocess.run(cmd, cwd=ROOT, check=True)
  finally:
    add_wall(partial, time.time() - start)
  wall, done = read_json(partial), read_json(os.path.join(d, 'wall.json'))
  if done:  # Trained further than an earlier final step: the earlier time counts too.
    wall = {k: wall[k] + done[k] for k in wall}
  with open(os.path.join(d, 'wall.json'), 'w') as f:
    json.dump(wall, f)
  os.remove(partial)


def all_runs(args):
  """(benchmark, method, seed) of every run, seed-major."""
  return [(b, m, s) for s in range(args.seeds) for b in args.benchmarks for m in METHODS]


def train_all(args):
  """Trains the unfinished runs (scripts/shards.py: this shard's first, then any other not held
  by another process); prints progress; returns how many runs this process trained."""
  return shards.work(all_runs(args), args.shard, lambda r: finished(*r, args),
                     lambda r: train(*r, args), lambda r: run_dir(args.workdir, *r),
                     label=lambda r: f'{r[0]} {r[1]} seed {r[2]}')


# --- Collecting ------------------------------------------------------------------------------
def temperatures_of(e):
  return sorted(e['temperatures'], key=float)


def collect(args):
  """{benchmark: {'runs': {method: {seed: record}}, 'floor': metrics or None}} of finished runs.
  A record holds 'metrics' (GAN) or 'temperatures' (LM), and 'wall_minutes'."""
  out = {}
  for b in args.benchmarks:
    runs, floor = {m: {} for m in METHODS}, None
    for s in range(args.seeds):
      for m in METHODS:
        e = finished(b, m, s, args)
        if e is None:
          continue
        wall = read_json(os.path.join(run_dir(args.workdir, b, m, s), 'wall.json'))
        record = {'step': e['step'], 'wall_minutes': wall and wall['seconds'] / 60}
        if m == 'lm':
          record['temperatures'] = {t: e['temperatures'][t] for t in temperatures_of(e)}
        else:
          record['metrics'] = e.get('seeds', {}).get(str(s), e.get('mean'))
        runs[m][s] = record
        floor = floor or e['protocol'].get('real_train_vs_heldout')
    out[b] = {'runs': runs, 'floor': floor}
  return out


def stats(records, keys):
  """{key: {'mean', 'std', 'count'}} over a list of metric dicts."""
  out = {}
  for k in keys:
    mean, std, count = mean_std([r.get(k) for r in records])
    out[k] = {'mean': mean, 'std': std, 'count': count}
  return out


def median_range(values):
  """{'median', 'min', 'max', 'count'} of the numbers among values (None for none): wall times
  are read by their median, which with 3 or more seeds one run slowed by other work on its core
  does not move."""
  v = [x for x in values if x is not None]
  if not v:
    return None
  return {'median': float(np.median(v)), 'min': min(v), 'max': max(v), 'count': len(v)}


def metric_keys(benchmark):
  return [k for k, _, _ in QUALITY[benchmark]] + [k for k, _, _ in COMMON]


def aggregate(benchmark, collected):
  """The table of one benchmark: {'real', 'softmax', 'gumbel', 'lm': {T: stats}, 'seeds',
  'wall_minutes'}."""
  runs, keys = collected['runs'], metric_keys(benchmark)
  table = {'real': collected['floor'], 'seeds': {m: len(runs[m]) for m in METHODS},
           'wall_minutes': {m: median_range([r['wall_minutes'] for r in runs[m].values()])
                            for m in METHODS}}
  for m in GAN_NAMES:
    table[m] = stats([r['metrics'] for r in runs[m].values()], keys)
  temps = sorted({t for r in runs['lm'].values() for t in r['temperatures']}, key=float)
  table['lm'] = {t: stats([r['temperatures'][t] for r in runs['lm'].values()
                           if t in r['temperatures']], keys) for t in temps}
  return table


# --- Reading ---------------------------------------------------------------------------------
def compare_at_diversity(gan_diversity, gan_quality, curve, higher_is_better=True):
  """The GAN's quality against the LM curve's at the GAN's self-BLEU-4.

  curve: [(temperature, self-BLEU-4, quality)] in temperature order. Inside the curve's
  self-BLEU range the LM's quality is interpolated linearly on each segment that brackets the
  GAN's self-BLEU (the best LM value where the curve crosses it more than once); outside, the
  nearest LM point in self-BLEU is used. 'advantage' > 0 means the GAN is better (by that much
  of the quality number)."""
  pts = [(t, d, q) for t, d, q in curve if d is not None and q is not None]
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
  return {'inside': nearest is None, 'lm_quality': lm_quality, 'segment': segment,
          'nearest': nearest, 'advantage': advantage, 'verdict': verdict}


def lm_curve(table, quality):
  return [(t, s[DIVERSITY]['mean'], s[quality]['mean']) for t, s in table['lm'].items()]


def _by(value, quality, label):
  unit = 'points' if quality.endswith('percent') else 'nats per token'
  return f'by {abs(value):.3g} {unit} of {label}'


def gan_sentence(name, gan, cmp, real, quality, label, higher):
  """One GAN's sentence (against the MLE curve at matched diversity, then against real data) and
  whether the GAN is worse than real data (None without a floor)."""
  q, d = gan[quality]['mean'], gan[DIVERSITY]['mean']
  head = (f'- {name}: {label} {q:.3g} ± {gan[quality]["std"]:.2g}, self-BLEU-4 {d:.3g} ± '
          f'{gan[DIVERSITY]["std"]:.2g} ({gan[quality]["count"]} seed'
          f'{"" if gan[quality]["count"] == 1 else "s"}). ')
  dominated = ''
  if cmp['inside']:
    t0, t1 = cmp['segment']
    mle = (f'At the same self-BLEU-4 the MLE curve (between T={t0} and T={t1}) reaches '
           f'{label} {cmp["lm_quality"]:.3g}')
  else:
    t, nd, nq = cmp['nearest']
    side = 'less' if d > nd else 'more'
    mle = (f'Its self-BLEU-4 lies outside the MLE curve (the GAN is {side} diverse than every '
           f'temperature); the nearest MLE point, T={t} (self-BLEU-4 {nd:.3g}), has {label} '
           f'{nq:.3g}')
    if side == 'less' and cmp['verdict'] == 'worse':
      dominated = f' (MLE at T={t} is both more diverse and better)'
  verdict = ('level with MLE' if cmp['verdict'] == 'equal' else
             f'{cmp["verdict"]} than MLE {_by(cmp["advantage"], quality, label)}')
  out, worse_than_real = head + mle + f': the GAN is {verdict}{dominated}.', None
  if real and real.get(quality) is not None and real.get(DIVERSITY) is not None:
    gap = (q - real[quality]) * (1 if higher else -1)
    worse_than_real = gap < 0
    out += (f' Against real data ({label} {real[quality]:.3g}, self-BLEU-4 '
            f'{real[DIVERSITY]:.3g}) it is ' +
            ('level' if gap == 0 else
             f'{"better" if gap > 0 else "worse"} {_by(gap, quality, label)}') +
            f' and {"less" if d > real[DIVERSITY] else "as or more"} diverse.')
  return out, worse_than_real


def summary_sentence(benchmark, verdicts):
  """verdicts: {GAN name: (verdict against MLE, worse than real data)}."""
  if all(v == 'worse' and r is not False for v, r in verdicts.values()):
    real = '' if any(r is None for _, r in verdicts.values()) else ' and worse than real data'
    return (f'On {benchmark} every GAN loses: each is worse than the MLE language model at its '
            f'own diversity (or at the nearest MLE point){real}.')
  ahead = [n for n, (v, _) in verdicts.items() if v == 'better']
  behind = [n for n, (v, _) in verdicts.items() if v != 'better']
  return (f'On {benchmark}, ahead of MLE at matched diversity: {", ".join(ahead) or "none"}; '
          f'not ahead: {", ".join(behind) or "none"}.')


def reading(benchmark, table):
  """Generated sentences for one benchmark, and the comparisons ({} without an LM curve)."""
  quality, label, higher = QUALITY[benchmark][0]
  curve = lm_curve(table, quality)
  if not any(d is not None and q is not None for _, d, q in curve):
    return [], {}
  out = [f'Reading ({benchmark}, generated from the table; {label}, '
         f'{"higher" if higher else "lower"} is better; matched diversity: the MLE temperature '
         'curve interpolated linearly at the GAN\'s self-BLEU-4):', '']
  results, verdicts = {}, {}
  for m, name in GAN_NAMES.items():
    gan = table[m]
    if gan[quality]['mean'] is None or gan[DIVERSITY]['mean'] is None:
      continue
    cmp = compare_at_diversity(gan[DIVERSITY]['mean'], gan[quality]['mean'], curve, higher)
    sentence, worse_than_real = gan_sentence(name, gan, cmp, table['real'], quality, label,
                                             higher)
    out.append(sentence)
    results[m], verdicts[name] = cmp, (cmp['verdict'], worse_than_real)
  if verdicts:
    out += ['', summary_sentence(benchmark, verdicts)]
  return out + [''], results


# --- The page --------------------------------------------------------------------------------
def _digits(key):
  return 1 if key.endswith('percent') else 3


def cell(s, key):
  if s is None or s.get('mean') is None:
    return '—'
  d = _digits(key)
  return f'{s["mean"]:.{d}f} ± {s["std"]:.{d}f}'


def minutes_cell(w):
  if not w:
    return '—'
  return f'{w["median"]:.1f}' + (f' ({w["min"]:.1f}–{w["max"]:.1f})' if w['count'] > 1 else '')


def columns(benchmark):
  """(metric, header) of a benchmark's table after 'seeds'."""
  return [(k, label + ('' if higher else ' (lower better)')) for k, label, higher in
          QUALITY[benchmark]] + [(k, label) for k, label, _ in COMMON]


def table_lines(benchmark, table):
  """The markdown table of one benchmark: real data, the GANs, MLE at each temperature."""
  cols = columns(benchmark)
  wall = lambda m: minutes_cell(table['wall_minutes'][m])
  lines = ['| method | seeds | ' + ' | '.join(h for _, h in cols) + ' | minutes a run |',
           '|---|' + '---|' * (len(cols) + 2)]
  real = table['real'] or {}
  lines.append('| real data (train vs held-out) | — | ' + ' | '.join(
      '—' if real.get(k) is None else f'{real[k]:.{_digits(k)}f}' for k, _ in cols) + ' | — |')
  for m, name in GAN_NAMES.items():
    lines.append(f'| {name} | {table["seeds"][m]} | ' +
                 ' | '.join(cell(table[m][k], k) for k, _ in cols) + f' | {wall(m)} |')
  for t, s in table['lm'].items():
    lines.append(f'| MLE, T={t} | {s[DIVERSITY]["count"]} | ' +
                 ' | '.join(cell(s[k], k) for k, _ in cols) + f' | {wall("lm")} |')
  return lines


def gan_samples(d):
  """The first lines of a GAN run's last samples/step_*.txt, and its name."""
  paths = sorted(glob.glob(os.path.join(d, 'samples', 'step_*.txt')))
  if not paths:
    return None, None
  with open(paths[-1]) as f:
    return f.read().splitlines()[:NUM_SHOWN_SAMPLES], os.path.basename(paths[-1])


def sample_lines(benchmark, args, runs):
  """Code blocks of each method's first samples (seed 0, finished runs)."""
  out = [f'Samples ({benchmark}, seed 0, the first {NUM_SHOWN_SAMPLES} of each):', '']
  blocks = []
  for m, name in GAN_NAMES.items():
    rows, file = gan_samples(run_dir(args.workdir, benchmark, m, 0))
    if rows is not None and 0 in runs[m]:
      blocks.append((f'{name} (samples/{file})', rows))
  temps = list(runs['lm'][0]['temperatures']) if 0 in runs['lm'] else []
  shown = sorted({min(temps, key=float)} | ({'1.0'} & set(temps)), key=float) if temps else []
  for t in shown:
    path = os.path.join(run_dir(args.workdir, benchmark, 'lm', 0), 'samples',
                        f'temperature_{t}.txt')
    if os.path.exists(path):
      with open(path) as f:
        blocks.append((f'MLE, T={t} (samples/temperature_{t}.txt)',
                       f.read().splitlines()[:NUM_SHOWN_SAMPLES]))
  for title, rows in blocks:
    out += [f'{title}:', '', '```', *rows, '```', '']
  return out if blocks else []


def header_lines(args):
  cmd = ' '.join(['.venv/bin/python', 'scripts/text_table.py'] + [shlex.quote(a) for a in
                                                                 sys.argv[1:]])
  steps = lambda m: ' / '.join(f'{n:,}' for n in sorted({final_step(b, m, args)
                                                          for b in args.benchmarks}))
  return [
      '# Text GANs against the MLE language model: quality and diversity', '',
      f'Generated by `{cmd}` (scripts/text_table.py; its docstring is the protocol); do not '
      'edit by hand. Methods: experiments/text_gan.py:<benchmark> (WGAN-GP, softmax G, samples '
      'by argmax), text_gan.py:<benchmark>,gumbel (Gumbel-softmax G, relativistic average loss, '
      'samples drawn from G\'s distribution), and the MLE LSTM of experiments/text_lm.py '
      f'(`--mode=lm`) sampled at each temperature T; GANs {steps("softmax")} steps, MLE '
      f'{steps("lm")} steps' + (', the `:runlocal` smoke-test sizes' if args.runlocal else '')
      + '. Scores: the text evaluator (gan_jax/evaluators/text.py) on its samples against the '
      'held-out split: BLEU-4 (quality), JS-4 between 4-gram distributions (lower is closer), '
      'self-BLEU-4 (lower is more diverse), % unique, and each benchmark\'s own number (words: '
      '% dictionary words and % held-out words (real words never seen in training); cfg: % '
      'accepted by the grammar; oracle: NLL of the samples under the oracle LSTM, lower is '
      'better). Real data: training rows scored as samples (the evaluator\'s '
      '`real_train_vs_heldout`), the floor a model is read against. Cells: mean ± sample std '
      'over seeds; minutes a run: the median (range) over seeds of the wall time of a run\'s '
      '`gan_jax.main` process on the machine that ran it, compilation and evaluation included '
      '(one MLE run samples every temperature); with 3 seeds, one run that shared its core with '
      'other work (the test suite) shows in the range, not the median.', '',
      'Figure: [text.png](text.png), quality against self-BLEU-4 per benchmark: the MLE curve '
      'through its temperatures, each GAN with its seed std as error bars, real data.', '']


# --- The figure ------------------------------------------------------------------------------
def nice_ticks(lo, hi, count=5):
  """Round tick values within [lo, hi], about `count` of them."""
  raw = max(hi - lo, 1e-12) / count
  mag = 10 ** np.floor(np.log10(raw))
  step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
  first = np.ceil(lo / step) * step
  return [float(np.round(v, 10)) + 0.0 for v in np.arange(first, hi + step * 1e-6, step)]


def panel_points(benchmark, table):
  """(x, y, x_std, y_std) of the panel's markers: 'lm' a list of (T, x, y); GANs and real."""
  quality = QUALITY[benchmark][0][0]
  pts = {'lm': [(t, s[DIVERSITY]['mean'], s[quality]['mean']) for t, s in table['lm'].items()
                if s[DIVERSITY]['mean'] is not None and s[quality]['mean'] is not None]}
  for m in GAN_NAMES:
    g = table[m]
    if g[DIVERSITY]['mean'] is not None and g[quality]['mean'] is not None:
      pts[m] = (g[DIVERSITY]['mean'], g[quality]['mean'], g[DIVERSITY]['std'], g[quality]['std'])
  real = table['real'] or {}
  if real.get(DIVERSITY) is not None and real.get(quality) is not None:
    pts['real'] = (real[DIVERSITY], real[quality], 0.0, 0.0)
  return pts


def _span(values):
  lo, hi = min(values), max(values)
  pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 0.05)
  return lo - pad, hi + pad


def marker(draw, kind, x, y, r=5):
  color = COLORS[kind]
  if kind == 'real':
    draw.polygon([(x, y - r - 2), (x + r + 2, y), (x, y + r + 2), (x - r - 2, y)],
                 outline=color, fill='white', width=2)
  elif kind == 'gumbel':
    draw.polygon([(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)], fill=color)
  elif kind == 'softmax':
    draw.rectangle([x - r, y - r, x + r, y + r], fill=color)
  else:
    draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=color)


def draw_axes(draw, box, xs, ys, invert, title):
  """The frame, ticks and titles of a panel; returns the data -> pixel maps."""
  x0, y0, w, h = box
  (xlo, xhi), (ylo, yhi) = _span(xs), _span(ys)
  px = lambda v: x0 + (v - xlo) / (xhi - xlo) * w
  frac = lambda v: (v - ylo) / (yhi - ylo)
  py = lambda v: y0 + (frac(v) if invert else 1 - frac(v)) * h
  draw.rectangle([x0, y0, x0 + w, y0 + h], outline='black')
  draw.text((x0, y0 - 34), title, fill='black')
  for t in nice_ticks(xlo, xhi):
    draw.line([px(t), y0 + h, px(t), y0 + h + 4], fill='black')
    draw.text((px(t) - 10, y0 + h + 6), f'{t:g}', fill='black')
  for t in nice_ticks(ylo, yhi):
    draw.line([x0 - 4, py(t), x0, py(t)], fill='black')
    draw.text((x0 - 44, py(t) - 6), f'{t:g}', fill='black')
  draw.text((x0 + w // 2 - 110, y0 + h + 22), 'self-BLEU-4 (lower is more diverse)',
            fill='black')
  return px, py


def draw_panel(draw, box, benchmark, table):
  """One benchmark: the MLE curve (points labelled with T), each GAN with error bars, real."""
  pts = panel_points(benchmark, table)
  quality, label, higher = QUALITY[benchmark][0]
  xs = [p[1] for p in pts['lm']] + [v for m in (*GAN_NAMES, 'real') if m in pts
                                    for v in (pts[m][0] - pts[m][2], pts[m][0] + pts[m][2])]
  ys = [p[2] for p in pts['lm']] + [v for m in (*GAN_NAMES, 'real') if m in pts
                                    for v in (pts[m][1] - pts[m][3], pts[m][1] + pts[m][3])]
  title = f'{benchmark}: y = {label}' + ('' if higher else ' (axis inverted: up is better)')
  if not xs:
    draw.text((box[0], box[1]), f'{benchmark}: no finished runs', fill='black')
    return
  px, py = draw_axes(draw, box, xs, ys, not higher, title)
  line = [(px(x), py(y)) for _, x, y in pts['lm']]
  if len(line) > 1:
    draw.line(line, fill=COLORS['lm'], width=2)
  placed = []
  for (t, x, y), (u, v) in zip(pts['lm'], line):
    marker(draw, 'lm', u, v)
    ly = v - 14
    while any(abs(u - pu) < 40 and abs(ly - pv) < 11 for pu, pv in placed):
      ly -= 11  # Close points: their labels stack upwards instead of overlapping.
    placed.append((u, ly))
    draw.text((u + 5, ly), f'T={t}', fill=COLORS['lm'])
  for m in (*GAN_NAMES, 'real'):
    if m in pts:
      x, y, sx, sy = pts[m]
      draw.line([px(x - sx), py(y), px(x + sx), py(y)], fill=COLORS[m], width=1)
      draw.line([px(x), py(y - sy), px(x), py(y + sy)], fill=COLORS[m], width=1)
      marker(draw, m, px(x), py(y))


def plot_png(path, tables):
  """docs/text.png: one panel per benchmark, x self-BLEU-4, y its quality number; a legend."""
  from PIL import Image, ImageDraw
  left, top, w, h, gap, legend = 70, 50, 300, 240, 80, 230
  n = len(tables)
  img = Image.new('RGB', (left + n * w + (n - 1) * gap + legend, top + h + 50), 'white')
  draw = ImageDraw.Draw(img)
  for i, (benchmark, table) in enumerate(tables.items()):
    draw_panel(draw, (left + i * (w + gap), top, w, h), benchmark, table)
  entries = [('lm', 'MLE LSTM (T labelled)'), *GAN_NAMES.items(),
             ('real', 'real data (train vs held-out)')]
  x0 = left + n * w + (n - 1) * gap + 20
  for j, (kind, name) in enumerate(entries):
    y = top + 20 * j
    if kind == 'lm':
      draw.line([x0 - 8, y, x0 + 8, y], fill=COLORS['lm'], width=2)
    marker(draw, kind, x0, y)
    draw.text((x0 + 14, y - 6), name, fill='black')
  img.save(path)


def cost_lines(tables: dict) -> list:
  """Generated: the page's training cost, each method's median minutes a run times its runs."""
  minutes = sum(w['median'] * w['count'] for t in tables.values()
                for w in t['wall_minutes'].values() if w)
  if not minutes:
    return []
  return [f'Cost of the page: about {minutes / 60:.1f} single-core hours of runs (each method\'s '
          f'median minutes a run times its runs), about {minutes / 120:.1f} hours as two '
          'single-core shards on a 2-core CPU.', '']


# --- Main ------------------------------------------------------------------------------------
def write_docs(args):
  """Collects every finished run; writes text.md, text.json and text.png in args.docs_dir."""
  collected = collect(args)
  tables = {b: aggregate(b, collected[b]) for b in args.benchmarks}
  lines, readings = header_lines(args) + cost_lines(tables), {}
  for b in args.benchmarks:
    text, readings[b] = reading(b, tables[b])
    lines += [f'## {b}', '', *table_lines(b, tables[b]), '', *text,
              *sample_lines(b, args, collected[b]['runs'])]
  os.makedirs(args.docs_dir, exist_ok=True)
  plot_png(os.path.join(args.docs_dir, 'text.png'), tables)
  doc_files.DOCS = args.docs_dir  # doc_files writes to its DOCS folder.
  doc_files.write('text', lines, {
      'command': sys.argv[1:], 'seeds': args.seeds, 'benchmarks': list(args.benchmarks),
      'gan_steps': args.gan_steps, 'lm_steps': args.lm_steps, 'runlocal': args.runlocal,
      'runs': {b: {m: {str(s): r for s, r in collected[b]['runs'][m].items()} for m in METHODS}
               for b in args.benchmarks},
      'table': tables, 'reading': readings})


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--benchmarks', default=','.join(BENCHMARKS))
  parser.add_argument('--seeds', type=int, default=3)
  parser.add_argument('--workdir', default=os.path.join(ROOT, 'runs', 'text'))
  parser.add_argument('--shard', default=None,
                      help='i/n: train every n-th run from the i-th first (scripts/shards.py).')
  parser.add_argument('--table_only', action='store_true', help='Only collect finished runs.')
  parser.add_argument('--gan_steps', type=int, default=None, help='GAN train.num_steps.')
  parser.add_argument('--lm_steps', type=int, default=None, help='LM train.num_steps.')
  parser.add_argument('--runlocal', action='store_true', help='The :runlocal configs (tests).')
  parser.add_argument('--extra', default='', help='Flags appended to every run (tests).')
  parser.add_argument('--docs_dir', default=doc_files.DOCS)
  args = parser.parse_args(argv)
  args.benchmarks = tuple(b for b in args.benchmarks.split(',') if b)
  unknown = [b for b in args.benchmarks if b not in BENCHMARKS]
  if unknown:
    parser.error(f'unknown benchmarks {unknown}; valid: {list(BENCHMARKS)}')
  shards.check(parser, args.shard)
  args.workdir = os.path.abspath(args.workdir)
  return args


def main():
  args = parse_args()
  if not args.table_only:
    train_all(args)
  if args.shard is None or args.table_only:
    write_docs(args)


if __name__ == '__main__':
  main()
