"""Data augmentation: does a class-conditional GAN help a classifier when labels are few?

  python -m gan_jax.study experiments/studies/augmentation.py [--shard i/n] [--report_only]
  python -m gan_jax.study experiments/studies/augmentation.py:runlocal   (a minute: smoke test)

Every cell (N labelled examples per class, seed) of the protocol of gan_jax/applications/
augmentation on mnist5k (experiments/augment_mnist.py: N = 10, 25, 50, 100, all) and on
scikit-learn's 8x8 digits (experiments/augment_digits.py: N = 5, 10, all), seeds 0, 1, 2: a
conditional GAN on the N-per-class subset, then a classifier per method (real, real + classical
augmentation, real + GAN images at 1 and 4 per real one, with and without classical
augmentation, GAN images only) scored on the held-out test split, and GAN-test. Each cell is a
run of kind 'augmentation' (gan_jax/study/kind_augmentation.py) in <workdir>/<experiment>/<cell>.
The page keeps every cell's numbers per seed and compares each method with its baseline paired
by seed.
"""
from gan_jax.reports import stats
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

SEEDS = (0, 1, 2)
PROTOCOLS = (('mnist', 'augment_mnist', (10, 25, 50, 100, 0)),
             ('digits', 'augment_digits', (5, 10, 0)))
INTRO = '''# Data augmentation: does a conditional GAN help a classifier when labels are few?

The question has a number for an answer, and the literature disagrees on it. DAGAN (Antoniou et
al. 2017) reports Omniglot 69 → 82% and EMNIST 73.9 → 76.0% in the low-data regime; the
Classification Accuracy Score (Ravuri & Vinyals 2019) finds a classifier trained only on
BigGAN-deep samples reaches 42.7% ImageNet top-1 against 73.1% on real data; GAN-train / GAN-test
(Shmelkov et al. 2018) separate diversity from fidelity. Classical augmentation (shifts, small
rotations) is the baseline a GAN must beat.

Made by `python -m gan_jax.study experiments/studies/augmentation.py` (two processes share the
runs with `--shard 0/2` and `--shard 1/2`); do not edit by hand. One cell of the protocol alone:
`python -m gan_jax.main --mode=augment --config=experiments/augment_mnist.py --workdir=DIR`.

## The protocol (gan_jax/applications/augmentation/)

For every N (labelled examples per class) and every seed — the seed chooses the subset, the GAN's
initialisation and data order, and the classifiers' initialisation and data order together:

1. **The subset.** `data.per_class=N` keeps N examples of each class of the training split,
   stratified and seeded (`data.subset_seed`); the subsets of one seed are nested. The GAN and
   every classifier of the cell see exactly these images.
2. **The GAN.** A class-conditional GAN trained on the subset only (experiments/augment_mnist.py:
   the TensorFlow tutorial's DCGAN made conditional, projection discriminator, non-saturating
   loss, DiffAugment translation + cutout, EMA of G 0.99 from step 1000; 2,000 steps).
3. **The classifiers** (gan_jax/classifier.py: a small CNN, AdamW with cosine decay, a fixed number
   of steps whatever the data's size, deterministic per seed), one per row, all with the cell's
   seed so that rows differ only by their data: `real`; `real+classical` (random shifts and
   rotations); `real+gan_xR` (R generated images per real image, classes in turn) and
   `real+gan_xR+classical`; `gan_only` (generated images only: CAS, or GAN-train). Each is scored
   on the test split (mnist5k: 500 digits; digits: 179), which neither the GAN nor any classifier
   trains on.
4. **GAN-test**: a reference classifier trained with classical augmentation on every real training
   example scores 1,000 generated images by the class they were drawn for.

**Nothing is tuned on the test split.** The GAN recipe and the ratios were fixed in the experiment
files before any result was seen; the classifier's alternatives were compared on validation data
from the training split ([classifier_recipe.md](classifier_recipe.md)) with a rule fixed in
advance. Every ratio is reported. Each number is the mean ± sample standard deviation (ddof 1)
over seeds, with the number of seeds in brackets; the per-seed numbers follow each table.'''


def runs(seeds=SEEDS, protocols=PROTOCOLS, arg: str = '') -> list:
  out = []
  for seed in seeds:
    for data, experiment, ns in protocols:
      for n in ns:
        label = 'all' if n == 0 else str(n)
        out.append(Run(name=f'{experiment}/n={label},seed={seed}', kind='augmentation',
                       config=f'experiments/{experiment}.py{arg}', seed=seed,
                       overrides={'protocol.per_class': (n,), 'protocol.seeds': (seed,)},
                       labels={'data': data, 'n': label}))
  return out


def pct(values) -> list:
  return [None if v is None else 100 * v for v in values]


def numbers(results, data: str, n: str, method: str) -> dict:
  """{seed: accuracy in %} of one method at one N ('gan_test' for GAN-test)."""
  out = {}
  for seed, r in results.by_seed(data=data, n=n).items():
    v = r['gan_test'] if method == 'gan_test' else r['accuracy'].get(method)
    out[seed] = None if v is None else 100 * v
  return out


def methods_of(results, data: str) -> list:
  """The methods in the protocol's order (as the cells recorded them), then GAN-test."""
  for run in results.select(data=data):
    return list(results.result(run)['accuracy']) + ['gan_test']
  return []


def baseline(method: str) -> str:
  """What a method is compared with: classical and GAN-only rows with real only, rows with GAN
  images and classical augmentation with classical augmentation alone."""
  return 'real+classical' if method.startswith('real+gan') and method.endswith('classical') \
      else 'real'


def data_section(results, data: str, experiment: str, ns: list) -> tuple:
  """One data set's lines (table, per-seed table, paired reading, cost, samples) and summary."""
  names = methods_of(results, data)
  cols = [n for n in ns if results.select(data=data, n=n)]
  cells = {(m, n): numbers(results, data, n, m) for m in names for n in cols}
  summary = {f'{m} N={n}': dict(zip(('mean', 'std', 'count'), stats.mean_std(v.values())))
             for (m, n), v in cells.items()}
  lines = [f'## {data} (experiments/{experiment}.py)', '',
           f'{len(results.select(data=data))} cells finished. Test accuracy (%), mean ± sample '
           'std (seeds):', '']
  lines += tables.markdown(['method'] + [f'N = {n}' for n in cols], [
      [m] + [stats.fmt_count(cells[(m, n)].values()) for n in cols] for m in names])
  lines += ['', 'Per seed (test accuracy %, seeds ' + ', '.join(
      map(str, sorted({s for v in cells.values() for s in v}))) + '):', '']
  lines += tables.markdown(['method'] + [f'N = {n}' for n in cols], [
      [m] + [' / '.join(f'{cells[(m, n)][s]:.1f}' for s in sorted(cells[(m, n)])) for n in cols]
      for m in names])
  lines += ['', 'Each augmentation against its baseline, paired by seed (difference in points, '
            'mean ± sample std, and in how many seeds it was higher):', '']
  for n in cols:
    parts = [f'{m} {stats.fmt_paired(stats.paired(cells[(m, n)], cells[(baseline(m), n)]))} '
             f'against {"classical" if baseline(m) != "real" else "real only"}'
             for m in names if m not in ('real', 'gan_test')]
    lines.append(f'- N = {n}: ' + '; '.join(parts) + '.')
  return lines, summary, cells, cols, names


def cost_line(results, data: str) -> str:
  done = [results.result(r) for r in results.select(data=data)]
  wall = sum(r['seconds'] for r in done) / 60
  gan = sum(r['gan_seconds'] for r in done) / 60
  return (f'Cost: {wall:.0f} min summed over the {len(done)} cells ({gan:.0f} min of it training '
          'the GANs, the rest generating images and training classifiers; each cell\'s wall time '
          'in its own process, the machine in the footer).')


def reading(data: str, cells: dict, cols: list, names: list) -> list:
  """What the numbers say, by rule: which rows beat their baseline in every seed by more than the
  paired std, at which N."""
  def wins(m):
    return [n for n in cols if (p := stats.paired(cells[(m, n)], cells[(baseline(m), n)]))
            and p['higher'] == p['count'] and p['mean'] > p['std']]
  gan_rows = [m for m in names if m.startswith('real+gan')]
  won = {m: wins(m) for m in gan_rows if wins(m)}
  classical = wins('real+classical')
  lines = [f'- **{data}: GAN rows.** ' + (
      'No row with GAN images beat its baseline in every seed by more than the seeds\' spread, '
      'at any N.' if not won else 'Beat their baseline in every seed by more than the paired '
      'std: ' + '; '.join(f'{m} at N = {", ".join(ns)}' for m, ns in won.items()) + '.')]
  lines.append(f'- **{data}: classical augmentation** beat real only in every seed by more than '
               'the paired std ' + (f'at N = {", ".join(classical)}' if classical else 'at no N')
               + '.')
  gt = [stats.mean_std(cells[('gan_test', n)].values())[0] for n in cols]
  cas = [stats.mean_std(cells[('gan_only', n)].values())[0] for n in cols]
  line = (f'- **{data}: GAN-test {min(gt):.1f}-{max(gt):.1f}%, CAS (GAN images only) '
          f'{min(cas):.1f}-{max(cas):.1f}%** over N')
  if all(g > c for g, c in zip(gt, cas)):
    line += (': at every N a classifier of real digits recognises more generated digits than a '
             'classifier of generated digits alone recognises real ones (Shmelkov et al.\'s '
             'reading: the samples are more faithful than they are diverse).')
  lines.append(line + ('' if line.endswith('.') else '.'))
  return lines


def samples_lines(data: str, cols: list) -> list:
  lines = ['', 'Seed 0\'s conditional GAN at its last step, one row per class, EMA generator '
           '(copied from the runs when the study runs):', '']
  return lines + tables.markdown(['N', 'samples'], [
      [f'N = {n}', f'![](augmentation/{data}_n={n}.png)'] for n in cols])


def report(results: spec.Results) -> spec.Page:
  from gan_jax.reports import plots
  lines, summary, readings = [INTRO, ''], {}, []
  protocols = [p for p in PROTOCOLS if results.select(data=p[0])]
  fig, axes = plots.figure(ncols=max(1, len(protocols)), width=5.5, height=4.2)
  for ax, (data, experiment, _) in zip(axes, protocols):
    labels = list(dict.fromkeys(r.labels['n'] for r in results.select(data=data)))
    part, summary[data], cells, cols, names = data_section(results, data, experiment, labels)
    lines += part + ['', cost_line(results, data)] + samples_lines(data, cols) + ['']
    readings += reading(data, cells, cols, names)
    series = {m: [stats.mean_std(cells[(m, n)].values())[:2] for n in cols]
              for m in names if m != 'gan_test'}
    plots.errorbar_lines(ax, [f'N = {n}' for n in cols], series, 'labelled examples per class',
                         'test accuracy (%)', f'{data}: mean ± std over seeds')
  lines += ['![accuracy against N](augmentation.png)', '', '## What the numbers show', '']
  lines += readings + ['', WHAT_IT_DOES_NOT_SHOW]
  return spec.Page(lines=lines, summary=summary, figure=fig)


WHAT_IT_DOES_NOT_SHOW = '''**What it does not show.** One GAN recipe was tried, fixed in advance: a
conditional DCGAN with DiffAugment and an EMA, trained for 2,000 steps on a CPU budget. It was not
tuned, and no selection of generated samples was tried (filtering by a classifier's confidence,
truncation). DAGAN-style gains may need a generator made for few-shot data; the protocol is there
to try them: any field of experiments/augment_mnist.py can be overridden.'''


def assets(workdir: str) -> dict:
  """Seed 0's final sample grid of every N (its GAN's train.num_steps, from the experiment)."""
  import os
  from gan_jax import configs
  from gan_jax import workdir as workdir_lib
  from gan_jax.study import kinds
  out = {}
  for data, experiment, ns in PROTOCOLS:
    steps = configs.load_experiment(kinds.experiment_path(f'experiments/{experiment}.py')[0])
    for n in ns:
      label = 'all' if n == 0 else str(n)
      gan = os.path.join(workdir, experiment, f'n={label},seed=0', 'gan')
      out[f'augmentation/{data}_n={label}.png'] = workdir_lib.sample_path(
          gan, 0, 1, steps.train.num_steps)
  return out


def get_study(arg=None) -> Study:
  if arg not in (None, 'runlocal'):
    from gan_jax import configs
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal (or none).')
  if arg == 'runlocal':  # One mnist cell at :runlocal size.
    return Study(name='augmentation_runlocal', report=report,
                 runs=runs((0,), (('mnist', 'augment_mnist', (5,)),), ':runlocal'),
                 command='python -m gan_jax.study experiments/studies/augmentation.py:runlocal')
  return Study(name='augmentation', runs=runs(), report=report, assets=assets,
               command='python -m gan_jax.study experiments/studies/augmentation.py')
