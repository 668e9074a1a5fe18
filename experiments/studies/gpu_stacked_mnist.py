"""Stacked MNIST (1,000 modes) at PacGAN's length on the accelerator: DCGAN against PacDCGAN2.
Part e of the GPU checks (issue 14).

  python -m gan_jax.study experiments/studies/gpu_stacked_mnist.py   (a GPU: scripts/gpu_check.py)
  python -m gan_jax.study experiments/studies/gpu_stacked_mnist.py:short     (10,000 steps)
  python -m gan_jax.study experiments/studies/gpu_stacked_mnist.py:runlocal  (the smoke test)

experiments/stacked_mnist.py (PacGAN's VEEGAN setting, batch 64, 100,000 steps; its differences
from the paper are in its docstring), model.pack 1 (DCGAN) and 2 (PacDCGAN2: data.batch_size
128), one seed each, 10 updates a call, evaluated at the end on 26,000 samples (each channel
labelled by the mnist classifier): modes captured of 1,000 and KL(mode histogram || uniform).
"""
from gan_jax import configs
from gan_jax.study import Run, Study, spec

# Meant as Lin et al. (2018), Table 2 (Stacked MNIST in VEEGAN's setting, mean of 10 runs): modes
# of 1,000 and KL. UNVERIFIED: written from memory, not checked against the paper's text (no copy
# reachable here); the page says so until someone checks them.
PAPER_VERIFIED = False
PAPER = {1: (99.0, 3.40), 2: (1000.0, 0.068)}
VARIANTS = {  # arg: (name suffix, steps, updates a call, batch, config arg, packs)
    None: ('', 100_000, 10, 64, '', (1, 2)),
    'short': ('_short', 10_000, 10, 64, '', (1, 2)),
    'runlocal': ('_runlocal', 8, 2, 8, ':runlocal', (2,))}


def runs(steps: int, k: int, batch: int, arg: str, packs: tuple) -> list:
  return [Run(name=f'stacked_mnist_pack{pack}', config=f'experiments/stacked_mnist.py{arg}',
              seed=0, labels={'pack': pack},
              overrides={'model.pack': pack, 'data.batch_size': batch * pack,
                         'train.steps_per_call': k, 'train.num_steps': steps,
                         'train.eval_every': 0, 'train.log_every': max(k, steps // 20),
                         'train.sample_every': steps, 'train.ckpt_every': max(k, steps // 10)})
          for pack in packs]


def _fmt(x, digits: str) -> str:
  return '—' if x is None else format(x, digits)


def report(results: spec.Results) -> spec.Page:
  rows, summary = [], {}
  for run in results.runs:
    pack, r = run.labels['pack'], results.result(run)
    m = r['metrics'] if r else {}
    summary[run.name] = {'modes_captured': m.get('modes_captured'),
                         'kl_to_uniform': m.get('kl_to_uniform'),
                         'step': r and r['step'], 'seconds': r and r['seconds']}
    rows.append(f'| {"DCGAN" if pack == 1 else f"PacDCGAN{pack}"} | '
                f'{_fmt(r and r["step"], ",")} | {_fmt(m.get("modes_captured"), ".0f")} | '
                f'{PAPER[pack][0]} | {_fmt(m.get("kl_to_uniform"), ".3f")} | {PAPER[pack][1]} | '
                f'{_fmt(r and r["seconds"], ".0f")} |')
  lines = ['# Stacked MNIST at length on the accelerator (GPU checks, part e)', '',
           'Made by `scripts/gpu_check.py` (`python -m gan_jax.study '
           'experiments/studies/gpu_stacked_mnist.py`); do not edit by hand. '
           'experiments/stacked_mnist.py (PacDCGAN2: `model.pack=2`, twice the batch), one seed; '
           'paper: Lin et al. (2018), Table 2 (VEEGAN\'s setting), 10 runs' + (
               '.' if PAPER_VERIFIED else ' (paper values UNVERIFIED: check them against the '
               'paper before quoting).'), '',
           '| D | steps | modes of 1,000 | (paper) | KL | (paper) | training s |',
           '|---|---|---|---|---|---|---|'] + rows
  summary['headline'] = '; '.join(f'{k}: {_fmt(v["modes_captured"], ".0f")} modes of 1,000'
                                  for k, v in summary.items())
  return spec.Page(lines=lines, summary=summary)


def get_study(arg=None) -> Study:
  if arg not in VARIANTS:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: short, runlocal.')
  suffix, steps, k, batch, config_arg, packs = VARIANTS[arg]
  return Study(name='gpu_stacked_mnist' + suffix, runs=runs(steps, k, batch, config_arg, packs),
               report=report, command='python -m gan_jax.study '
               'experiments/studies/gpu_stacked_mnist.py' + (f':{arg}' if arg else ''))
