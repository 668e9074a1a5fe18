"""Screening candidate recipes for the default by quality against training steps.

  XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c i \\
      python -m gan_jax.study experiments/studies/ttq_screen.py --shard i/2     (i = 0, 1)
  python -m gan_jax.study experiments/studies/ttq_screen.py [--report_only]
  python -m gan_jax.study experiments/studies/ttq_screen.py:runlocal     (minutes: the smoke test)

The time-to-quality benchmark (experiments/studies/ttq.py) times each recipe alone on the whole
machine, ten minutes a recipe: too dear to try many. This screen asks the cheaper question first:
what quality does each candidate (CANDIDATES: overrides of the default they were screened on,
experiments/dcgan_mnist.py with EARLIER_DEFAULT, issue 16's first recipe) reach after the same
number of steps? Quality against steps does not depend on the cores a run gets, so candidates
train side by side as single-core shards (above). Each candidate trains once (seed 0) to the
largest of STEPS (run kind 'screen', gan_jax/study/kind_screen.py: resumable, a checkpoint kept
at each of STEPS, no evaluation inside the run), then each of those checkpoints is scored by
gan_jax's feature protocol (gan_jax/snapshots.py: 5,000 samples against the 4,500 mnist5k training
digits in the mnist_classifier's space). Its cost is the median steps/s of its training log on the
one core it had, beside the default's on a neighbouring core: a ratio, not a time. A candidate
that wins here goes to experiments/studies/ttq.py, which alone decides the default. A candidate
not yet trained is named on the page, not in its table.
"""
from gan_jax import configs
from gan_jax.reports import tables
from gan_jax.study import Run, Study, kinds, spec

STEPS = [1000, 2000, 4000, 6000]
ENGINE = 'python -m gan_jax.study experiments/studies/ttq_screen.py'
# The default the candidates were screened on: experiments/dcgan_mnist.py with these fields.
EARLIER_DEFAULT = {'model.conditional': False, 'optim.g_lr': 2e-4, 'optim.d_lr': 2e-4}
# name -> (overrides of the earlier default, what it tries): round 1 fixed before any result,
# later rounds (ROUNDS: name -> round) each after the one before and before any of its own.
CANDIDATES = {
    'default': ({}, 'the default the candidates were screened on (issue 16\'s first recipe, '
                    'docs/ttq.md\'s ema999)'),
    'd64': ({'model.d_kwargs.dcgan.base_features': 64}, 'a D twice as wide (64, 128)'),
    'lr5e-4': ({'optim.g_lr': 5e-4, 'optim.d_lr': 5e-4}, 'learning rates 5e-4 for both'),
    'ttur': ({'optim.g_lr': 1e-4, 'optim.d_lr': 4e-4},
             'two time-scale learning rates (Heusel et al. 2017): G 1e-4, D 4e-4'),
    'hinge_sn': ({'loss.name': 'hinge', 'model.d_kwargs.dcgan.spectral_norm': True},
                 'hinge loss, spectral norm in D (Miyato et al. 2018)'),
    'r1': ({'loss.penalties.r1': 1.0, 'loss.lazy_every': 16},
           'R1 on real data, weight 1 (gamma 2), lazy every 16 steps (Mescheder et al. 2018, '
           'Karras et al. 2020)'),
    'batch64': ({'data.batch_size': 64}, 'batches of 64'),
    'batch16': ({'data.batch_size': 16}, 'batches of 16: cheaper steps'),
    'no_augment': ({'augment.policy': ''}, 'the default without DiffAugment'),
    'no_ema': ({'optim.ema_decay': 0.0, 'optim.ema_start': 0, 'eval.bn_stats': 'running'},
               'the default sampled from the live G (no EMA), running batch-norm statistics'),
    'cutout': ({'augment.policy': 'translation,cutout'}, 'DiffAugment translation and cutout'),
    'g64': ({'model.g_kwargs.dcgan.base_features': 64}, 'a G half as wide: cheaper steps'),
    'conditional': ({'model.conditional': True},
                    'class-conditional G (conditional batch norm) and projection D on the '
                    'digits\' labels'),
    # Round 2, fixed once round 1 had shown `conditional` far ahead (FID 41 at step 6000 against
    # the default's 315; round 1 was cut short there, three of its candidates screened), before
    # any round-2 result: changes on top of it that may buy more quality within the time budget
    # (cheaper steps, faster learning, less EMA lag).
    'cond_lr5e-4': ({'model.conditional': True, 'optim.g_lr': 5e-4, 'optim.d_lr': 5e-4},
                    'conditional, learning rates 5e-4 for both'),
    'cond_batch16': ({'model.conditional': True, 'data.batch_size': 16},
                     'conditional, batches of 16: cheaper steps'),
    'cond_g64': ({'model.conditional': True, 'model.g_kwargs.dcgan.base_features': 64},
                 'conditional, a G half as wide: cheaper steps'),
    'cond_no_ema': ({'model.conditional': True, 'optim.ema_decay': 0.0, 'optim.ema_start': 0,
                     'eval.bn_stats': 'running'},
                    'conditional, sampled from the live G (no EMA lag), running batch-norm '
                    'statistics'),
    'cond_ema99': ({'model.conditional': True, 'optim.ema_decay': 0.99},
                   'conditional, EMA decay 0.99 (a 100-step horizon instead of 1,000)'),
    'cond_hinge_sn': ({'model.conditional': True, 'loss.name': 'hinge',
                       'model.d_kwargs.dcgan.spectral_norm': True},
                      'conditional, hinge loss, spectral norm in D'),
    # Round 3 (issue 29: the unconditional goal), fixed before any of its results, screened with
    # round 1's lr5e-4: learning rates 5e-4 were round 2's largest gain with labels; ADA
    # (gan_jax/ada.py) instead of DiffAugment's fixed translation, for D's overfitting of 4,500
    # digits seen about 85 times each by step 6000.
    'lr5e-4_ada': ({'optim.g_lr': 5e-4, 'optim.d_lr': 5e-4, 'augment.policy': '',
                    'ada.mode': 'adaptive'},
                   'learning rates 5e-4, ADA (target 0.6, p 0 to 1 over 100k images, the '
                   'digit-safe transforms) instead of DiffAugment translation'),
    # Round 4, after round 3 (ADA: FID 164 at step 6000 against lr5e-4's 220, both far from the
    # conditional runs' 33-41): the conditional model without labels, on k-means clusters of the
    # digits' pixels (data.clusters, gan_jax/data/clusters.py: self-conditioning).
    'clusters_ada': ({'optim.g_lr': 5e-4, 'optim.d_lr': 5e-4, 'augment.policy': '',
                      'ada.mode': 'adaptive', 'model.conditional': True, 'data.clusters': 10},
                     'lr5e-4_ada conditioned on 10 k-means clusters of the training digits\' '
                     'pixels instead of labels (no label read)'),
}
ROUNDS = {**{n: 2 for n in ('cond_lr5e-4', 'cond_batch16', 'cond_g64', 'cond_no_ema',
                            'cond_ema99', 'cond_hinge_sn')}, 'lr5e-4_ada': 3,
          'clusters_ada': 4}
# Candidates trained in a later session than the default (steps/s compare only between runs of
# one session on one machine): name -> the candidate its rate is compared with.
TIMED_BESIDE = {'lr5e-4': 'lr5e-4', 'lr5e-4_ada': 'lr5e-4', 'clusters_ada': 'lr5e-4'}
SHOWN = ('fid', 'confident_percent', 'classes_present', 'precision', 'recall', 'density',
         'coverage')


def runs(names: list, steps: list, arg: str = '') -> list:
  return [Run(name=name, kind='screen', config=f'experiments/dcgan_mnist.py{arg}',
              overrides={**EARLIER_DEFAULT, **CANDIDATES[name][0]},
              labels={'candidate': name, 'round': ROUNDS.get(name, 1)},
              args={'steps': steps}) for name in names]


def cell(m: dict, name: str) -> str:
  v = m.get(name)
  if v is None:
    return '—'
  return f'{v:.0f}' if name == 'classes_present' else (
      f'{v:.1f}' if name in ('fid', 'confident_percent') else f'{v:.2f}')


def table(done: dict, steps: list) -> list:
  last = str(max(steps))
  head = (['candidate', 'steps/s (1 core)'] + [f'FID @{s}' for s in steps] +
          [f'{k} @{last}' for k in SHOWN[1:]])
  rows = []
  for name, r in done.items():
    rate = '—' if r['steps_per_s'] is None else f'{r["steps_per_s"]:.2f}'
    rows.append([name, rate] + [cell(r['scores'][str(s)], 'fid') for s in steps] +
                [cell(r['scores'][last], k) for k in SHOWN[1:]])
  return tables.markdown(head, rows)


def reading(done: dict, steps: list) -> list:
  """Generated: each candidate's FID and cost at the last step against the default's."""
  if 'default' not in done:
    return []
  last, base = str(max(steps)), done['default']
  fid0, rate0 = base['scores'][last]['fid'], base['steps_per_s']
  out = [f'Reading (generated from the table), at step {last} against the default\'s FID '
         f'{fid0:.1f}:', '']
  for name, r in sorted(done.items(), key=lambda kv: kv[1]['scores'][last]['fid']):
    if name == 'default':
      continue
    m = r['scores'][last]
    ref = TIMED_BESIDE.get(name, 'default')  # Rates compare only between runs timed together.
    rate_ref = done[ref]['steps_per_s'] if ref in done else None
    cost = ('' if not (rate_ref and r['steps_per_s'] and ref != name) else
            f'; a step costs {rate_ref / r["steps_per_s"]:.2f}x '
            f'{"the default" if ref == "default" else ref}\'s')
    out.append(f'- {name}: FID {m["fid"]:.1f} ({m["fid"] / fid0:.2f}x), '
               f'{m["confident_percent"]:.1f}% confident{cost}.')
  return out


def candidate_lines(done: dict, declared: list) -> list:
  out = ['Candidates (overrides of the default they were screened on: experiments/dcgan_mnist.py '
         'with ' + ' '.join(f'`{k}={kinds.flag(v)}`' for k, v in EARLIER_DEFAULT.items()) +
         ', issue 16\'s first recipe):', '']
  for name in done:
    over, what = CANDIDATES[name]
    shown = ' '.join(f'`{k}={kinds.flag(v)}`' for k, v in over.items()) or '—'
    rnd = ROUNDS.get(name, 1)
    out.append(f'- **{name}**{f" (round {rnd})" if rnd > 1 else ""}: {what}. {shown}')
  missing = [n for n in declared if n not in done]
  return out + (['', 'Not (yet) screened, so not in the table: ' + ', '.join(missing) + '.']
                if missing else [])


def report(results: spec.Results, command: str) -> spec.Page:
  done = {r.name: results.result(r) for r in results.finished()}
  steps = results.runs[0].args['steps']
  lines = [
      '# Screening recipes for the default: quality against training steps', '',
      f'Made by `{command}` (its docstring is the protocol); do not edit by hand. Each candidate '
      'trained once (seed 0) as a single-core shard beside another; scores: the feature '
      'protocol of docs/ttq.md (5,000 samples against the 4,500 mnist5k training digits, '
      'mnist_classifier features) at each step. steps/s: the median of the run\'s training log '
      'on its one core, not a wall time, comparable only between runs of one session (rounds 1 '
      'and 2; rounds 3 and 4, a later session, against lr5e-4: the reading says which); '
      'docs/ttq.md times the recipes that go on, alone on the machine.', '',
      *table(done, steps), '', *reading(done, steps), '',
      *candidate_lines(done, [r.name for r in results.runs])]
  summary = {name: {'steps_per_s': r['steps_per_s'],
                    'fid': {str(s): r['scores'][str(s)]['fid'] for s in steps},
                    **{k: r['scores'][str(max(steps))][k] for k in SHOWN[1:]}}
             for name, r in done.items()}
  return spec.Page(lines=lines, summary=summary)


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # Minutes: two candidates, 4 steps scored at 2 and 4.
    command = f'{ENGINE}:runlocal'
    return Study(name='ttq_screen_runlocal', runs=runs(['default', 'no_ema'], [2, 4], ':runlocal'),
                 report=lambda r: report(r, command), command=command)
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='ttq_screen', runs=runs(list(CANDIDATES), STEPS),
               report=lambda r: report(r, ENGINE), command=ENGINE)
