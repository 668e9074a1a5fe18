"""The loss ablation: five GAN losses x spectral norm in D, on ring8 and grid25 (docs/ablation.md).

  python -m gan_jax.study experiments/studies/ablation.py [--shard i/n] [--report_only]
  python -m gan_jax.study experiments/studies/ablation.py:runlocal     (the smoke test: 2 runs)

The runs are the 20 points of experiments/loss_ablation.py's sweep (gan_jax.sweep.runs: the same
names, so a workdir of `python -m gan_jax.sweep --config=experiments/loss_ablation.py` is read as
this study's), each a run of 3 seeds trained together (num_seeds), 5,000 steps, evaluated by mode
coverage on 2,500 samples at the end and at step 2,500 (the measure mid_run_evals reads that one
from the run's metrics.jsonl). The page: per data set, a row per loss and spectral-norm setting,
mean ± sample std over the seeds at the end, the mean at the mid-run evaluation in brackets.
"""
import dataclasses

from gan_jax import configs
from gan_jax import sweep
from gan_jax.reports import plots
from gan_jax.reports import stats
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

EXPERIMENT = 'experiments/loss_ablation.py'
COMMAND = 'python -m gan_jax.study experiments/studies/ablation.py'
METRICS = (('modes_captured', 'modes', 1), ('high_quality_percent', '% high quality', 1),
           ('kl_to_uniform', 'KL', 2))
SN = 'model.d_kwargs.mlp.spectral_norm'
RUNLOCAL = (('ring8', 'minimax', False), ('ring8', 'hinge', True))  # The smoke test's points.


def loss_label(overrides: dict) -> str:
  name = overrides['loss.name']
  return 'wasserstein + GP 10' if name == 'wasserstein' else name


def runs(arg=None) -> list:
  """The sweep's points as runs labelled by data, loss and spectral norm, each with the
  mid-run evaluation measured. `runlocal`: the RUNLOCAL points at 4 steps, evaluated at step 2
  and at the end."""
  out = []
  for run in sweep.runs(EXPERIMENT + (f':{arg}' if arg else '')):
    o = run.overrides
    if arg == 'runlocal' and (o['data.source'], o['loss.name'], o[SN]) not in RUNLOCAL:
      continue
    extra = {'train.eval_every': 2} if arg == 'runlocal' else {}
    out.append(dataclasses.replace(
        run, overrides={**o, **extra}, args={'measures': ['mid_run_evals']},
        labels={'data': o['data.source'], 'loss': loss_label(o), 'spectral_norm': o[SN]}))
  return out


def per_seed(run: Run, result: dict) -> tuple:
  """(final, mid step, mid): a run's numbers {seed: {metric: value}} at its end and at its first
  mid-run evaluation (None and {} when it logged none)."""
  final = sweep.per_seed(run, result)
  logged = result.get('mid_run_evals') or {}
  step = min(map(int, logged)) if logged else None
  return final, step, (logged[str(step)] if logged else {})


def cell(ms: dict, seeds: int, digits: int) -> str:
  """'7.3 ± 0.6' from {'mean', 'std', 'count'}, with '(k of n seeds defined)' when some of the
  run's n seeds left the value undefined (None)."""
  if ms['mean'] is None:
    return 'undefined'
  text = stats.fmt(ms['mean'], ms['std'], digits)
  return text + (f' ({ms["count"]} of {seeds} seeds defined)' if ms['count'] < seeds else '')


def _stats(values: list) -> dict:
  return dict(zip(('mean', 'std', 'count'), stats.mean_std(values)))


def row(run: Run, result: dict) -> dict:
  """A run's row: labels, steps, seeds, and each metric's final and mid-run statistics."""
  final, mid_step, mid = per_seed(run, result)
  seeds = sorted(final, key=int)
  out = {**run.labels, 'steps': result['step'], 'seeds': len(seeds), 'mid_step': mid_step,
         'final': {}, 'mid': {} if mid_step else None}
  for m, _, _ in METRICS:
    out['final'][m] = _stats([final[s].get(m) for s in seeds])
    if mid_step:
      out['mid'][m] = _stats([mid.get(s, {}).get(m) for s in seeds])
  return out


def table(data: str, rows: list) -> list:
  """The lines of one data set's table: final mean ± std, the mid-run mean in brackets."""
  first = rows[0]
  mid = first['mid_step']
  lines = [f'**{data}** ({first["steps"]:,} steps, {first["seeds"]} seeds a row'
           + (f'; in brackets: at step {mid:,}' if mid else '') + ')', '']
  cells = []
  for r in rows:
    out = [r['loss'], 'yes' if r['spectral_norm'] else 'no']
    for m, _, digits in METRICS:
      text = cell(r['final'][m], r['seeds'], digits)
      mid_mean = r['mid'][m]['mean'] if r['mid'] else None
      out.append(text + ('' if mid_mean is None else f' [{mid_mean:.{digits}f}]'))
    cells.append(out)
  return lines + tables.markdown(['loss', 'spectral norm in D'] + [l for _, l, _ in METRICS],
                                 cells) + ['']


INTRO = [
    '# Loss ablation: five GAN losses x spectral norm, on ring8 and grid25', '',
    'The headline ablation of the zoo (experiments/studies/ablation.py, the points of '
    'experiments/loss_ablation.py\'s sweep): the losses minimax, non_saturating, wasserstein '
    'with gradient penalty 10 (WGAN-GP), least_squares (LSGAN) and hinge, each with spectral '
    'norm in D off and on, on the two 2-D mode-collapse benchmarks, with PacGAN\'s 2-D models '
    'and optimiser (experiments/ring8.py: MLP G 4x400 with batch norm, maxout D 3x200, Adam '
    '1e-4, beta1 0.8, batch 100; one D step per G step for every loss). 3 seeds a point, '
    'trained together (`num_seeds=3`), 5,000 steps, evaluated by mode coverage on 2,500 samples '
    '(docs/evaluation.md: modes captured, % of samples within 3 std of a mode, KL of the '
    'high-quality samples\' mode histogram to uniform) at step 2,500 and at the end.', '',
    'To remake it: two single-core shards on a 2-core CPU (the footer says where and how the '
    'runs recorded here were made; the points with spectral norm are slower):',
    '', '```',
    f'XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c 0 {COMMAND} --shard 0/2 &',
    f'XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c 1 {COMMAND} --shard 1/2',
    f'{COMMAND}   # writes this page once both are done', '```', '',
    f'(`{COMMAND}` alone does the same in one process; with `--report_only` it rewrites this page '
    'from docs/ablation.json. `python -m gan_jax.sweep --config=experiments/loss_ablation.py '
    '--workdir=runs/studies/ablation` trains the same runs in the same directories and also '
    'writes results.md and results.png there.)', '']


DATA = ('ring8', 'grid25')
NUM_MODES = {'ring8': 8, 'grid25': 25}  # The mixtures' modes (gan_jax/data/synthetic.py).
HALF = (0.35, 0.65)  # 'Roughly halves': with spectral norm, this fraction of the modes without.
COLLAPSE = 1 / 3  # 'Collapses': fewer than this fraction of the data set's modes, every setting.
LOW_QUALITY = 50.0  # '% high quality is low': below this everywhere (most samples off the modes).


def modes(rows: dict, data: str, loss: str, sn: bool) -> float:
  return rows[(data, loss, sn)]['final']['modes_captured']['mean']


def _count(x: float) -> str:
  """A mean count of modes: '8' when whole, '7.3' otherwise."""
  return f'{x:.0f}' if x == round(x) else f'{x:.1f}'


def _name(loss: str, sn: bool) -> str:
  return f'{loss} {"with" if sn else "without"} spectral norm'


def best_clause(rows: dict) -> str:
  """Whether the non-saturating and hinge losses without spectral norm cover the most modes on
  both data sets (ties count), else which points do."""
  best = {d: max(modes(rows, d, l, False) for l in ('non_saturating', 'hinge')) for d in DATA}
  top = {d: max(r['final']['modes_captured']['mean'] for k, r in rows.items() if k[0] == d)
         for d in DATA}
  if all(best[d] >= top[d] for d in DATA):
    return ('the non-saturating and hinge losses without spectral norm cover the most modes '
            f'({_count(best["ring8"])} of 8 on ring8, {_count(best["grid25"])} of 25 on grid25)')
  leaders = {d: ' and '.join(_name(l, sn) for (e, l, sn), r in rows.items() if e == d and
                             r['final']['modes_captured']['mean'] == top[d]) for d in DATA}
  return ('the most modes are covered on ' + ' and on '.join(
      f'{d} by {leaders[d]} ({_count(top[d])} of {NUM_MODES[d]})' for d in DATA))


def spectral_norm_clause(rows: dict) -> str:
  """What spectral norm in D does to grid25's coverage, loss by loss: 'roughly halves' only if
  every loss keeps a fraction within HALF of its modes without it."""
  change = lambda loss: f'{modes(rows, "grid25", loss, False):.1f} → ' \
                        f'{modes(rows, "grid25", loss, True):.1f}'
  example = f'for example non-saturating {change("non_saturating")} modes, hinge {change("hinge")}'
  losses = [l for (d, l, sn) in rows if d == 'grid25' and not sn and ('grid25', l, True) in rows]
  kept = {l: modes(rows, 'grid25', l, True) / modes(rows, 'grid25', l, False) for l in losses
          if modes(rows, 'grid25', l, False)}
  if all(HALF[0] <= k <= HALF[1] for k in kept.values()):
    return f'spectral norm in D roughly halves grid25\'s coverage for every loss ({example})'
  if all(k < 1 for k in kept.values()):
    mean = sum(kept.values()) / len(kept)
    return ('spectral norm in D lowers grid25\'s coverage for every loss, keeping '
            f'{min(kept.values()):.0%} to {max(kept.values()):.0%} of the modes covered without it '
            f'({mean:.0%} on average; {example})')
  same = ', '.join(l for l, k in kept.items() if k >= 1)
  return f'spectral norm in D does not lower grid25\'s coverage for {same} ({example})'


def wgan_clause(rows: dict) -> str:
  """Whether WGAN-GP collapses (below COLLAPSE of the modes) on both data sets, either way."""
  loss = 'wasserstein + GP 10'
  most = {d: max(modes(rows, d, loss, sn) for sn in (False, True)) for d in DATA}
  text = 'WGAN-GP with one critic step per G step '
  if all(most[d] < COLLAPSE * NUM_MODES[d] for d in DATA):
    return text + f'collapses on both data sets (at most {_count(max(most.values()))} modes)'
  return text + 'covers at most ' + ' and '.join(
      f'{_count(most[d])} of {NUM_MODES[d]} modes on {d}' for d in DATA)


def moves_text(rows: dict, mid: int) -> str:
  """Which metrics' means differ (at the table's precision) between the mid-run evaluation and
  the end in some row."""
  moved = [label for m, label, digits in METRICS if any(
      r['mid'] and None not in (r['mid'][m]['mean'], r['final'][m]['mean']) and
      round(r['mid'][m]['mean'], digits) != round(r['final'][m]['mean'], digits)
      for r in rows.values())]
  where = f'between the evaluation at {mid:,} steps (in brackets) and the end'
  if len(moved) == len(METRICS):
    return f'every metric still moves {where}'
  if not moved:
    return f'no metric moves {where}'
  return f'{", ".join(moved)} still move{"s" if len(moved) == 1 else ""} {where}, the others not'


def quality_text(rows: dict) -> str:
  """'% high quality is low everywhere' when every row is below LOW_QUALITY, else its highest."""
  top = max(r['final']['high_quality_percent']['mean'] for r in rows.values())
  if top < LOW_QUALITY:
    return '% high quality is low everywhere'
  return f'% high quality reaches {top:.1f}'


def converted(results: spec.Results) -> bool:
  """Whether every finished run's record was converted from the old script's page (the runs
  made before gan_jax turned YNNPACK off): their machine notes say so."""
  notes = [results.records[r.name].get('machine') or '' for r in results.finished()]
  return bool(notes) and all('converted from scripts/ablation_table.py' in n for n in notes)


def reading(rows: dict, old_runs: bool) -> list:
  """'What it shows', each claim stated only where the rows {(data, loss, spectral norm): row}
  support it (else what they show); [] unless every row it cites is finished. `old_runs`: the
  records are the converted ones, made under XLA's default CPU kernels."""
  losses = ('non_saturating', 'hinge', 'wasserstein + GP 10')
  if any((d, l, sn) not in rows or not rows[(d, l, sn)]['mid_step']
         for d in DATA for l in losses for sn in (False, True)):
    return []
  steps, mid = rows[('ring8', 'hinge', False)]['steps'], rows[('ring8', 'hinge', False)]['mid_step']
  spread = max(rows.values(), key=lambda r: r['final']['modes_captured']['std'] or 0.0)
  sd = spread['final']['modes_captured']
  return [
      '## What it shows', '',
      f'At {steps:,} steps, with PacGAN\'s 2-D models and one optimiser for every loss, '
      f'**{best_clause(rows)}, {spectral_norm_clause(rows)}, and {wgan_clause(rows)}**.', '',
      'How far that goes:',
      f'- These are early runs ({steps:,} steps; PacGAN trains 400,000) and '
      f'{moves_text(rows, mid)}; {quality_text(rows)} (docs/pacgan.md\'s runs are no reference '
      'for it: they start from PacGAN\'s initialisation, not this study\'s; see below).',
      *FIXED_CAVEATS,
      f'- {spread["seeds"]} seeds a point: standard deviations are large ({spread["loss"]} '
      f'{"with" if spread["spectral_norm"] else "without"} spectral norm on {spread["data"]}: '
      f'{stats.fmt(sd["mean"], sd["std"])} modes), so only the large differences above are read '
      'from the table.',
      *INIT_CAVEAT, *(KERNELS_CAVEAT if old_runs else [])]


FIXED_CAVEATS = [
    '- The optimiser is PacGAN\'s (Adam 1e-4, beta1 0.8, one D step per G step), tuned for the '
    'non-saturating GAN. WGAN-GP\'s paper uses five critic steps, Adam (0, 0.9) or (0.5, 0.9), '
    'and SN-GAN\'s uses its own learning rates and D steps; the table answers "same budget, '
    'same optimiser", the question compare_gan asked, not each method at its best setting. '
    'Spectral norm makes this maxout D 1-Lipschitz per layer, so at the same learning rate it '
    'learns more slowly; whether the gap closes with more steps is not measured here.']
INIT_CAVEAT = [
    '- The initial weights are Flax\'s (LeCun normal), not PacGAN\'s N(0, 0.02), which '
    'experiments/ring8.py took later (issue 16): experiments/loss_ablation.py pins '
    '`model.init_std=0` so that this study still trains these runs. What PacGAN\'s '
    'initialisation alone changes on grid25 is measured in docs/precision_ab.md (its '
    '`normal_init` row against its `baseline`, which has this study\'s initialisation); the '
    'ablation under it is not measured here.']
KERNELS_CAVEAT = [
    '- The runs recorded here used XLA\'s default CPU kernels (they were made before gan_jax '
    'turned YNNPACK off by default; gan_jax/xla_defaults.py). `GAN_JAX_XLA_DEFAULTS=0` with the '
    'commands above runs the same configuration (CPU runs are deterministic for a fixed '
    'configuration; rerunning these points was not checked); with gan_jax\'s default the runs '
    'differ in float rounding, hence in their draws.']


def figure(by_data: dict):
  """Modes captured and % high quality per loss, spectral norm off and on, per data set."""
  metrics = METRICS[:2]
  fig, axes = plots.figure(ncols=len(by_data), nrows=len(metrics), width=5.5, height=3.4)
  for j, (data, rows) in enumerate(by_data.items()):
    losses = list(dict.fromkeys(r['loss'] for r in rows))
    for i, (m, label, _) in enumerate(metrics):
      series = {}
      for sn in (False, True):
        at = {r['loss']: r['final'][m] for r in rows if r['spectral_norm'] == sn}
        series['spectral norm in D' if sn else 'no spectral norm'] = [
            (at[l]['mean'], at[l]['std']) if l in at else None for l in losses]
      ax = axes[i * len(by_data) + j]
      plots.errorbar_lines(ax, [l.replace(' + GP 10', '-GP') for l in losses], series, 'loss',
                           label, f'{data}: {label} (mean ± std over seeds)')
      ax.tick_params(axis='x', labelrotation=20)
  return fig


def report(results: spec.Results) -> spec.Page:
  finished = results.finished()
  rows = {r.name: row(r, results.result(r)) for r in finished}
  by_data = {}
  for r in finished:
    by_data.setdefault(r.labels['data'], []).append(rows[r.name])
  lines = INTRO + [
      f'Made by `{COMMAND}` from {len(finished)} of {len(results.runs)} points; do not edit by '
      'hand. Mean ± sample std over seeds.', '']
  for data, data_rows in by_data.items():
    lines += table(data, data_rows)
  keyed = {(r['data'], r['loss'], r['spectral_norm']): r for r in rows.values()}
  lines += reading(keyed, converted(results))
  return spec.Page(lines=lines, summary={'rows': rows},
                   figure=figure(by_data) if by_data else None)


def get_study(arg=None) -> Study:
  if arg == 'runlocal':
    return Study(name='ablation_runlocal', runs=runs('runlocal'), report=report,
                 command=f'{COMMAND}:runlocal')
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='ablation', runs=runs(), report=report, command=COMMAND)
