"""Low-data augmentation with ADA: does real + GAN + classical now beat real + classical
augmentation by more than the seeds' spread?

  python -m gan_jax.study experiments/studies/augmentation_lowdata.py [--shard i/n] [--report_only]
  python -m gan_jax.study experiments/studies/augmentation_lowdata.py:runlocal   (the smoke test)

docs/augmentation.md's protocol (gan_jax/applications/augmentation, experiments/augment_mnist.py:
a class-conditional DCGAN on the N-per-class subset of mnist5k, 2,000 steps, then a classifier per
method scored on the 500 test digits) at N = 10 and 25 per class, seeds 0-4, with the GAN trained
with adaptive discriminator augmentation (issue 29), fixed before any result:
- ada: ADA (gan_jax/ada.py: target 0.6, p from 0 to 1 over 100k images, the digit-safe
  transforms) instead of DiffAugment's fixed translation and cutout; the rest as the protocol's
  GAN (non-saturating loss, Adam 2e-4 / beta1 0.5, EMA 0.99 from step 1000).
R3GAN's recipe is not a method here: ADA's adaptive p needs logits centred at 0, which RpGAN's
pairs are not (gan_jax/ada.py refuses the pair), and docs/mode_collapse.md found the recipe's
burn-in too slow for budgets of a few minutes.
Each cell is a run of kind 'augmentation' in <workdir>/<method>/n=<N>,seed=<s>. The reading pairs
each row with GAN images and classical augmentation with real + classical of the same cell (same
subset and classifier seed) and says whether it was higher in every seed by more than the paired
differences' sample std. docs/augmentation.md has the protocol's own GAN at N = 10, 25 (3 seeds).
"""
from gan_jax import configs
from gan_jax.reports import stats
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

SEEDS = (0, 1, 2, 3, 4)
PER_CLASS = (10, 25)
METHODS = {'ada': {'augment.policy': '', 'ada.mode': 'adaptive'}}
ROWS = ('real', 'real+classical', 'real+gan_x1+classical', 'real+gan_x4+classical', 'gan_only',
        'gan_test')
COMMAND = 'python -m gan_jax.study experiments/studies/augmentation_lowdata.py'


def runs(methods=tuple(METHODS), seeds=SEEDS, per_class=PER_CLASS, arg: str = '') -> list:
  """Method-major (every ada cell first), then seed, then N."""
  return [Run(name=f'{m}/n={n},seed={s}', kind='augmentation',
              config=f'experiments/augment_mnist.py{arg}', seed=s,
              overrides={**METHODS[m], 'protocol.per_class': (n,),
                         'protocol.seeds': (s,)},
              labels={'method': m, 'n': str(n)})
          for m in methods for s in seeds for n in per_class]


def accuracies(results, method: str, n: str, row: str) -> dict:
  """{seed: test accuracy in %} of one row."""
  out = {}
  for seed, r in results.by_seed(method=method, n=n).items():
    v = r['gan_test'] if row == 'gan_test' else r['accuracy'].get(row)
    out[seed] = None if v is None else 100 * v
  return out


def beats(p) -> bool:
  """Higher in every seed and by more than the paired differences' sample std."""
  return bool(p) and p['higher'] == p['count'] and p['mean'] > p['std']


def method_lines(results, method: str) -> tuple:
  ns = list(dict.fromkeys(r.labels['n'] for r in results.select(method=method)))
  cells = {(row, n): accuracies(results, method, n, row) for row in ROWS for n in ns}
  lines = [f'## {method}', '', tables.markdown(
      ['row'] + [f'N = {n}' for n in ns],
      [[row] + [stats.fmt_count(cells[(row, n)].values()) for n in ns] for row in ROWS])]
  seeds = sorted({s for v in cells.values() for s in v})
  lines = [*lines[:2], *lines[2], '', f'Per seed (seeds {", ".join(map(str, seeds))}):', '',
           *tables.markdown(['row'] + [f'N = {n}' for n in ns], [
               [row] + [' / '.join('—' if v is None else f'{v:.1f}'
                                   for _, v in sorted(cells[(row, n)].items())) for n in ns]
               for row in ROWS]), '']
  summary, verdicts = {}, []
  for n in ns:
    for row in ('real+gan_x1+classical', 'real+gan_x4+classical'):
      p = stats.paired(cells[(row, n)], cells[('real+classical', n)])
      summary[f'{row} - real+classical N={n}'] = p
      verdicts.append(f'- N = {n}, {row} against real+classical: {stats.fmt_paired(p)}: '
                      + ('**beats it by more than the seeds\' spread**.' if beats(p) else
                         'does not beat it by more than the seeds\' spread.'))
  return lines + verdicts + [''], summary


def figure(results, method: str):
  """A panel per N: each row's test accuracy, every seed a dot."""
  from gan_jax.reports import plots
  ns = list(dict.fromkeys(r.labels['n'] for r in results.select(method=method)))
  fig, axes = plots.figure(ncols=len(ns), width=4.4, height=3.6)
  for ax, n in zip(axes, ns):
    plots.seed_bars(ax, {row: list(accuracies(results, method, n, row).values())
                         for row in ROWS[:-1]}, 'test accuracy (%)', f'{method}, N = {n}')
    ax.set_ylim(60, 100)
  return fig


def report(results: spec.Results) -> spec.Page:
  lines = ['# Low-data augmentation with ADA', '',
           f'Made by `{results_command(results)}` (its docstring is the protocol); do not edit by '
           'hand. mnist5k, N labelled digits a class, a class-conditional GAN on them, then the '
           'classifiers of docs/augmentation.md; test accuracy (%) on the 500 test digits, mean '
           '± sample std (seeds).', '']
  summary = {}
  for method in METHODS:
    if results.select(method=method):
      part, summary[method] = method_lines(results, method)
      lines += part
  done = [results.result(r) for r in results.finished()]
  if done:
    lines.append(f'Cost: {sum(r["seconds"] for r in done) / 60:.0f} min summed over the '
                 f'{len(done)} cells ({sum(r["gan_seconds"] for r in done) / 60:.0f} min training '
                 'the GANs), each cell in one single-core process.')
  name = 'augmentation_lowdata' + ('_runlocal' if results_command(results) != COMMAND else '')
  fig = figure(results, 'ada') if results.select(method='ada') else None
  if fig is not None:
    lines[4:4] = [f'![test accuracy per seed]({name}.png)', '']
  return spec.Page(lines=lines, summary=summary, figure=fig)


def results_command(results) -> str:
  return COMMAND + (':runlocal' if results.runs and ':runlocal' in results.runs[0].config else '')


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # One tiny cell of each method.
    return Study(name='augmentation_lowdata_runlocal', report=report,
                 runs=runs(seeds=(0,), per_class=(5,), arg=':runlocal'),
                 command=f'{COMMAND}:runlocal')
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='augmentation_lowdata', runs=runs(), report=report, command=COMMAND)
