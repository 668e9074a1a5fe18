"""Mode collapse at equal CPU: a GAN, PacGAN2 and R3GAN's recipe on Stacked MNIST and grid25.

  python -m gan_jax.study experiments/studies/mode_collapse.py [--shard i/n] [--report_only]
  python -m gan_jax.study experiments/studies/mode_collapse.py:runlocal     (the smoke test)

Each run gets the same CPU: BUDGET_MINUTES of one core. A method's steps are that budget times its
update rate on one core (STEPS_PER_S, measured by scripts/steps_per_second.py, pinned to one core
as the study runs: `taskset -c 0`); the page states the minutes each run's own log then measured,
so the budget is checked run by run. Run two shards, one per core:
  taskset -c 0 python -m gan_jax.study experiments/studies/mode_collapse.py --shard 0/2 &
  taskset -c 1 python -m gan_jax.study experiments/studies/mode_collapse.py --shard 1/2
Methods:
- gan: the data's own experiment (experiments/stacked_mnist.py: PacGAN's DCGAN setting, batch 64;
  experiments/grid25.py: PacGAN's MLPs, batch 100);
- pacgan2: the same with D on packs of 2 (`model.pack=2`, twice the batch: PacGAN's protocol);
- r3gan: R3GAN's recipe (Huang et al. 2024): the RpGAN loss with R1 and R2 (gamma 0.05 -> 0.005),
  Adam beta1 0 and beta2 0.9 -> 0.99, the learning rate 2e-4 -> 5e-5, the EMA of G, all burnt in
  over the first half of the run as experiments/r3gan_mnist.py does (the paper burns in over 2e7
  images, far beyond this budget). On Stacked MNIST its normalisation-free ConvNet at
  experiments/r3gan_mnist.py's width (G 32/24/16, D 16/24/32 channels, one block a stage: the
  paper's 768 channels are an accelerator's); on grid25 PacGAN's MLPs without G's batch norm.
Evaluation as each experiment declares: Stacked MNIST 26,000 samples, each channel labelled by
gan_jax's mnist_classifier, modes captured (of 1,000) and KL(histogram || uniform); grid25 2,500
samples, modes within 3 std, % high quality, KL. References: R3GAN (arXiv 2501.05441, as issue 29
quotes it) reports 1,000 modes / KL 0.029 on Stacked MNIST; PacGAN (Lin et al. 2018, Table 1) on
grid25: GAN 17.3 modes / 94.8% / 0.70, PacGAN2 23.8 / 91.3% / 0.13, after 400,000 steps.
"""
from gan_jax import configs
from gan_jax.reports import stats
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

BUDGET_MINUTES = 5  # Of one core, per run (training loop, compilation included).
SEEDS = 3
# Updates a second on one core of the development machine (Intel Xeon family 6 model 167, the
# other core idle), 2026-12-07: `taskset -c 0 .venv/bin/python scripts/steps_per_second.py
# experiments/studies/mode_collapse.py --calls 30 --repeats 3` (compilation: 2.6 to 10.1 s).
STEPS_PER_S = {('stacked_mnist', 'gan'): 2.89, ('stacked_mnist', 'pacgan2'): 1.76,
               ('stacked_mnist', 'r3gan'): 1.62, ('grid25', 'gan'): 75.94,
               ('grid25', 'pacgan2'): 67.63, ('grid25', 'r3gan'): 58.37}
DATA = ('stacked_mnist', 'grid25')
METHODS = ('gan', 'pacgan2', 'r3gan')
BATCHES = {'stacked_mnist': 64, 'grid25': 100}  # The GAN's; PacGAN2's is twice.
GAMMA = 0.05  # R3GAN's gamma_scheduler base value (experiments/r3gan_cifar10.py).
EMA_HALF_LIFE = 200  # Steps, after the burn-in (experiments/r3gan_mnist.py).
REFERENCES = {('stacked_mnist', 'r3gan'): 'R3GAN: 1,000 / 0.029',
              ('grid25', 'gan'): 'PacGAN Table 1: 17.3 / 94.8% / 0.70',
              ('grid25', 'pacgan2'): 'PacGAN Table 1: 23.8 / 91.3% / 0.13'}
COMMAND = 'python -m gan_jax.study experiments/studies/mode_collapse.py'
NARROW_R3GAN = {'model.g_kwargs.r3gan.features': (32, 24, 16),
                'model.d_kwargs.r3gan.features': (16, 24, 32),
                **{f'model.{n}_kwargs.r3gan.{k}': v for n in 'gd'
                   for k, v in (('blocks', 1), ('groups', 4), ('expansion', 2),
                                ('grouped_conv', 'block_diagonal'))}}


def steps_of(data: str, method: str, minutes: float) -> int:
  """The steps of `minutes` of one core at the method's measured rate (a multiple of 4)."""
  rate = STEPS_PER_S[(data, method)]
  return max(4, int(minutes * 60 * rate) // 4 * 4)


def r3gan_recipe(data: str, steps: int, batch: int) -> dict:
  """R3GAN's loss, optimiser and burn-in over the first half of `steps`, as overrides."""
  over = {'loss.name': 'rpgan', 'loss.penalties.r1': GAMMA / 2, 'loss.penalties.r2': GAMMA / 2,
          'optim.g_lr': 2e-4, 'optim.d_lr': 2e-4, 'optim.b1': 0.0, 'optim.b2': 0.99,
          'optim.ema_decay': 0.5 ** (1 / EMA_HALF_LIFE), 'optim.burnin.steps': max(2, steps // 2),
          'optim.burnin.shape': 'cosine', 'optim.burnin.lr_factor': 0.25,
          'optim.burnin.b2_start': 0.9, 'optim.burnin.gamma_factor': 0.1,
          'optim.burnin.ema': True, 'data.batch_size': batch}
  if data == 'stacked_mnist':
    return {**over, **NARROW_R3GAN}
  return {**over, 'model.g_kwargs.mlp.norm': 'none'}


def overrides(data: str, method: str, steps: int, batch: int) -> dict:
  cadence = max(2, steps // 4)
  over = {'train.num_steps': steps, 'train.ckpt_every': cadence, 'train.sample_every': cadence,
          'train.eval_every': steps, 'train.log_every': max(1, min(500, cadence))}
  if method == 'pacgan2':
    return {**over, 'model.pack': 2, 'data.batch_size': 2 * batch}
  if method == 'r3gan':
    return {**over, **r3gan_recipe(data, steps, batch)}
  return over


def experiment(data: str, method: str) -> str:
  return ('experiments/r3gan_stacked_mnist.py' if (data, method) == ('stacked_mnist', 'r3gan')
          else f'experiments/{data}.py')


def runs(steps: dict, seeds: int, batches: dict, arg: str = '') -> list:
  """Seed-major (a stopped table stays balanced): every data set and method of seed 0 first."""
  return [Run(name=f'{data}_{method}/seed{seed}', config=experiment(data, method) + arg,
              seed=seed, labels={'data': data, 'method': method},
              overrides=overrides(data, method, steps[data, method], batches[data]))
          for seed in range(seeds) for data in DATA for method in METHODS]


def rate_runs() -> list:
  """One run of each data set and method at the study's sizes, for scripts/steps_per_second.py
  (the steps only set the burn-in's length, not an update's cost)."""
  return runs({(d, m): 1000 for d in DATA for m in METHODS}, 1, BATCHES)


def _metric_names(data: str) -> tuple:
  return (('modes_captured', 'kl_to_uniform') if data == 'stacked_mnist'
          else ('modes_captured', 'high_quality_percent', 'kl_to_uniform'))


def _cell(values: list, name: str) -> str:
  digits = 2 if name == 'kl_to_uniform' else 1
  return stats.fmt(*stats.mean_std(values)[:2], digits)


def table(results: spec.Results) -> tuple:
  """(rows, summary, per-run lines) of the finished runs, a row per data set and method."""
  rows, summary, per_run = [], {}, []
  for data in DATA:
    names = _metric_names(data)
    for method in METHODS:
      done = results.select(data=data, method=method)
      if not done:
        continue
      got = [results.result(r) for r in done]
      minutes = [r['seconds'] / 60 for r in got if r.get('seconds')]
      summary[f'{data}_{method}'] = {
          'steps': got[0]['step'], 'minutes': stats.mean_std(minutes)[0],
          **{k: dict(zip(('mean', 'std', 'count'),
                         stats.mean_std([r['metrics'][k] for r in got]))) for k in names}}
      cells = {k: _cell([r['metrics'][k] for r in got], k) for k in names}
      rows.append([data, method, len(got), f'{got[0]["step"]:,}', _cell(minutes, 'minutes'),
                   cells['modes_captured'], cells.get('high_quality_percent', '—'),
                   cells['kl_to_uniform'], REFERENCES.get((data, method), '—')])
      per_run.append(f'- {data} {method}: ' + '; '.join(
          f'{r.seed}: ' + ' / '.join(_fmt_metric(results.result(r)['metrics'][k], k)
                                     for k in names) for r in done))
  return rows, summary, per_run


def _fmt_metric(v, name: str) -> str:
  if v is None:
    return '—'
  return f'{v:.0f}' if name == 'modes_captured' else f'{v:.2f}' if name == 'kl_to_uniform' \
      else f'{v:.1f}'


def reading(summary: dict) -> list:
  """One generated sentence per data set: which method captured most modes, with its spread."""
  out = []
  for data in DATA:
    got = {m: summary[f'{data}_{m}'] for m in METHODS if f'{data}_{m}' in summary}
    if len(got) < 2:
      continue
    best = max(got, key=lambda m: got[m]['modes_captured']['mean'])
    parts = [f'{m} {s["modes_captured"]["mean"]:.1f} ± {s["modes_captured"]["std"]:.1f}'
             for m, s in got.items()]
    out.append(f'- {data}: most modes captured by {best} (modes, mean ± std over seeds: '
               f'{", ".join(parts)}).')
  return out


def figure(results: spec.Results):
  """Modes captured by each method, a panel per data set, every seed a dot."""
  from gan_jax.reports import plots
  fig, axes = plots.figure(ncols=len(DATA), width=4.2, height=3.4)
  for ax, data in zip(axes, DATA):
    groups = {m: [results.result(r)['metrics']['modes_captured']
                  for r in results.select(data=data, method=m)] for m in METHODS}
    plots.seed_bars(ax, groups, 'modes captured', f'{data} ({1000 if data != "grid25" else 25} '
                    'modes)')
  return fig


def make_report(command: str, minutes: float):
  def report(results: spec.Results) -> spec.Page:
    rows, summary, per_run = table(results)
    lines = [
        '# Mode collapse at equal CPU: GAN, PacGAN2 and R3GAN on Stacked MNIST and grid25', '',
        f'Made by `{command}` (experiments/studies/mode_collapse.py, which lists each method\'s '
        f'settings); do not edit by hand. ' + (
            f'Every run had {minutes:g} minutes of one core: its steps are that budget at the '
            'method\'s measured rate; ' if minutes else 'The smoke test: 4 steps a run; ') +
        '"minutes" is what the run\'s own log measured (training loop with compilation; the '
        'final evaluation not counted). Mean ± sample std over seeds.', '']
    lines += tables.markdown(['data', 'method', 'seeds', 'steps', 'minutes', 'modes',
                              '% high quality', 'KL to uniform', 'reference (modes / % / KL)'],
                             rows)
    lines += ['', 'Per run (seed: modes [/ % high quality] / KL):', ''] + per_run
    lines += ['', 'Reading:', ''] + reading(summary)
    name = 'mode_collapse_runlocal' if not minutes else 'mode_collapse'
    lines = lines[:4] + [f'![modes captured per seed]({name}.png)', ''] + lines[4:]
    return spec.Page(lines=lines, summary=summary, figure=figure(results))
  return report


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # One seed of each for 4 steps: the study's smoke test.
    command = f'{COMMAND}:runlocal'
    steps = {(d, m): 4 for d in DATA for m in METHODS}
    return Study(name='mode_collapse_runlocal', command=command,
                 runs=runs(steps, 1, {'stacked_mnist': 8, 'grid25': 8}, ':runlocal'),
                 report=make_report(command, 0))
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  missing = [k for k, v in STEPS_PER_S.items() if not v]
  if missing:
    raise configs.ConfigError(f'mode_collapse: no measured rate for {missing}; run '
                              'scripts/steps_per_second.py and set STEPS_PER_S.')
  steps = {(d, m): steps_of(d, m, BUDGET_MINUTES) for d in DATA for m in METHODS}
  return Study(name='mode_collapse', runs=runs(steps, SEEDS, BATCHES),
               command=COMMAND, report=make_report(COMMAND, BUDGET_MINUTES))
