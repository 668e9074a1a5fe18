"""Mode collapse at PacGAN's length on the accelerator: ring8 and grid25, GAN against PacGAN2,
beside PacGAN's Table 1. Part d of the GPU checks (issue 14).

  python -m gan_jax.study experiments/studies/gpu_pacgan.py        (on a GPU: scripts/gpu_check.py)
  python -m gan_jax.study experiments/studies/gpu_pacgan.py:short  (40,000 steps: a short loan)
  python -m gan_jax.study experiments/studies/gpu_pacgan.py:runlocal   (any machine: smoke test)

The 2-D half of experiments/studies/pacgan.py (which trains 10,000 steps on the CPU) at the
paper's 400,000 steps: experiments/ring8.py and grid25.py, model.pack 1 (GAN) and 2 (PacGAN2,
data.batch_size 200), 5 seeds trained together in one run (num_seeds 5, train.seed_layout
'vmap': batched matrix products), 20 updates a call, evaluated once at the end by mode coverage
(2,500 samples, gan_jax/evaluators/). Paper: Lin et al. (2018), Table 1, mean of 10 runs.
"""
import os

from gan_jax import configs
from gan_jax.reports import stats
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

# Lin et al. (2018), Table 1 (modes, % high quality, KL), as experiments/studies/pacgan.py has it.
PACGAN = configs.load_module(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pacgan.py'))
VARIANTS = {  # arg: (name suffix, steps, seeds, updates a call, batch, config arg, (data, pack))
    None: ('', 400_000, 5, 20, 100, '', tuple(PACGAN.PAPER)),
    'short': ('_short', 40_000, 5, 20, 100, '', tuple(PACGAN.PAPER)),
    'runlocal': ('_runlocal', 16, 2, 2, 8, ':runlocal', (('ring8', 1), ('grid25', 2)))}


def runs(steps: int, seeds: int, k: int, batch: int, arg: str, which: tuple) -> list:
  return [Run(name=f'{data}_pack{pack}', config=f'experiments/{data}.py{arg}', seed=0,
              labels={'data': data, 'pack': pack},
              overrides={'model.pack': pack, 'data.batch_size': batch * pack,
                         'num_seeds': seeds, 'train.seed_layout': 'vmap',
                         'train.steps_per_call': k, 'train.num_steps': steps,
                         'train.eval_every': 0, 'train.log_every': max(k, steps // 20),
                         'train.sample_every': steps, 'train.ckpt_every': max(k, steps // 10)})
          for data, pack in which]


def per_seed(result: dict) -> dict:
  """{seed: numbers} of a run of one or several seeds."""
  return result['seeds'] if 'seeds' in result else {'0': result['metrics']}


def _kl(v) -> str:
  return '—' if v is None else f'{v:.2f}'


def report(results: spec.Results) -> spec.Page:
  rows, per_run, summary = [], [], {}
  for run in results.runs:
    data, pack = run.labels['data'], run.labels['pack']
    paper, r = PACGAN.PAPER[(data, pack)], results.result(run)
    seeds = per_seed(r) if r else {}
    st = {k: stats.mean_std([m[k] for m in seeds.values()]) for k in PACGAN.METRICS}
    summary[run.name] = {k: {'mean': v[0], 'std': v[1], 'count': v[2]} for k, v in st.items()}
    rows.append([data, 'GAN' if pack == 1 else f'PacGAN{pack}', len(seeds),
                 f'{r["step"]:,}' if r else '—', stats.fmt(*st['modes_captured'][:2]), paper[0],
                 stats.fmt(*st['high_quality_percent'][:2]), paper[1],
                 stats.fmt(*st['kl_to_uniform'][:2], 2), paper[2]])
    if r:
      per_run.append(f'- {run.name} ({r["seconds"] or "—"} s training): ' + '; '.join(
          f'{s}: {m["modes_captured"]} / {m["high_quality_percent"]:.1f} / '
          f'{_kl(m["kl_to_uniform"])}' for s, m in seeds.items()))
  lines = ['# Mode collapse at length on the accelerator: GAN vs PacGAN2 (GPU checks, part d)',
           '', 'Made by `scripts/gpu_check.py` (`python -m gan_jax.study '
           'experiments/studies/gpu_pacgan.py`); do not edit by hand. experiments/ring8.py and '
           'grid25.py (PacGAN2: `model.pack=2`, twice the batch), the seeds of a run trained '
           'together; mean ± sample std over seeds; paper: Lin et al. (2018), Table 1, mean of '
           '10 runs of 400,000 steps.', '']
  lines += tables.markdown(['data', 'D', 'seeds', 'steps', 'modes', '(paper)', '% high quality',
                            '(paper)', 'KL', '(paper)'], rows)
  lines += ['', 'Per seed (modes / % high quality / KL):', ''] + per_run
  summary['headline'] = '; '.join(
      f'{k}: {stats.fmt(v["modes_captured"]["mean"], v["modes_captured"]["std"])} modes'
      for k, v in summary.items())
  return spec.Page(lines=lines, summary=summary)


def get_study(arg=None) -> Study:
  if arg not in VARIANTS:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: short, runlocal.')
  suffix, steps, seeds, k, batch, config_arg, which = VARIANTS[arg]
  return Study(name='gpu_pacgan' + suffix, runs=runs(steps, seeds, k, batch, config_arg, which),
               report=report, command='python -m gan_jax.study experiments/studies/gpu_pacgan.py'
               + (f':{arg}' if arg else ''))
