"""gan_jax's update against torch eager on the accelerator. Part b of the GPU checks (issue 14).

  python -m gan_jax.study experiments/studies/gpu_speed.py        (on a GPU: scripts/gpu_check.py)
  python -m gan_jax.study experiments/studies/gpu_speed.py:runlocal   (any machine: the smoke test)

Runs of kind 'device' (gan_jax/study/kind_device.py), each in a fresh process: the torch bench's
update (gan_jax/bench.py: the function training runs, jitted, state donated, compiled ahead of
time) for dcgan28 at batch 64 and sngan_cnn32 at batch 256, float32 and bfloat16, 100 updates a
timing, median of 3; ../shared/bench/torch_reference.py (torch eager, float32, CUDA; the copy in
.gpu_wheels/ on a lent machine) at the same sizes; the chip's bf16 matmul rate (8192^3). The
update's FLOPs are XLA's cost analysis of one call. Goals of issue 14: >= 5x torch eager on
dcgan28/64, >= 3x on sngan_cnn32/256, a bf16 update at >= 40% of the bf16 matmul rate.
"""
from gan_jax import configs
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

GOALS = {'dcgan28': 5.0, 'sngan_cnn32': 3.0}  # x torch eager (float32).
BF16_FRACTION_GOAL = 0.40
FULL = dict(archs=(('dcgan28', 64), ('sngan_cnn32', 256)), steps=100, repeats=3, warmup=10,
            n=8192, reps=30, narrow=False, device='cuda', platform='gpu')
RUNLOCAL = dict(archs=(('dcgan28', 8),), steps=2, repeats=1, warmup=1, n=256, reps=3,
                narrow=True, device='cpu', platform='')


def runs(archs, steps, repeats, warmup, n, reps, narrow, device, platform) -> list:
  where = {'platform': platform} if platform else {}
  out = [Run(name='matmul_bf16', kind='device',
             args={'measure': 'matmul', 'n': n, 'reps': reps, **where})]
  for arch, batch in archs:
    for dtype in ('float32', 'bfloat16'):
      out.append(Run(name=f'{arch}_{batch}/gan_jax_{dtype}', kind='device',
                     labels={'arch': arch, 'batch': batch, 'impl': 'gan_jax', 'dtype': dtype},
                     args={'measure': 'update_speed', 'arch': arch, 'batch': batch,
                           'dtype': dtype, 'narrow': narrow, 'steps': steps,
                           'repeats': repeats, **where}))
    out.append(Run(name=f'{arch}_{batch}/torch', kind='device',
                   labels={'arch': arch, 'batch': batch, 'impl': 'torch', 'dtype': 'float32'},
                   args={'measure': 'torch_speed', 'arch': arch, 'batch': batch, 'steps': steps,
                         'repeats': repeats, 'warmup': warmup, 'device': device, **where}))
  return out


def _fmt(x, spec_='.3g') -> str:
  return '—' if x is None else format(x, spec_)


def row(results: spec.Results, arch: str, batch: int, dtype: str, peak) -> dict:
  """One table row's numbers: rates, ratio to torch float32, FLOPs and the matmul fraction."""
  mine = next((results.result(r) for r in results.select(arch=arch, batch=batch, dtype=dtype,
                                                           impl='gan_jax')), None)
  torch = next((results.result(r) for r in results.select(arch=arch, batch=batch,
                                                           impl='torch')), None)
  j, t = (mine or {}).get('steps_per_s'), (torch or {}).get('steps_per_s')
  flops = mine and (mine['flops']['compiled'] or mine['flops']['unoptimized'])
  achieved = flops * j if flops and j else None
  return {'gan_jax_steps_per_s': j, 'torch_steps_per_s': t, 'ratio': j / t if j and t else None,
          'goal': GOALS.get(arch), 'flops_per_step': flops, 'achieved_flop_per_s': achieved,
          'fraction_of_bf16_matmul': achieved / peak if achieved and peak else None,
          'torch': (torch or {}).get('torch')}


def report(results: spec.Results) -> spec.Page:
  matmul = results.result(results.runs[0])
  peak = matmul and matmul['flop_per_s']
  pairs = sorted({(r.labels['arch'], r.labels['batch']) for r in results.runs[1:]},
                 key=lambda p: list(GOALS).index(p[0]))
  rows, table = {}, []
  for arch, batch in pairs:
    for dtype in ('float32', 'bfloat16'):
      x = rows[f'{arch}/{batch}/{dtype}'] = row(results, arch, batch, dtype, peak)
      met = None if x['ratio'] is None else x['ratio'] >= x['goal']
      table.append([arch, batch, dtype, _fmt(x['gan_jax_steps_per_s']),
                    _fmt(x['torch_steps_per_s']), _fmt(x['ratio']), f'{x["goal"]:g}x',
                    {None: '—', True: 'yes', False: 'no'}[met],
                    _fmt(x['flops_per_step'] and x['flops_per_step'] / 1e9),
                    _fmt(x['achieved_flop_per_s'] and x['achieved_flop_per_s'] / 1e12),
                    _fmt(x['fraction_of_bf16_matmul'] and 100 * x['fraction_of_bf16_matmul'],
                         '.1f') + '%'])
  lines = ['# Speed beside torch eager on the accelerator (GPU checks, part b)', '',
           'Made by `scripts/gpu_check.py` (`python -m gan_jax.study '
           'experiments/studies/gpu_speed.py`); do not edit by hand. Updates per second (one D '
           'and one G update), medians of repeated timings, each implementation in a fresh '
           'process; the ratio is to torch eager in float32.', '',
           f'bf16 matmul ({_fmt(matmul and matmul["n"])}^3): '
           f'{_fmt(peak and peak / 1e12)} TFLOP/s. Goals: ratio >= 5 (dcgan28/64), >= 3 '
           f'(sngan_cnn32/256); bf16 update >= {BF16_FRACTION_GOAL:.0%} of the matmul rate.', '']
  lines += tables.markdown(['arch', 'batch', 'dtype', 'gan_jax steps/s', 'torch steps/s',
                            'ratio', 'goal', 'goal met', 'GFLOP/step', 'TFLOP/s',
                            'of bf16 matmul'], table)
  return spec.Page(lines=lines, summary={'rows': rows, 'headline': headline(rows)})


def headline(rows: dict) -> str:
  parts = [f'{k.rsplit("/", 1)[0]} {_fmt(r["ratio"])}x torch (goal {r["goal"]:g}x)'
           for k, r in rows.items() if k.endswith('float32')]
  bf16 = [r['fraction_of_bf16_matmul'] for k, r in rows.items()
          if k.endswith('bfloat16') and r['fraction_of_bf16_matmul'] is not None]
  best = f'{100 * max(bf16):.1f}%' if bf16 else '—'
  return '; '.join(parts + [f'best bf16 update at {best} of the bf16 matmul rate (goal '
                            f'{BF16_FRACTION_GOAL:.0%})'])


def get_study(arg=None) -> Study:
  command = 'python -m gan_jax.study experiments/studies/gpu_speed.py'
  if arg not in (None, 'runlocal'):
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  if arg == 'runlocal':
    return Study(name='gpu_speed_runlocal', runs=runs(**RUNLOCAL), report=report,
                 command=command + ':runlocal')
  return Study(name='gpu_speed', runs=runs(**FULL), report=report, command=command)
