"""Does the accelerator compute what the CPU computes? Part a of the GPU checks (issue 14).

  python -m gan_jax.study experiments/studies/gpu_correctness.py     (a GPU: scripts/gpu_check.py)
  python -m gan_jax.study experiments/studies/gpu_correctness.py:runlocal   (any machine: smoke)

Four runs of kind 'device' (gan_jax/study/kind_device.py, gan_jax/device_check.py), each in a
fresh process, on the torch bench's dcgan28 update at batch 64 (gan_jax/bench.py): one update on
the GPU against the same update on the CPU (every state leaf); a 5-update run twice, without and
with XLA's deterministic-ops flag; a checkpoint of the GPU state restored into a CPU-placed state.
The full study refuses a machine whose JAX backend is not a GPU; `:runlocal` (narrow models,
batch 8, any backend) is the smoke test, where the device is the CPU and nothing may differ.
"""
from gan_jax import configs
from gan_jax.study import Run, Study, spec

DETERMINISTIC = '--xla_gpu_deterministic_ops=true'
TOLERANCE = 1e-2  # max |diff| / leaf max between GPU and CPU after one update (TF32 matmuls).


def runs(batch: int, steps: int, narrow: bool, platform: str) -> list:
  base = {'arch': 'dcgan28', 'batch': batch, 'narrow': narrow}
  base = {**base, 'platform': platform} if platform else base
  return [
      Run(name='update_vs_cpu', kind='device',
          args={**base, 'measure': 'update_vs_cpu', 'tol': TOLERANCE}),
      Run(name='run_twice', kind='device', args={**base, 'measure': 'run_twice', 'steps': steps}),
      Run(name='run_twice_deterministic', kind='device',
          args={**base, 'measure': 'run_twice', 'steps': steps, 'xla_flags': DETERMINISTIC}),
      Run(name='checkpoint_to_cpu', kind='device', args={**base, 'measure': 'checkpoint_to_cpu'})]


def _fmt(x) -> str:
  return f'{x:.3g}'


def _update_lines(one: dict) -> list:
  out = []
  for precision in ('default', 'highest'):
    if precision in one:
      r = one[precision]
      out.append(f'- One dcgan28 update, {one["device"]} against {one["cpu"]}, matmul precision '
                 f'{precision}: max |diff| {_fmt(r["max_abs"])}, max |diff| / leaf max '
                 f'{_fmt(r["max_scaled"])} (worst leaf `{r["worst_leaf"]}`; tolerance '
                 f'{one["tolerance_scaled"]}): '
                 f'{"within" if r["within_tolerance"] else "OUTSIDE"}.')
  return out


def report(results: spec.Results) -> spec.Page:
  r = {run.name: results.result(run) for run in results.runs}
  lines = ['# The accelerator against the CPU (GPU checks, part a)', '',
           'Made by `scripts/gpu_check.py` (`python -m gan_jax.study '
           'experiments/studies/gpu_correctness.py`); do not edit by hand. The torch bench\'s '
           'dcgan28 update (gan_jax/bench.py), each check in a fresh process '
           '(gan_jax/device_check.py).', '']
  if r['update_vs_cpu']:
    lines += _update_lines(r['update_vs_cpu'])
  for name, what in (('run_twice', 'without'), ('run_twice_deterministic', 'with')):
    if r[name]:
      t = r[name]
      lines.append(f'- A short run ({t["steps"]} updates) twice, {what} `{DETERMINISTIC}`: '
                   f'{"bit-identical" if t["bit_identical"] else "they differ"} (max |diff| '
                   f'{_fmt(t["max_abs"])}, scaled {_fmt(t["max_scaled"])}).')
  if r['checkpoint_to_cpu']:
    c = r['checkpoint_to_cpu']
    lines.append(f'- A checkpoint saved from {c["saved_on"]}, restored into a state placed on '
                 f'{", ".join(c["restored_on"])}: {"equal" if c["equal"] else "NOT equal"} '
                 f'(max |diff| {_fmt(c["max_abs"])}).')
  missing = [name for name, v in r.items() if v is None]
  lines += [f'- Not run yet: {", ".join(missing)}.'] if missing else []
  summary = {'update_within_tolerance': (r['update_vs_cpu'] or {}).get('within_tolerance'),
             'run_twice_bit_identical': (r['run_twice'] or {}).get('bit_identical'),
             'deterministic_bit_identical': (r['run_twice_deterministic'] or {}).get(
                 'bit_identical'),
             'checkpoint_equal': (r['checkpoint_to_cpu'] or {}).get('equal')}
  held = [k for k, v in summary.items() if v]
  failed = [k for k, v in summary.items() if v is False]
  summary['headline'] = f'{len(held)} of {len(summary)} checks hold' + (
      f'; failed: {", ".join(failed)}' if failed else '') + (
      f'; not run: {", ".join(missing)}' if missing else '')
  return spec.Page(lines=lines, summary=summary)


def get_study(arg=None) -> Study:
  command = 'python -m gan_jax.study experiments/studies/gpu_correctness.py'
  if arg not in (None, 'runlocal'):
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  if arg == 'runlocal':
    return Study(name='gpu_correctness_runlocal', runs=runs(8, 3, True, ''), report=report,
                 command=command + ':runlocal')
  return Study(name='gpu_correctness', runs=runs(64, 5, False, 'gpu'), report=report,
               command=command)
