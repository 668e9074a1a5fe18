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
    'To remake it: two single-core shards on a 2-core CPU (the runs recorded here took 1 h 58 '
    'min of wall time that way, as the footer says; the points with spectral norm are slower):',
    '', '```',
    f'XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c 0 {COMMAND} --shard 0/2 &',
    f'XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c 1 {COMMAND} --shard 1/2',
    f'{COMMAND}   # writes this page once both are done', '```', '',
    f'(`{COMMAND}` alone does the same in one process; with `--report_only` it rewrites this page '
    'from docs/ablation.json. `python -m gan_jax.sweep --config=experiments/loss_ablation.py '
    '--workdir=runs/studies/ablation` trains the same runs in the same directories and also '
    'writes results.md and results.png there.)', '']


def modes(rows: dict, data: str, loss: str, sn: bool) -> float:
  return rows[(data, loss, sn)]['final']['modes_captured']['mean']


def reading(rows: dict) -> list:
  """'What it shows': the hand-written reading, its numbers taken from the rows
  {(data, loss, spectral norm): row}; [] unless every row it cites is finished."""
  losses = ('non_saturating', 'hinge', 'wasserstein + GP 10')
  if any((d, l, sn) not in rows or not rows[(d, l, sn)]['mid_step']
         for d in ('ring8', 'grid25') for l in losses for sn in (False, True)):
    return []
  best = {d: max(modes(rows, d, l, False) for l in losses[:2]) for d in ('ring8', 'grid25')}
  wgan = max(modes(rows, d, losses[2], sn) for d in ('ring8', 'grid25') for sn in (False, True))
  hinge_sn = rows[('grid25', 'hinge', True)]['final']['modes_captured']
  steps, mid = rows[('ring8', 'hinge', False)]['steps'], rows[('ring8', 'hinge', False)]['mid_step']
  change = lambda loss: f'{modes(rows, "grid25", loss, False):.1f} → ' \
                        f'{modes(rows, "grid25", loss, True):.1f}'
  return [
      '## What it shows', '',
      f'At {steps:,} steps, with PacGAN\'s 2-D models and one optimiser for every loss, **the '
      'non-saturating and hinge losses without spectral norm cover the most modes '
      f'({best["ring8"]:.0f} of 8 on ring8, {best["grid25"]:.0f} of 25 on grid25), spectral norm '
      'in D roughly halves grid25\'s coverage for every loss (for example non-saturating '
      f'{change("non_saturating")} modes, hinge {change("hinge")}), and WGAN-GP with one critic '
      f'step per G step collapses on both data sets (at most {wgan:.0f} modes)**.', '',
      'How far that goes:',
      f'- These are early runs ({steps:,} steps; PacGAN trains 400,000) and every metric still '
      f'moves between the evaluation at {mid:,} steps (in brackets) and the end; % high quality '
      'is low '
      'everywhere, as it was in docs/pacgan.md at 10,000 steps under the same initialisation '
      '(before issue 16).',
      '- The optimiser is PacGAN\'s (Adam 1e-4, beta1 0.8, one D step per G step), tuned for the '
      'non-saturating GAN. WGAN-GP\'s paper uses five critic steps, Adam (0, 0.9) or (0.5, 0.9), '
      'and SN-GAN\'s uses its own learning rates and D steps; the table answers "same budget, '
      'same optimiser", the question compare_gan asked, not each method at its best setting. '
      'Spectral norm makes this maxout D 1-Lipschitz per layer, so at the same learning rate it '
      'learns more slowly; whether the gap closes with more steps is not measured here.',
      f'- {rows[("grid25", "hinge", True)]["seeds"]} seeds a point: standard deviations are '
      'large (hinge with spectral norm on grid25: '
      f'{stats.fmt(hinge_sn["mean"], hinge_sn["std"])} modes), so only the large differences '
      'above are read from the table.',
      '- The initial weights are Flax\'s (LeCun normal), not PacGAN\'s N(0, 0.02), which '
      'experiments/ring8.py took later (issue 16): experiments/loss_ablation.py pins '
      '`model.init_std=0` so that this study still trains these runs. On grid25, PacGAN\'s '
      'initialisation alone raised the non-saturating GAN\'s % high quality from 11.6 to 20.1 at '
      '10,000 steps (docs/precision_ab.md); the ablation under it is not measured here.',
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
  lines += reading(keyed)
  return spec.Page(lines=lines, summary={'rows': rows},
                   figure=figure(by_data) if by_data else None)


def get_study(arg=None) -> Study:
  if arg == 'runlocal':
    return Study(name='ablation_runlocal', runs=runs('runlocal'), report=report,
                 command=f'{COMMAND}:runlocal')
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='ablation', runs=runs(), report=report, command=COMMAND)
