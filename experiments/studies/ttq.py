"""Time to quality: sample quality against wall time, gan_jax's recipes beside the torch reference.

  python -m gan_jax.study experiments/studies/ttq.py [--report_only]    (alone on the machine)
  python -m gan_jax.study experiments/studies/ttq.py:runlocal          (minutes: the smoke test)

Each recipe trains once (seed 0), alone on the machine, for up to the largest budget (minutes of
wall time from the moment its process is launched: interpreter start, imports, data loading and
compilation count); quality at a budget B is that of the newest snapshot taken before B:
- a gan_jax recipe (run kind 'ttq', gan_jax/study/kind_ttq.py) is experiments/dcgan_mnist.py with
  the recipe's overrides (its own train.num_steps: a run that ends before B is scored as it
  ended), a checkpoint every 250 steps (all kept), no evaluation inside the run, each checkpoint
  timed as it appears and the run stopped at the last budget. A recipe that differs from an
  earlier one in eval.* only (the `_standing` ones) is scored on that one's checkpoints;
- `torch` (kind 'ttq_torch') is ../shared/bench/torch_reference.py's dcgan28 trained with its own
  recipe (scripts/ttq_torch.py, by .venv-torch/bin/python: `make torch-venv`), snapshots at the
  budgets, sampled in training mode as the PyTorch DCGAN example does.
Every snapshot is scored by gan_jax's feature protocol (gan_jax/snapshots.py, the evaluators of
gan_jax/evaluators/features.py) on 5,000 samples against the 4,500 mnist5k training digits in the
mnist_classifier's feature space: FID, precision / recall, density / coverage, confident_percent
(samples labelled with p >= 0.9), classes_present. gan_jax samples G in evaluation mode (the EMA of
G where the recipe keeps one). The 500 mnist5k test digits are scored alike (kind 'ttq_real'):
what real digits reach under the protocol.
"""
from gan_jax import configs
from gan_jax.reports import plots
from gan_jax.reports import tables
from gan_jax.study import Run, Study, kinds, spec

BUDGETS = [2, 5, 10]  # Minutes.
ENGINE = 'python -m gan_jax.study experiments/studies/ttq.py'
# The fields in which today's default differs from the one the earlier recipes were tried on:
# those recipes set them back, so that they stay what they were.
EARLIER_DEFAULT = {'model.conditional': False, 'optim.g_lr': 2e-4, 'optim.d_lr': 2e-4}
_BEFORE = {**EARLIER_DEFAULT, 'loss.name': 'minimax', 'optim.ema_decay': 0.0,
           'optim.ema_start': 0, 'augment.policy': '', 'model.g_kwargs.dcgan.base_features': 256,
           'model.d_kwargs.dcgan.base_features': 64, 'train.num_steps': 3500,
           'eval.bn_stats': 'running'}
_SMALL_FAST = {**EARLIER_DEFAULT, 'loss.name': 'non_saturating', 'optim.ema_decay': 0.99,
               'optim.ema_start': 2000, 'augment.policy': 'translation,cutout',
               'model.g_kwargs.dcgan.base_features': 128,
               'model.d_kwargs.dcgan.base_features': 32, 'train.num_steps': 8000,
               'eval.bn_stats': 'running'}
_EMA999 = {**EARLIER_DEFAULT, 'loss.name': 'non_saturating', 'optim.ema_decay': 0.999,
           'optim.ema_start': 1000, 'augment.policy': 'translation',
           'model.g_kwargs.dcgan.base_features': 128, 'model.d_kwargs.dcgan.base_features': 32,
           'train.num_steps': 5750, 'eval.bn_stats': 'standing'}
# name -> (overrides of experiments/dcgan_mnist.py, what it tries, the recipe whose checkpoints
# it scores or None), in the order they were tried ('default' is the file as it is).
RECIPES = {
    'default': ({}, 'experiments/dcgan_mnist.py as it is', None),
    'before': (_BEFORE, 'the default before issue 16 (the TensorFlow tutorial\'s recipe): minimax '
                        'loss, no EMA, no DiffAugment, G 256 / D 64 wide, 3,500 steps', None),
    'small_fast': (_SMALL_FAST, 'non-saturating loss, EMA of G (0.99 from step 2000), DiffAugment '
                                'translation+cutout, G 128 / D 32 wide, up to 8,000 steps', None),
    'small_fast_standing': ({**_SMALL_FAST, 'eval.bn_stats': 'standing'},
                            'small_fast sampled with standing batch-norm statistics',
                            'small_fast'),
    'before_standing': ({**_BEFORE, 'eval.bn_stats': 'standing'},
                        'before, sampled with standing batch-norm statistics', 'before'),
    'ema999': (_EMA999, 'non-saturating loss, EMA of G (0.999 from step 1000) with standing '
                        'batch-norm statistics, DiffAugment translation, G 128 / D 32 wide, 5,750 '
                        'steps', None),
}
TORCH = ('PyTorch reference dcgan28, its own recipe (batch 64, Adam 2e-4 / 0.5, non-saturating, '
         'PyTorch initialisation)')
# :runlocal: the runlocal default, a twin scored on its checkpoints, torch for seconds.
RUNLOCAL = {'default': ({}, 'experiments/dcgan_mnist.py:runlocal as it is', None),
            'default_running': ({'eval.bn_stats': 'running'},
                                'default sampled with running batch-norm statistics', 'default')}
SHOWN = ('step', 'fid', 'confident_percent', 'classes_present', 'precision', 'recall', 'density',
         'coverage')
GOAL_FID = 241.5 / 4  # Issue 16's FID goal, beside >= 90% confident and 10 classes.


def runs(recipes: dict, arg: str, budgets: list, torch_budgets: list) -> list:
  """The recipes (kind 'ttq'), the torch reference and the real test digits, in that order."""
  config = f'experiments/dcgan_mnist.py{arg}'
  out = [Run(name=name, kind='ttq', config=config, overrides=over, labels={'recipe': name},
             args={'budgets': budgets, 'ckpt_every': 2 if arg else 250,
                   **({'scored_on': twin} if twin else {})})
         for name, (over, _, twin) in recipes.items()]
  out.append(Run(name='torch', kind='ttq_torch', config=config, labels={'recipe': 'torch'},
                 args={'budgets': torch_budgets, 'batch': 64}))
  out.append(Run(name='real_test_digits', kind='ttq_real', config=config,
                 labels={'recipe': 'real'}, args={'split': 'test'}))
  return out


def key(budget) -> str:
  return f'{float(budget):g}'


def cell(m: dict, name: str) -> str:
  v = m.get(name)
  if v is None:
    return '—'
  return f'{v:.0f}' if name in ('classes_present', 'step') else (
      f'{v:.1f}' if name in ('fid', 'confident_percent') else f'{v:.2f}')


def recipes_of(results: spec.Results) -> list:
  """(run, result) of each finished recipe and of torch, in the study's order."""
  return [(r, results.result(r)) for r in results.finished() if r.kind != 'ttq_real']


def table(done: list) -> tuple:
  """The table's lines (a row per recipe and budget) and its numbers for the summary."""
  rows, summary = [], {}
  for run, r in done:
    for b in run.args['budgets']:
      m = r['snapshots'].get(key(b), {})
      rows.append([run.name, key(b)] + [cell(m, k) for k in SHOWN])
      summary.setdefault(run.name, {})[key(b)] = {k: m.get(k) for k in SHOWN}
  head = ['recipe', 'min', 'steps', 'FID', '% confident', 'classes', 'precision', 'recall',
          'density', 'coverage']
  return tables.markdown(head, rows), summary


def reading(done: dict, minutes: list) -> list:
  """Generated sentences: the default against the reference at each budget, and the goal."""
  if 'default' not in done or 'torch' not in done:
    return []
  d, t = done['default']['snapshots'], done['torch']['snapshots']
  out = ['Reading (generated from the table):', '']
  for b in minutes:
    md, mt = d.get(key(b), {}), t.get(key(b), {})
    if md.get('fid') is None or mt.get('fid') is None:
      continue
    ahead = md['fid'] < mt['fid'] and md['confident_percent'] >= mt['confident_percent']
    out.append(f'- {key(b)} min: default FID {md["fid"]:.1f} / {md["confident_percent"]:.1f}% '
               f'confident against torch {mt["fid"]:.1f} / {mt["confident_percent"]:.1f}%: '
               f'{"ahead on both" if ahead else "not ahead on both"}.')
  last = d.get(key(max(minutes)), {})
  if last.get('fid') is not None:
    met = (last['fid'] <= GOAL_FID and last['confident_percent'] >= 90 and
           last['classes_present'] == 10)
    out.append(f'- Issue 16\'s goal at {key(max(minutes))} min (FID <= {GOAL_FID:.1f}, >= 90% '
               f'confident, 10 classes): {"met" if met else "not met"} by the default.')
  return out + labels_caveat(done, minutes)


def labels_caveat(done: dict, minutes: list) -> list:
  """Generated: when the default uses labels, that the comparison is not like for like, and
  the best recipe without them at the last budget."""
  if not done['default']['conditional']:
    return []
  last = key(max(minutes))
  plain = {n: r['snapshots'][last] for n, r in done.items()
           if not r['conditional'] and r['snapshots'].get(last, {}).get('fid') is not None}
  out = ('- The default is class-conditional: it trains on the digits\' labels (its G draws each '
         'sample\'s digit uniformly, its D sees the label), which the torch reference and the '
         'recipes without labels do not use; it is ahead of them with more information, not '
         'like for like.')
  if plain:
    name, m = min(plain.items(), key=lambda kv: kv[1]['fid'])
    out += (f' Without labels the best at {last} min is {name}: FID {m["fid"]:.1f}, '
            f'{m["confident_percent"]:.1f}% confident.')
  return [out]


def recipe_lines(done: list, recipes: dict) -> list:
  """Each recipe: what it tries, its overrides, whose checkpoints it was scored on."""
  out = ['Recipes (overrides of experiments/dcgan_mnist.py):', '']
  for run, r in done:
    what = TORCH if run.kind == 'ttq_torch' else recipes[run.name][1]
    shown = '' if run.kind == 'ttq_torch' else (' '.join(
        f'`{k}={kinds.flag(v)}`' for k, v in run.overrides.items()) or '—')
    twin = (f'Scored on the checkpoints of **{r["scored_on"]}**, trained identically.'
            if r.get('scored_on') else '')
    out.append(' '.join(p for p in (f'- **{run.name}**: {what}.', shown, twin) if p))
  return out


def time_line(done: list) -> list:
  """Each recipe's checkpoints as they appeared (step: seconds from launch); where those were not
  kept (the first recipes run, torch's own snapshots), its scored snapshots."""
  out = ['Time line (step: seconds from launch at which it was saved; the recipes run before '
         'checkpoint times were kept, and torch, give their scored snapshots):', '']
  for run, r in done:
    if r.get('scored_on'):
      out.append(f'- **{run.name}**: the checkpoints of {r["scored_on"]}.')
      continue
    times = r.get('checkpoint_seconds') or {
        str(m['step']): m['seconds'] for m in r['snapshots'].values() if m.get('step')}
    out.append(f'- **{run.name}**: ' + ', '.join(
        f'{s}: {t:.0f} s' for s, t in sorted(times.items(), key=lambda kv: int(kv[0]))))
  return out


def real_line(real: dict, samples: int) -> list:
  m = real['metrics']
  return [f'The {real["num_images"]} {real["data"]} {real["split"]} digits (real, unseen by the '
          f'reference; {real["num_images"]} rather than {samples:,} samples) score FID '
          f'{m["fid"]:.1f}, precision {m["precision"]:.2f}, recall {m["recall"]:.2f}, density '
          f'{m["density"]:.2f}, coverage {m["coverage"]:.2f}, {m["confident_percent"]:.1f}% '
          f'confident, {m["classes_present"]} classes: what real digits reach under this '
          'protocol.', '']


def figure(done: list):
  """Two panels against minutes: FID (log scale) and % confident samples, a line per recipe."""
  fig, (fid, sure) = plots.figure(ncols=2)
  for run, r in done:
    points = [(b, r['snapshots'].get(key(b), {})) for b in run.args['budgets']]
    points = [(b, m) for b, m in points if m.get('fid') is not None]
    for ax, name in ((fid, 'fid'), (sure, 'confident_percent')):
      ax.plot([b for b, _ in points], [m[name] for _, m in points], marker='o', label=run.name)
  fid.set_yscale('log')
  ticks = sorted({float(b) for run, _ in done for b in run.args['budgets']})
  for ax in (fid, sure):
    ax.set_xticks(ticks, [key(b) for b in ticks])
  fid.set(xlabel='minutes of wall time', ylabel='FID (mnist_classifier)', title='FID')
  sure.set(xlabel='minutes of wall time', ylabel='%', ylim=(0, 100),
           title='% samples labelled with p >= 0.9')
  sure.legend(loc='lower right', fontsize=8)
  return fig


def header(command: str, samples: int) -> list:
  return [
      '# Time to quality: sample quality against wall time', '',
      f'Made by `{command}` (its docstring is the protocol); do not edit by hand. Each recipe ran '
      'alone on the machine (named below), once (seed 0); minutes are wall time from its launch '
      '(start-up and compilation included). Scores: '
      f'{samples:,} samples against the 4,500 mnist5k training digits in the mnist_classifier\'s '
      'feature space (real digits score FID about 1 and density about 1 there; '
      'docs/evaluation.md).', '']


def report(results: spec.Results, recipes: dict, command: str, samples: int,
           name: str) -> spec.Page:
  done = recipes_of(results)
  real = [results.result(r) for r in results.finished() if r.kind == 'ttq_real']
  lines = header(command, samples) + (real_line(real[0], samples) if real else [])
  rows, summary = table(done)
  lines += [f'![quality against wall time]({name}.png)', ''] + rows + ['']
  by_name = {run.name: r for run, r in done}
  default = [run for run, _ in done if run.name == 'default']
  lines += reading(by_name, default[0].args['budgets']) if default else []
  lines += [''] + recipe_lines(done, recipes) + [''] + time_line(done)
  if real:
    summary['real_test_digits'] = {k: real[0]['metrics'][k] for k in SHOWN[1:]}
  return spec.Page(lines=lines, summary=summary, figure=figure(done) if done else None)


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # Minutes: 4 steps, seconds of torch (the study's smoke test).
    command = f'{ENGINE}:runlocal'
    return Study(name='ttq_runlocal', runs=runs(RUNLOCAL, ':runlocal', [0.05, 3], [0.05, 0.15]),
                 report=lambda r: report(r, RUNLOCAL, command, 256, 'ttq_runlocal'),
                 command=command, shardable=False)
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='ttq', runs=runs(RECIPES, '', BUDGETS, BUDGETS),
               report=lambda r: report(r, RECIPES, ENGINE, 5000, 'ttq'), command=ENGINE,
               shardable=False)
