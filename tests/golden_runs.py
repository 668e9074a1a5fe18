"""The golden runs: short runs whose every logged number is pinned (tests/golden/golden.json).

Recorded by `make golden` (`python -m scripts.record_golden`); tests/test_golden.py reruns them and
compares every metrics.jsonl value and eval.json, so any change to the numerics (random-stream
tags, update order, the seed and step axes, the evaluation protocol) fails it. `steps_per_s` (a
timing) is the only value left out.

golden.json records the machine class it was made on (`machine_class`: the CPU's vendor, family,
model and the instruction-set extensions XLA:CPU compiles for, or the GPU, and the jax / jaxlib
versions). On that class every value must be equal exactly. On another class XLA compiles other
instructions (another vector width, fused multiply-adds) and float32 results differ in the last
bits, so each number is compared within `RTOL` / `ATOL` instead (`compare` says which standard it
applied); `make golden` records a machine's own exact values.

Each run is an experiment file, its config argument and overrides, and how many CPU devices the
process has: runs with more than one device run in a subprocess of `python -m gan_jax.main`.
"""
import json
import math
import os
import platform
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_PATH = os.path.join(REPO, 'tests', 'golden', 'golden.json')

# experiments/dcgan_mnist.py's recipe before issue 16 changed the default (the fields its
# `:runlocal` keeps; widths and cadences are runlocal's own): the golden runs stay those runs.
DCGAN_MNIST_BEFORE_ISSUE_16 = {
    'model.conditional': False, 'optim.g_lr': 2e-4, 'optim.d_lr': 2e-4,
    'loss.name': 'minimax', 'optim.ema_decay': 0.0, 'optim.ema_start': 0,
    'augment.policy': '', 'eval.bn_stats': 'running'}
_OLD = DCGAN_MNIST_BEFORE_ISSUE_16
# experiments/ring8.py before issue 16 gave it PacGAN's N(0, 0.02) initial weights.
RING8_BEFORE_ISSUE_16 = {'model.init_std': 0.0}

RUNS = {
    'dcgan_mnist': ('dcgan_mnist', 'runlocal', {**_OLD}, 1),
    'ring8': ('ring8', 'runlocal', {**RING8_BEFORE_ISSUE_16}, 1),
    'conditional_acgan': ('dcgan_mnist', 'runlocal', {
        **_OLD, 'model.conditional': True, 'model.d_conditioning': 'acgan'}, 1),
    'two_seeds_two_steps_per_call': ('dcgan_mnist', 'runlocal', {
        **_OLD, 'num_seeds': 2, 'train.steps_per_call': 2}, 1),
    'wgan_gp_ema_diffaugment': ('dcgan_mnist', 'runlocal', {
        **_OLD, 'loss.name': 'wasserstein', 'loss.penalties.gradient_penalty': 10.0,
        'optim.n_critic': 2, 'optim.ema_decay': 0.9, 'optim.ema_start': 1,
        'augment.policy': 'color,translation,cutout'}, 1),
    'eight_devices': ('dcgan_mnist', 'runlocal', {**_OLD}, 8),
}
TIMING_KEYS = ('steps_per_s',)

# Off the recording machine class: |got - want| <= ATOL + RTOL * |want| for every number.
# Measured (docs/reproducibility.md, scripts/reproducibility.py): the same code and packages
# compiled for AVX2 or SSE4.2 instead of the recording CPU's AVX-512 moved the golden values by at
# most a relative 1.4e-6 (evaluation numbers included), and the golden.json recorded before issue
# 27 on another machine differed from this one's by at most 1.2e-7 where the numerics did not
# change; a renumbered random stream (another seed) moves them by far more than RTOL.
RTOL = 1e-4
ATOL = 1e-6
# /proc/cpuinfo flags that change what XLA:CPU's compiler emits (vector width, FMA, dot kernels).
ISA_FLAGS = ('sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512dq', 'avx512bw',
             'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'avx_vnni', 'amx_bf16',
             'amx_tile', 'amx_int8')


def _cpuinfo() -> dict:
  """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
  try:
    with open('/proc/cpuinfo') as f:
      block = f.read().split('\n\n')[0]
  except OSError:
    return {}
  return {k.strip(): v.strip() for k, _, v in (line.partition(':') for line in
                                               block.splitlines())}


def machine_class() -> dict:
  """What the float results of a run depend on besides the code: the backend's device (the CPU's
  vendor, family, model and ISA extensions, or the GPU's kind) and the jax / jaxlib versions."""
  import jax
  import jaxlib
  device = jax.devices()[0]
  out = {'platform': device.platform, 'jax': jax.__version__, 'jaxlib': jaxlib.__version__}
  if device.platform != 'cpu':
    return {**out, 'device_kind': device.device_kind}
  info = _cpuinfo()
  flags = set(info.get('flags', '').split())
  return {**out, 'cpu_vendor': info.get('vendor_id', platform.processor()),
          'cpu_family': info.get('cpu family', ''), 'cpu_model': info.get('model', ''),
          'cpu_model_name': info.get('model name', ''), 'machine': platform.machine(),
          'isa': sorted(flags.intersection(ISA_FLAGS)),
          'xla_cpu_max_isa': _max_isa()}


def _max_isa() -> str:
  """XLA_FLAGS' --xla_cpu_max_isa (a cap on the ISA XLA:CPU compiles for), '' when unset."""
  for part in os.environ.get('XLA_FLAGS', '').split():
    if part.lstrip('-').startswith('xla_cpu_max_isa='):
      return part.split('=', 1)[1]
  return ''


def same_class(a: dict, b: dict) -> bool:
  """Whether two machine classes compile to the same float results (the model name aside)."""
  drop = lambda m: {k: v for k, v in m.items() if k != 'cpu_model_name'}
  return drop(a) == drop(b)


def differences(got, want, exact: bool, where: str = '') -> list:
  """Where `got` differs from `want`: exactly, or numbers within ATOL + RTOL |want|."""
  if isinstance(want, dict) and isinstance(got, dict):
    if sorted(got) != sorted(want):
      return [f'{where}: keys {sorted(got)} != {sorted(want)}']
    return [d for k in sorted(want) for d in differences(got[k], want[k], exact, f'{where}.{k}')]
  if isinstance(want, list) and isinstance(got, list):
    if len(got) != len(want):
      return [f'{where}: {len(got)} entries != {len(want)}']
    return [d for i, (g, w) in enumerate(zip(got, want))
            for d in differences(g, w, exact, f'{where}[{i}]')]
  numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (got, want))
  if exact or not numbers or not all(map(math.isfinite, (got, want))):
    return [] if got == want else [f'{where}: {got!r} != {want!r}']
  return ([] if abs(got - want) <= ATOL + RTOL * abs(want) else
          [f'{where}: {got!r} != {want!r} (relative {abs(got - want) / max(abs(want), 1e-30):.2e}'
           f' > RTOL {RTOL:g})'])


def compare(got: dict, want: dict, recorded_on: dict, here: dict) -> tuple:
  """(standard, differences) of a run's outputs against its golden outputs `want`: 'exact' on
  the machine class `recorded_on`, else within RTOL / ATOL, saying so."""
  if same_class(here, recorded_on):
    return 'exact (this machine class recorded golden.json)', differences(got, want, True)
  name = recorded_on.get('cpu_model_name') or recorded_on.get('device_kind', '?')
  return (f'within rtol {RTOL:g} / atol {ATOL:g} (golden.json was recorded on another machine '
          f'class: {name}, ISA {recorded_on.get("isa")})', differences(got, want, False))


def max_relative(got, want) -> float:
  """The largest |got - want| / |want| over every number of two outputs of the same shape."""
  if isinstance(want, dict):
    return max([max_relative(got[k], want[k]) for k in want] or [0.0])
  if isinstance(want, list):
    return max([max_relative(g, w) for g, w in zip(got, want)] or [0.0])
  if isinstance(want, (int, float)) and not isinstance(want, bool) and math.isfinite(want):
    return abs(got - want) / max(abs(want), 1e-30)
  return 0.0


def load() -> dict:
  """golden.json: {'machine': machine_class() of the recording, 'runs': {name: outputs}}."""
  with open(GOLDEN_PATH) as f:
    return json.load(f)


def _flag(key, value):
  if isinstance(value, str):
    return f'--config.{key}={value}'
  return f'--config.{key}={json.dumps(value)}'


def outputs(workdir: str) -> dict:
  """Every logged number of a finished run: metrics.jsonl (timings dropped) and eval.json."""
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    records = [json.loads(line) for line in f if line.strip()]
  with open(os.path.join(workdir, 'eval.json')) as f:
    eval_json = json.load(f)
  return {'metrics': [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in records],
          'eval': eval_json}


def run(name: str, workdir: str, extra: dict = None) -> dict:
  """Trains golden run `name` (with `extra` overrides, if any) into `workdir` (must not exist
  yet) and returns its outputs."""
  experiment, arg, overrides, devices = RUNS[name]
  overrides = {**overrides, **(extra or {})}
  path = os.path.join(REPO, 'experiments', experiment + '.py')
  if devices == 1:
    from gan_jax import configs
    from gan_jax import train
    config = configs.load_experiment(path, arg)
    for key, value in overrides.items():
      node = config
      *parents, leaf = key.split('.')
      for p in parents:
        node = node[p]
      node[leaf] = value
    train.train_and_evaluate(config, workdir)
  else:
    env = dict(os.environ, JAX_PLATFORMS='cpu',
               XLA_FLAGS=(os.environ.get('XLA_FLAGS', '') +
                          f' --xla_force_host_platform_device_count={devices}').strip())
    cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={path}:{arg}', f'--workdir={workdir}',
           *[_flag(k, v) for k, v in overrides.items()]]
    subprocess.run(cmd, check=True, cwd=REPO, env=env, capture_output=True)
  return outputs(workdir)


def run_all(names=None) -> dict:
  with tempfile.TemporaryDirectory() as tmp:
    return {n: run(n, os.path.join(tmp, n)) for n in (names or RUNS)}
