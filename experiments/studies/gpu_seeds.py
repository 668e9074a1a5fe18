"""Seeds trained together on the accelerator. Part c of the GPU checks (issue 14).

  python -m gan_jax.study experiments/studies/gpu_seeds.py        (on a GPU: scripts/gpu_check.py)
  python -m gan_jax.study experiments/studies/gpu_seeds.py:runlocal   (any machine: the smoke test)

Runs of kind 'device' (gan_jax/study/kind_device.py, measure 'update_speed'), each in a fresh
process: the torch bench's dcgan28 update (gan_jax/bench.py, float32) at batch 64 for one seed,
for 8 seeds with train.seed_layout 'vmap' and 'loop', and for one seed at batch 512 (as many
images a step as the 8 seeds together: the dense bound); 50 updates a timing, median of 2.
Goal of issue 14: 8 seeds take <= 4x one seed's time a step.
"""
from gan_jax import configs
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

GOAL = 4.0


def runs(batch: int, seeds: int, steps: int, narrow: bool, dense: bool, platform: str) -> list:
  """One seed first (the others are timed against it), vmap before loop."""
  cases = [('one_seed', 1, 'loop', batch), (f'{seeds}_seeds_vmap', seeds, 'vmap', batch),
           (f'{seeds}_seeds_loop', seeds, 'loop', batch)]
  cases += [(f'one_seed_batch{seeds * batch}', 1, 'loop', seeds * batch)] if dense else []
  where = {'platform': platform} if platform else {}
  return [Run(name=name, kind='device', labels={'num_seeds': n, 'seed_layout': layout},
              args={'measure': 'update_speed', 'arch': 'dcgan28', 'batch': b, 'num_seeds': n,
                    'seed_layout': layout, 'narrow': narrow, 'steps': steps, 'repeats': 2,
                    **where})
          for name, n, layout, b in cases]


def _fmt(x, unit: str = '') -> str:
  return '—' if x is None else f'{x:.3g}{unit}'


def report(results: spec.Results) -> spec.Page:
  one = results.result(results.runs[0])
  rows, table = {}, []
  for run in results.runs:
    r = results.result(run)
    rate = r and r['steps_per_s']
    times = one['steps_per_s'] / rate if one and rate else None
    rows[run.name] = {'batch': run.args['batch'], 'num_seeds': run.args['num_seeds'],
                      'seed_layout': run.args['seed_layout'], 'steps_per_s': rate,
                      'time_vs_one_seed': times}
    table.append([run.name.replace('_', ' '), run.args['batch'], _fmt(rate), _fmt(times, 'x')])
  headline = '; '.join(f'{k.replace("_", " ")}: {_fmt(v["time_vs_one_seed"], "x")} one seed\'s '
                       'time a step' for k, v in rows.items() if v['num_seeds'] > 1)
  headline += f' (goal <= {GOAL:g}x)'
  lines = ['# Seeds trained together on the accelerator (GPU checks, part c)', '',
           'Made by `scripts/gpu_check.py` (`python -m gan_jax.study '
           'experiments/studies/gpu_seeds.py`); do not edit by hand. The torch bench\'s dcgan28 '
           f'update, float32; updates per second of each seed, median of 2 timings. Goal: '
           f'{max(v["num_seeds"] for v in rows.values())} seeds <= {GOAL:g}x one seed\'s time '
           'a step.', '']
  lines += tables.markdown(['case', 'batch', 'steps/s', 'time a step vs one seed'], table)
  return spec.Page(lines=lines, summary={'rows': rows, 'headline': headline})


def get_study(arg=None) -> Study:
  command = 'python -m gan_jax.study experiments/studies/gpu_seeds.py'
  if arg not in (None, 'runlocal'):
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  if arg == 'runlocal':
    return Study(name='gpu_seeds_runlocal', runs=runs(8, 2, 2, True, False, ''), report=report,
                 command=command + ':runlocal')
  return Study(name='gpu_seeds', runs=runs(64, 8, 50, False, True, 'gpu'), report=report,
               command=command)
