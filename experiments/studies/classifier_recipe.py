"""The downstream classifier's recipe against its alternatives, on validation data only.

  python -m gan_jax.study experiments/studies/classifier_recipe.py [--shard i/n] [--report_only]
  python -m gan_jax.study experiments/studies/classifier_recipe.py:runlocal   (the smoke test)

The recipe of gan_jax/classifier.py (`defaults()`) and the digits experiment's classical
augmentation (max_shift 1 pixel) against the alternatives that were considered, each trained for
3 seeds on N = 10 examples per class or on the whole training split less a validation part, and
scored on that part (gan_jax/classifier_validation.py; never on the test split): 30 runs of kind
'classifier', about 4 minutes on 2 cores. Decision rule, fixed before running: an alternative
replaces the default only if its mean validation accuracy is higher by more than the larger of
the two recipes' stds over seeds in every setting.
"""
from gan_jax import classifier_validation
from gan_jax import configs
from gan_jax.reports import stats
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

SEEDS = (0, 1, 2)
SETTINGS = (10, None)  # N per class, or all of the training split but the validation part.
# Per data source: (key, name on the page, classifier overrides); the first is the default.
CANDIDATES = {
    'mnist5k': (('default', 'default (batch 32 x 800 steps, weight decay 0)', {}),
                ('batch64', 'batch 64 x 400 steps', {'batch_size': 64, 'steps': 400}),
                ('wd005', 'weight decay 0.05', {'weight_decay': 0.05})),
    'digits': (('shift1', 'default for 8x8 (max_shift 1)', {'max_shift': 1.0}),
               ('shift2', 'max_shift 2 (the 28x28 default)', {'max_shift': 2.0})),
}
COMMAND = 'python -m gan_jax.study experiments/studies/classifier_recipe.py'


def _setting(per_class) -> str:
  return 'all but validation' if per_class is None else str(per_class)


def runs(candidates: dict, settings: tuple, seeds: tuple, extra: dict) -> list:
  """Seed-major runs of every (data, setting, recipe); `extra` overrides every recipe (the
  smoke test's short training)."""
  out = []
  for seed in seeds:
    for data, recipes in candidates.items():
      for per_class in settings:
        for key, name, overrides in recipes:
          n_val = classifier_validation.VALIDATION_PER_CLASS[data]
          out.append(Run(
              name=f'{data}_{per_class or "all"}_{key}/seed{seed}', kind='classifier', seed=seed,
              labels={'data': data, 'per_class': per_class, 'recipe': name},
              args={'data': data, 'per_class': per_class, 'recipe': name,
                    'overrides': {**overrides, **extra}, 'validation_per_class': n_val,
                    'seed': seed}))
  return out


def row(results: spec.Results, data: str, per_class, name: str) -> dict:
  """{'mean', 'std' (percent), 'seconds' (summed), 'seeds' ({seed: percent} or None)} of one
  recipe in one setting: from its runs' accuracies, or, for runs converted from the old page
  (their per-seed accuracies not kept), the page's row kept in each record."""
  by_seed = results.by_seed(data=data, per_class=per_class, recipe=name)
  if by_seed and all(r.get('accuracy') is None for r in by_seed.values()):
    return {**next(iter(by_seed.values()))['page_row'], 'seeds': None, 'count': len(by_seed)}
  measured = {s: r for s, r in by_seed.items() if r.get('accuracy') is not None}
  accuracies = {s: 100 * r['accuracy'] for s, r in measured.items()}
  mean, std, count = stats.mean_std(list(accuracies.values()))
  seconds = sum(r['seconds'] for r in measured.values())
  return {'mean': mean, 'std': std, 'seconds': seconds, 'seeds': accuracies, 'count': count}


def verdicts(rows: dict, candidates: dict, settings: tuple) -> list:
  """A line per alternative: whether the decision rule lets it replace its data's default."""
  out = []
  for data, recipes in candidates.items():
    default = recipes[0][1]
    for _, name, _ in recipes[1:]:
      pairs = [[(rows[data, s, n]['mean'], rows[data, s, n]['std']) for s in settings]
               for n in (default, name)]
      if any(m is None for p in pairs for m, _ in p):
        out.append(f'- {data}: {name}: not every setting has finished runs yet.')
        continue
      out.append(f'- {data}: {name} ' + (
          'replaces the default.' if classifier_validation.replaces(*pairs) else
          f'does not beat {default} on validation; kept.'))
  return out


def per_seed_lines(rows: dict) -> list:
  """Each row's accuracy per seed, or a line saying the runs did not keep them."""
  if any(r['seeds'] is None for r in rows.values()):
    return ['Per seed: the accuracies of single seeds were not kept by the script that made '
            'these runs (scripts/classifier_recipe.py); each row above is its page\'s.']
  return ['Per seed (validation accuracy, %):', ''] + [
      f'- {data} / {_setting(s)} / {name}: ' + '; '.join(
          f'{seed}: {a:.1f}' for seed, a in r['seeds'].items()) for (data, s, name), r in
      rows.items()]


def make_report(candidates: dict, settings: tuple, seeds: tuple, command: str):
  """The report of a study over these candidates, settings and seeds."""
  def report(results: spec.Results) -> spec.Page:
    rows = {(data, s, name): row(results, data, s, name) for data, recipes in candidates.items()
            for s in settings for _, name, _ in recipes}
    n_val = {d: classifier_validation.VALIDATION_PER_CLASS[d] for d in candidates}
    table = tables.markdown(
        ['data', 'N per class', 'recipe', 'validation accuracy (%)', f's ({len(seeds)} seeds)'],
        [[data, _setting(s), name, stats.fmt(r['mean'], r['std']),
          '—' if r['mean'] is None else f'{r["seconds"]:.0f}'] for (data, s, name), r in
         rows.items()])
    lines = [
        '# The downstream classifier\'s recipe, on validation data', '',
        f'Made by `{command}` (gan_jax/classifier_validation.py); do not edit by hand. '
        f'Classical augmentation on; validation examples per class: {n_val}, drawn from the '
        f'training split apart from the training examples; seeds {list(seeds)}; mean ± sample '
        'std.', '', *table, '', 'Decision (an alternative must win by more than the seeds\' std '
        'in every setting):', '', *verdicts(rows, candidates, settings), '',
        *per_seed_lines(rows)]
    summary = {f'{data}/{_setting(s)}/{name}': {k: v for k, v in r.items() if k != 'seeds'}
               for (data, s, name), r in rows.items()}
    return spec.Page(lines=lines, summary=summary)
  return report


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # Seconds: the digits recipes at N = 10, 20 steps, 2 seeds.
    candidates, settings, seeds = {'digits': CANDIDATES['digits']}, (10,), (0, 1)
    return Study(name='classifier_recipe_runlocal', command=f'{COMMAND}:runlocal',
                 runs=runs(candidates, settings, seeds, {'steps': 20, 'warmup_steps': 5}),
                 report=make_report(candidates, settings, seeds, f'{COMMAND}:runlocal'))
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='classifier_recipe', command=COMMAND,
               runs=runs(CANDIDATES, SETTINGS, SEEDS, {}),
               report=make_report(CANDIDATES, SETTINGS, SEEDS, COMMAND))
