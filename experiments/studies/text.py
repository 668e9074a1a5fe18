"""Text GANs against the MLE language model on words, cfg and oracle: quality, diversity, time.

  python -m gan_jax.study experiments/studies/text.py [--shard i/n] [--report_only]
  python -m gan_jax.study experiments/studies/text.py:runlocal     (a minute: the smoke test)

For each benchmark B and seed s (seed-major, so a stopped table is balanced) four runs, in
<workdir>/<B>_<method>/seed<s>:
  softmax     'gan' kind, experiments/text_gan.py:B         (Gulrajani et al. 2017: WGAN-GP,
                                                             softmax G)
  gumbel      'gan' kind, experiments/text_gan.py:B,gumbel  (RelGAN-style Gumbel-softmax G)
  scratchgan  'lm' kind,  experiments/text_scratchgan.py:B  (ScratchGAN: the MLE model's LSTM
                                                             trained by REINFORCE from a per-token
                                                             D, read at T = 1)
  lm          'lm' kind,  experiments/text_lm.py:B          (the MLE LSTM, `--mode=lm`, sampled at
                                                             several temperatures)
each at its experiment's train.num_steps (3,000), 3 seeds; then, on words only, after every other
run (it costs about 10x the width-32 GAN a step):
  softmax_wide 'gan' kind, experiments/text_gan.py:words,wide  (Gulrajani et al.'s model at width
                                                                128 instead of 32; the paper: 512).
The GAN runs keep the first lines of their last samples (measure text_samples), the LM runs
those of each temperature's samples. Every run is scored by the text evaluator of issue 28 (lengths, length-matched floors, distinct-n;
EVALUATION in each run's args, so records scored before it are not reused).

The page compares each GAN with the MLE curve at matched diversity (Caccia et al. 2020): the LM's
quality number interpolated linearly along its temperature curve at the GAN's self-BLEU-4
(gan_jax/reports/text.py).
"""
from gan_jax import configs
from gan_jax.reports import plots
from gan_jax.reports import text
from gan_jax.study import Page, Results, Run, Study

BENCHMARKS = ('words', 'cfg', 'oracle')
WIDE = ('words',)  # Benchmarks of the wide GAN (softmax_wide).
SEEDS = 3
NUM_SHOWN_SAMPLES = 5
COMMAND = 'python -m gan_jax.study experiments/studies/text.py'
COLORS = {'lm': '#1f77b4', 'softmax': '#d62728', 'gumbel': '#2ca02c', 'scratchgan': '#9467bd',
          'softmax_wide': '#ff7f0e', 'real': 'black'}
MARKERS = {'lm': 'o', 'softmax': 's', 'gumbel': '^', 'scratchgan': 'v', 'softmax_wide': 'P',
           'real': 'D'}
# The evaluator's version in every run's args (in its config hash): 2 = lengths, floors and
# distinct-n (issue 28); the runs of the old script's page were scored by version 1.
EVALUATION = 2
# In the machine note of the records converted from the old script's page (docs/text.json).
CONVERTED = 'runs of scripts/text_table.py'


def run_config(benchmark: str, method: str, arg: str = '') -> tuple:
  """(kind, experiment) of one run: experiments/text_{gan,lm,scratchgan}.py:<benchmark>[,gumbel]
  [arg]."""
  if method in ('lm', 'scratchgan'):
    return 'lm', f'experiments/text_{method}.py:{benchmark}{arg}'
  variant = {'gumbel': ',gumbel', 'softmax_wide': ',wide'}.get(method, '')
  return 'gan', f'experiments/text_gan.py:{benchmark}{variant}{arg}'


def run(benchmark: str, method: str, seed: int, arg: str = '', overrides: dict = None) -> Run:
  kind, config = run_config(benchmark, method, arg)
  return Run(name=f'{benchmark}_{method}/seed{seed}', kind=kind, config=config, seed=seed,
             labels={'benchmark': benchmark, 'method': method},
             overrides=dict((overrides or {}).get(method, {})),
             args={'evaluation': EVALUATION,
                   **({} if kind == 'lm' else {'measures': ['text_samples']})})


def runs(benchmarks: tuple, seeds: int, arg: str = '', overrides: dict = None,
         wide: tuple = ()) -> list:
  """Every run, seed-major, then the wide GAN on the `wide` benchmarks; `overrides` ({method:
  {field: value}}) shrink the smoke test."""
  main = [run(b, m, seed, arg, overrides) for seed in range(seeds) for b in benchmarks
          for m in text.METHODS if m not in text.OPTIONAL]
  return main + [run(b, 'softmax_wide', seed, arg, overrides) for seed in range(seeds)
                 for b in wide]


# --- From the records to the tables ------------------------------------------------------------
def benchmark_runs(results: Results, benchmark: str) -> dict:
  """{method: {seed: result}} of a benchmark's finished runs."""
  return {m: results.by_seed(benchmark=benchmark, method=m) for m in text.METHODS}


def real_floor(runs: dict):
  """The text evaluator's real-data numbers, from the first LM run that recorded them."""
  return next((r['real'] for r in runs['lm'].values() if r.get('real')), None)


# --- The page's text ---------------------------------------------------------------------------
def steps_text(results: Results, methods: tuple) -> str:
  steps = sorted({results.result(r)['step'] for r in results.finished()
                  if r.labels['method'] in methods})
  return ' / '.join(f'{n:,}' for n in steps) or 'no finished'


def minutes_text(results: Results) -> str:
  """What 'minutes a run' is, as the records hold it (wall time for runs made by the old script,
  training seconds for the study's own)."""
  finished = [results.result(r) for r in results.finished()]
  wall = sum(r.get('wall_minutes') is not None for r in finished)
  parts = []
  if wall:
    which = 'these' if wall == len(finished) else 'some of these'
    parts.append('the wall time of a run\'s `gan_jax.main` process on the machine that ran it, '
                 'compilation and evaluation included (kept by the old scripts/text_table.py, '
                 f'which made {which} runs; one MLE run samples every temperature)')
  if wall < len(finished):
    parts.append('a run\'s training time (its metrics.jsonl\'s logged steps/s: compilation and '
                 'mid-run evaluation included, start-up and the final evaluation not)')
  return ('minutes a run: the median (range) over seeds of ' + ', or '.join(parts or ['—']) +
          slowed_run_note(results) + '.')


def slowed_run_note(results: Results) -> str:
  """What is known of the runs converted from the old script's page (their machine note names
  it): one of them shared its core with the test suite; '' for any other records."""
  finished = results.finished()
  if not any(CONVERTED in (results.records[r.name].get('machine') or '') for r in finished):
    return ''
  seeds = len({r.seed for r in finished})
  return (f'; with {seeds} seed{"s" if seeds != 1 else ""}, one run that shared its core with '
          'other work (the test suite) shows in the range, not the median')


def header_lines(results: Results, command: str, runlocal: bool) -> list:
  return [
      '# Text GANs against the MLE language model: quality and diversity', '',
      f'Made by `{command}` (experiments/studies/text.py; its docstring is the protocol); do '
      'not edit by hand. Methods: experiments/text_gan.py:<benchmark> (WGAN-GP, softmax G, '
      'samples by argmax), text_gan.py:<benchmark>,gumbel (Gumbel-softmax G, relativistic '
      'average loss, samples drawn from G\'s distribution), experiments/text_scratchgan.py:'
      '<benchmark> (ScratchGAN: the MLE model\'s LSTM trained by REINFORCE from a per-token '
      'discriminator, sampled at T = 1), and the MLE LSTM of experiments/text_lm.py '
      '(`--mode=lm`) sampled at each temperature T; GANs '
      f'{steps_text(results, tuple(text.GAN_NAMES))} steps, MLE {steps_text(results, ("lm",))} '
      'steps' + (', the `:runlocal` smoke-test sizes' if runlocal else '') + '. Scores: the text '
      'evaluator (gan_jax/evaluators/text.py) on its samples against the held-out split: BLEU-4 '
      '(quality), JS-4 between 4-gram distributions in bits (lower is closer), self-BLEU-4 and '
      'distinct-4 (diversity), % unique, the length distribution (mean, and the JS of the length '
      'histogram to the held-out rows\', in bits), and each benchmark\'s own number (words: % '
      'dictionary words, above its length-matched floor (the chance that a random string of each '
      'sample\'s own length is a word), and % held-out words (real words never seen in '
      'training); cfg: % accepted by the grammar, above its floor (random rows of terminals of '
      'each sample\'s length); oracle: NLL of the samples under the oracle LSTM, lower is '
      'better). A GAN whose length histogram is further from the data\'s than every MLE '
      'temperature\'s is not compared at matched diversity (short output games both axes). Real '
      'data: training rows scored as samples (the evaluator\'s `real_train_vs_heldout`), the '
      'floor a model is '
      'read against. Cells: mean ± sample std over seeds; ' + minutes_text(results), '',
      'Figure: [text.png](text.png), quality against self-BLEU-4 per benchmark: the MLE curve '
      'through its temperatures, each GAN with its seed std as error bars, real data.', '']


def unfinished_lines(results: Results) -> list:
  """The declared runs not finished yet (not in the tables), by method; [] when none."""
  left = [r for r in results.runs if results.records.get(r.name) is None]
  if not left:
    return []
  by = {}
  for r in left:
    by.setdefault(f'{r.labels["benchmark"]} {r.labels["method"]}', []).append(r.seed)
  return [f'Not finished yet, so not in the tables: {len(left)} of {len(results.runs)} declared '
          'runs (' + '; '.join(f'{k}, seed{"s" if len(v) > 1 else ""} '
                              f'{", ".join(map(str, v))}' for k, v in by.items()) +
          '); the study resumes them.', '']


def sample_lines(benchmark: str, runs: dict) -> list:
  """Code blocks of seed 0's first samples: each GAN's last, the LM's at its lowest T and 1.0."""
  blocks = []
  for m, name in text.GAN_NAMES.items():
    first = runs[m].get(0) or {}
    kept = first.get('text_samples')
    if kept and kept.get('lines'):
      blocks.append((f'{name} (samples/{kept["file"]})', kept['lines']))
    elif first.get('samples', {}).get(text.GAN_TEMPERATURE):
      blocks.append((f'{name} (samples/temperature_{text.GAN_TEMPERATURE}.txt)',
                     first['samples'][text.GAN_TEMPERATURE]))
  lm = runs['lm'].get(0)
  temps = list(lm['temperatures']) if lm else []
  shown = sorted({min(temps, key=float)} | ({'1.0'} & set(temps)), key=float) if temps else []
  for t in shown:
    if t in lm.get('samples', {}):
      blocks.append((f'MLE, T={t} (samples/temperature_{t}.txt)', lm['samples'][t]))
  if not blocks:
    return []
  out = [f'Samples ({benchmark}, seed 0, the first {NUM_SHOWN_SAMPLES} of each):', '']
  for title, rows in blocks:
    out += [f'{title}:', '', '```', *rows[:NUM_SHOWN_SAMPLES], '```', '']
  return out


# --- The figure --------------------------------------------------------------------------------
# Where a T label may go, in points from its point, nearest first (dx < 0: it ends there).
LABEL_OFFSETS = ((5, 3), (5, -12), (-5, 3), (-5, -12), (0, 7), (0, -17), (0, 18), (0, -28),
                 (5, 14), (5, -23), (-5, 14), (-5, -23), (-5, 25), (-5, -34), (5, 25), (5, -34),
                 (-16, 3), (-16, -12), (16, 3), (16, -12))


def _overlap(a: tuple, b: tuple) -> float:
  """Area shared by two boxes (x0, y0, x1, y1)."""
  return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _nearer_other(box: tuple, own: tuple, others: list) -> bool:
  """Whether another point is nearer the box's centre than its own point (an ambiguous label)."""
  cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
  d = lambda p: (p[0] - cx) ** 2 + (p[1] - cy) ** 2  # noqa: E731
  return any(d(p) < d(own) for p in others)


def label_points(ax, points: list, obstacles: list, color: str) -> None:
  """Writes each (label, x, y) beside its point at the offset of LABEL_OFFSETS whose text box
  (display pixels, estimated from the font size) overlaps the obstacles (boxes of the markers and
  error bars), the labels already placed and the outside of the axes least, and that is nearer
  its own point than any other labelled point."""
  scale, size = ax.figure.dpi / 72, 8
  frame = ax.get_window_extent()
  pixels = [tuple(ax.transData.transform((x, y))) for _, x, y in points]
  placed = []
  for i, (label, x, y) in enumerate(points):
    (px, py), w, h = pixels[i], 0.7 * size * len(label) * scale, 1.3 * size * scale
    best = None
    for dx, dy in LABEL_OFFSETS:
      x0 = px + dx * scale - (w if dx < 0 else w / 2 if dx == 0 else 0)
      box = (x0, py + dy * scale, x0 + w, py + dy * scale + h)
      outside = w * h - _overlap(box, (frame.x0, frame.y0, frame.x1, frame.y1))
      ambiguous = _nearer_other(box, (px, py), pixels[:i] + pixels[i + 1:])
      cost = (outside * 4 + sum(_overlap(box, o) for o in obstacles) + ambiguous * w * h +
              100 * sum(_overlap(box, o) for o in placed))  # Labels on labels: never.
      if best is None or cost < best[0]:
        best = (cost, box, dx, dy)
    _, box, dx, dy = best
    placed.append(box)
    ax.annotate(label, (x, y), textcoords='offset points', xytext=(dx, dy), fontsize=size,
                color=color, ha='right' if dx < 0 else 'center' if dx == 0 else 'left')


def _boxes(ax, x: float, y: float, sx: float = 0.0, sy: float = 0.0) -> list:
  """Display boxes of a marker at (x, y) and of its error bars of half-widths sx, sy."""
  (x0, y0), (x1, y1) = ax.transData.transform([(x - sx, y - sy), (x + sx, y + sy)])
  px, py = ax.transData.transform((x, y))
  r = 5
  return [(px - r, py - r, px + r, py + r), (min(x0, x1), py - 2, max(x0, x1), py + 2),
          (px - 2, min(y0, y1), px + 2, max(y0, y1))]


def panel(ax, benchmark: str, table: dict) -> tuple:
  """One benchmark: x self-BLEU-4, y its quality number (inverted when lower is better); the MLE
  curve, each GAN with its seed std as error bars, real data. Returns (the curve's T labels as
  (label, x, y), every marker as (x, y, x std, y std)) for `label_points` once laid out."""
  quality, label, higher = text.quality_of(benchmark, table)
  curve = [(t, d, q) for t, d, q in text.lm_curve(table, quality)
           if d is not None and q is not None]
  marked = [(d, q, 0.0, 0.0) for _, d, q in curve]
  if curve:
    ax.plot([d for _, d, _ in curve], [q for _, _, q in curve], color=COLORS['lm'],
            marker=MARKERS['lm'], markersize=4, label='MLE LSTM (T labelled)')
  for m, name in text.GAN_NAMES.items():
    g = table.get(m)  # A page made before a method existed has no cell for it.
    if g and g[quality]['mean'] is not None and g[text.DIVERSITY]['mean'] is not None:
      point = (g[text.DIVERSITY]['mean'], g[quality]['mean'], g[text.DIVERSITY]['std'],
               g[quality]['std'])
      ax.errorbar(*point[:2], xerr=point[2], yerr=point[3], color=COLORS[m], marker=MARKERS[m],
                  capsize=3, linestyle='none', label=name)
      marked.append(point)
  real = table['real'] or {}
  if real.get(quality) is not None and real.get(text.DIVERSITY) is not None:
    ax.plot(real[text.DIVERSITY], real[quality], color=COLORS['real'], marker=MARKERS['real'],
            markerfacecolor='white', linestyle='none', label='real data (train vs held-out)')
    marked.append((real[text.DIVERSITY], real[quality], 0.0, 0.0))
  ax.margins(0.12)
  if not higher:
    ax.invert_yaxis()
  ax.set(xlabel='self-BLEU-4 (lower is more diverse)', ylabel=label,
         title=f'{benchmark}' + ('' if higher else ' (y inverted: up is better)'))
  return [(f'T={t}', d, q) for t, d, q in curve], marked


def figure(tables: dict):
  """One panel per benchmark, the legend in the first; the T labels placed once laid out."""
  fig, axes = plots.figure(ncols=len(tables), width=4.6, height=3.8)
  drawn = [panel(ax, b, table) for ax, (b, table) in zip(axes, tables.items())]
  axes[0].legend(loc='best', fontsize=7)
  with plots.plt.rc_context(plots.STYLE):
    fig.tight_layout()
  for ax, (labels, marked) in zip(axes, drawn):
    ax.autoscale_view()
    label_points(ax, labels, [b for p in marked for b in _boxes(ax, *p)], COLORS['lm'])
  return fig


# --- The report --------------------------------------------------------------------------------
def make_report(benchmarks: tuple, command: str, runlocal: bool = False):
  """The study's report: Results -> the page (docs/text.md, .json's summary, .png)."""
  def report(results: Results) -> Page:
    collected = {b: benchmark_runs(results, b) for b in benchmarks}
    tables = {b: text.aggregate(b, collected[b], real_floor(collected[b])) for b in benchmarks}
    lines = (header_lines(results, command, runlocal) + text.cost_lines(tables) +
             unfinished_lines(results) + text.unmeasured_lines(tables))
    readings = {}
    for b in benchmarks:
      sentences, readings[b] = text.reading(b, tables[b])
      lines += [f'## {b}', '', *text.table_lines(b, tables[b]), '', *sentences,
                *sample_lines(b, collected[b])]
    while lines and lines[-1] == '':
      lines.pop()
    return Page(lines=lines, summary={'table': tables, 'reading': readings},
                figure=figure(tables))
  return report


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # A minute: cfg, one seed, 2 steps of each method (the smoke test).
    small = {'softmax': {'train.num_steps': 2, 'optim.n_critic': 1},
             'gumbel': {'train.num_steps': 2, 'optim.n_critic': 1}, 'lm': {'train.num_steps': 2},
             'scratchgan': {'train.num_steps': 2}}
    command = f'{COMMAND}:runlocal'
    return Study(name='text_runlocal', runs=runs(('cfg',), 1, ',runlocal', small),
                 report=make_report(('cfg',), command, runlocal=True), command=command)
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='text', runs=runs(BENCHMARKS, SEEDS, wide=WIDE),
               report=make_report(BENCHMARKS, COMMAND),
               command=COMMAND)
