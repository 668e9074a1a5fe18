"""Every GPU check and timing of issue 14 in one call: writes docs/gpu.md and docs/gpu.json.

On the GPU machine (no package registry there; `make gpu-wheels` fills .gpu_wheels/ here first):

  pip install --no-index --find-links .gpu_wheels ml_collections tensorboardX; \
  pip install --no-index --no-deps --find-links .gpu_wheels mlxtend; \
  python scripts/gpu_check.py

(or `make gpu-check GPU_PYTHON=python`); .gpu_wheels/ must travel with the working tree, and
`--out "$OUT"` writes gpu.md and gpu.json where a lent machine returns files from (then copy
them into docs/). If pip cannot install the wheels, the script unpacks the ones it needs from
.gpu_wheels/ onto its own path. Here, on the CPU, in a minute or two (less once JAX's
compilation cache is warm):

  .venv/bin/python scripts/gpu_check.py --smoke [--out DIR]    (default: a temporary folder)

Parts, in order of value; docs/gpu.{md,json} are rewritten after each, so a run cut off keeps the
parts already done (`--parts bd` reruns some; the others' numbers stay in gpu.json):
  a  correctness: one dcgan28 update on the default device against the same update on the CPU
     (every state leaf); a short run twice, without and (in a subprocess) with XLA's
     deterministic-ops flag: bit-identical, or how far apart; a checkpoint of the device state
     (gan_jax.checkpoint) restored into a CPU-placed state.
  b  speed beside torch: gan_jax's real update (Experiment.update_fn, jitted, state donated: as
     scripts/bench_torch.py) against ../shared/bench/torch_reference.py in a subprocess,
     alternating; dcgan28 at batch 64 and sngan_cnn32 at batch 256, float32 and bfloat16; the
     chip's bf16 matmul rate and the update's FLOP/s (XLA's cost analysis) as a fraction of it.
  c  seeds: 8 seeds at batch 64 against one seed, train.seed_layout 'loop' and 'vmap'.
  d  science: ring8 and grid25, GAN and PacGAN2, 5 seeds together, up to 400k steps, through
     gan_jax.train.train_and_evaluate, beside PacGAN's Table 1; then Stacked MNIST, DCGAN and
     PacDCGAN2, for whatever time is left. Each run's length is fitted to its share of the time
     (from its update's measured rate), and the table states it.
Each part has a time budget (--budget, --part_budgets) and stops early, saying how far it got.
Goals (issue 14): >= 5x torch eager on dcgan28/64, >= 3x on sngan_cnn32/256, bf16 update >= 40%
of the bf16 matmul rate, 8 seeds <= 4x one seed's time.
"""
import argparse
import contextlib
import dataclasses
import datetime
import glob
import importlib.util
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
WHEELS = os.path.join(REPO, '.gpu_wheels')
# Module -> its wheel's file-name prefix in .gpu_wheels (scripts/gpu_wheels.sh).
WHEEL_MODULES = {'absl': 'absl_py-', 'packaging': 'packaging-', 'ml_collections': 'ml_collections-',
                 'tensorboardX': 'tensorboardx-', 'mlxtend': 'mlxtend-'}


def wheels_on_path() -> list:
  """Unpacks the .gpu_wheels wheel of every module in WHEEL_MODULES that cannot be imported into
  .gpu_wheels/site and puts that on sys.path; returns the modules it supplied."""
  missing = [m for m in WHEEL_MODULES if importlib.util.find_spec(m) is None]
  site = os.path.join(WHEELS, 'site')
  supplied = []
  for module in missing:
    found = sorted(glob.glob(os.path.join(WHEELS, WHEEL_MODULES[module] + '*.whl')))
    if found:
      zipfile.ZipFile(found[-1]).extractall(site)
      supplied.append(module)
  if supplied:
    sys.path.insert(0, site)
  return supplied


SUPPLIED_FROM_WHEELS = wheels_on_path()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jaxlib  # noqa: E402
import numpy as np  # noqa: E402

from gan_jax import checkpoint as checkpoint_lib  # noqa: E402
from gan_jax import cli  # noqa: E402
from gan_jax import configs  # noqa: E402
from gan_jax import parallel  # noqa: E402
from gan_jax import train as train_lib  # noqa: E402
from gan_jax import writers  # noqa: E402
from gan_jax.data import offline  # noqa: E402
from gan_jax.experiment import Experiment  # noqa: E402
from scripts import bench_torch  # noqa: E402
from scripts import pacgan_table  # noqa: E402

EXPERIMENTS = os.path.join(REPO, 'experiments')
SPEED_GOALS = {'dcgan28': 5.0, 'sngan_cnn32': 3.0}  # x torch eager, float32 reference.
BF16_FRACTION_GOAL = 0.40
SEEDS_GOAL = 4.0
DETERMINISTIC_FLAG = '--xla_gpu_deterministic_ops=true'
# Meant as Lin et al. (2018), Table 2 (Stacked MNIST in VEEGAN's setting, mean of 10 runs): modes
# of 1,000 and KL(mode histogram || uniform). UNVERIFIED: written from memory, not checked against
# the paper's text (no copy reachable here); the table says so until someone checks them.
STACKED_PAPER_VERIFIED = False
STACKED_PAPER = {1: (99.0, 3.40), 2: (1000.0, 0.068)}
PARTS = {'a': 'correctness', 'b': 'speed', 'c': 'seeds', 'd': 'science'}


@dataclasses.dataclass(frozen=True)
class Sizes:
  """Every size of the checks: the real ones (GPU) or --smoke's (a few seconds per part)."""
  narrow: bool = False  # configs.runlocal's narrow models and small eval sample counts.
  correct_batch: int = 64
  short_run_steps: int = 5
  speed_archs: tuple = (('dcgan28', 64), ('sngan_cnn32', 256))
  speed_steps: int = 100
  speed_repeats: int = 3
  torch_steps: int = 100
  torch_warmup: int = 10
  matmul_n: int = 8192
  matmul_reps: int = 30
  seeds_batch: int = 64
  seeds: int = 8
  seeds_steps: int = 50
  seeds_dense_row: bool = True  # Also one seed at seeds x the batch (the dense bound).
  science_seeds: int = 5
  science_steps: int = 400_000
  science_k: int = 20  # train.steps_per_call of the 2-D runs (each call compiles k updates).
  rate_calls: int = 20  # Calls timed to fit a run's length to its time.
  stacked_steps: int = 100_000  # PacGAN's length; capped by the time left.
  stacked_k: int = 10
  science_runs: tuple = (('ring8', 1), ('ring8', 2), ('grid25', 1), ('grid25', 2),
                         ('stacked_mnist', 1), ('stacked_mnist', 2))  # (experiment, pack)
  run_reserve_s: float = 10.0  # A run's start-up, evaluation, pictures and checkpoint.
  budget_s: float = 480.0
  part_budgets: tuple = (('a', 60.0), ('b', 140.0), ('c', 80.0))  # d: the rest.


FULL = Sizes()
SMOKE = Sizes(narrow=True, correct_batch=8, short_run_steps=3,
              speed_archs=(('dcgan28', 8),), speed_steps=2, speed_repeats=1,
              torch_steps=2, torch_warmup=1, matmul_n=256, matmul_reps=3, seeds_batch=8, seeds=2,
              seeds_steps=2, seeds_dense_row=False, science_seeds=2, science_steps=16, science_k=2,
              rate_calls=2, stacked_steps=8, stacked_k=2, run_reserve_s=0.0,
              science_runs=(('ring8', 1), ('grid25', 2), ('stacked_mnist', 2)),
              budget_s=600.0, part_budgets=(('a', 150.0), ('b', 150.0), ('c', 150.0)))


class Clock:
  """The run's deadline and each part's: `left()` is the smaller of the two."""

  def __init__(self, total_s: float):
    self.end = time.time() + total_s
    self.part_end = self.end

  def start_part(self, budget_s: float) -> None:
    self.part_end = min(self.end, time.time() + budget_s)

  def left(self) -> float:
    return min(self.end, self.part_end) - time.time()

  def total_left(self) -> float:
    return self.end - time.time()


# ----------------------------------------------------------------------------------- helpers

def narrowed(config, sizes: Sizes):
  """configs.runlocal's narrow models for --smoke (the batch stays the caller's)."""
  if sizes.narrow:
    batch = config.data.batch_size
    configs.runlocal(config)
    config.data.batch_size = batch
  return config


def arch_config(arch: str, batch: int, dtype: str, sizes: Sizes, seeds: int = 1,
                layout: str = 'loop'):
  """scripts/bench_torch.py's config of `arch` (the torch reference's step), `seeds` seeds."""
  config = narrowed(bench_torch.jax_config(arch, batch, dtype), sizes)
  config.num_seeds, config.train.seed_layout = seeds, layout
  return config


class Step(bench_torch.JaxStep):
  """bench_torch.JaxStep (the real update, jitted, state donated; `rate(steps)`) of any config,
  compiled ahead of time so that XLA's cost analysis needs no second compile."""

  def __init__(self, config):  # Not the parent's: that one builds bench_torch's config.
    self.exp = exp = Experiment(config)
    self.state = exp.place(exp.init_state())
    self.batch = exp.device_batch(0)
    start = time.perf_counter()
    self.lowered = jax.jit(exp.update_fn(), donate_argnums=0).lower(self.state, self.batch)
    self.update = self.lowered.compile()
    self.state, metrics = self.update(self.state, self.batch)
    jax.block_until_ready(metrics)
    self.compile_s = time.perf_counter() - start

  def flops(self) -> dict:
    """FLOPs of one call (one update per seed) by XLA's cost analysis of the compiled program
    and of the program before optimisation (a cross-check: a backend's library calls, such as
    cuDNN convolutions, may be counted differently)."""
    out = {}
    for name, stage in (('compiled', self.update), ('unoptimized', self.lowered)):
      cost = stage.cost_analysis()
      cost = cost[0] if isinstance(cost, (list, tuple)) else cost
      out[name] = float((cost or {}).get('flops', 0.0))
    return out


def host(tree):
  """Numpy float64 copies of every leaf (the local replica)."""
  return jax.tree.map(lambda x: np.asarray(x, np.float64), parallel.to_host(tree))


def compare_trees(a, b) -> dict:
  """Worst differences between two trees of the same structure: max |a-b|, that over the leaf's
  largest |b| (`max_scaled`), bitwise equality, and the worst leaf by name."""
  worst, scaled_worst, equal = 0.0, 0.0, True
  worst_leaf = ''
  leaves_b = jax.tree.leaves(b)
  for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), leaves_b):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    diff = float(np.max(np.abs(x - y))) if x.size else 0.0
    scaled = diff / max(float(np.max(np.abs(y))) if y.size else 0.0, 1e-30)
    equal &= bool(np.array_equal(x, y))
    if scaled > scaled_worst or not worst_leaf:
      scaled_worst, worst_leaf = max(scaled, scaled_worst), jax.tree_util.keystr(path)
    worst = max(worst, diff)
  return {'max_abs': worst, 'max_scaled': scaled_worst, 'worst_leaf': worst_leaf,
          'bit_identical': equal, 'leaves': len(leaves_b)}


# ------------------------------------------------------------------------------ a: correctness

def one_update_vs_cpu(sizes: Sizes, tol: float) -> dict:
  """One dcgan28 update from the same initial state and batch on the default device and on
  the CPU; at the default matmul precision, and at 'highest' if that misses `tol`."""
  config = arch_config('dcgan28', sizes.correct_batch, 'float32', sizes)
  exp_dev = Experiment(config)
  exp_cpu = Experiment(config, mesh=parallel.make_mesh(jax.devices('cpu')[:1]))
  init = parallel.to_host(exp_dev.init_state())
  out = {'tolerance_scaled': tol, 'device': str(jax.devices()[0]),
         'cpu': str(jax.devices('cpu')[0])}
  for precision in ('default', 'highest'):
    with (contextlib.nullcontext() if precision == 'default'
          else jax.default_matmul_precision(precision)):
      states = [jax.jit(e.update_fn(), donate_argnums=0)(e.place(init), e.device_batch(0))
                for e in (exp_dev, exp_cpu)]
    diff = compare_trees(host(states[0]), host(states[1]))
    diff['within_tolerance'] = diff['max_scaled'] <= tol
    out[precision] = diff
    if diff['within_tolerance']:
      break
  out['within_tolerance'] = any(out[p]['within_tolerance'] for p in ('default', 'highest')
                                if p in out)
  return out


def short_runs(sizes: Sizes) -> dict:
  """A short dcgan28 run (sizes.short_run_steps updates) twice from the same state and batches;
  how far apart the two final states are."""
  config = arch_config('dcgan28', sizes.correct_batch, 'float32', sizes)
  exp = Experiment(config)
  update = jax.jit(exp.update_fn(), donate_argnums=0)
  init = parallel.to_host(exp.init_state())
  batches = [exp.device_batch(t) for t in range(sizes.short_run_steps)]
  finals = []
  for _ in range(2):
    state = exp.place(init)
    for batch in batches:
      state, _ = update(state, batch)
    finals.append(host(state))
  return {'steps': sizes.short_run_steps, 'xla_flags': os.environ.get('XLA_FLAGS', ''),
          **compare_trees(finals[0], finals[1])}


def short_runs_deterministic(args) -> dict:
  """short_runs in a fresh process with XLA's deterministic-ops flag (XLA flags are fixed when a
  process opens its backend)."""
  env = dict(os.environ, XLA_FLAGS=(os.environ.get('XLA_FLAGS', '') + ' ' +
                                    args.deterministic_flag).strip())
  cmd = [sys.executable, os.path.abspath(__file__), '--worker=short_runs',
         f'--jax_cache={args.jax_cache}'] + (['--smoke'] if args.smoke else []) + (
         [f'--sizes={args.sizes}'] if args.sizes else [])
  done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO,
                        timeout=max(30.0, args.clock.left()))
  if done.returncode:
    return {'error': f'exit {done.returncode}: {done.stderr.strip()[-800:]}'}
  return json.loads(done.stdout.strip().splitlines()[-1])


def checkpoint_to_cpu(sizes: Sizes, workdir: str) -> dict:
  """A device state (after one update) saved with gan_jax.checkpoint.Checkpointer and restored
  by another Checkpointer (as a resumed run would) into a CPU-placed state of the same
  structure: equal values, and where they landed."""
  config = arch_config('dcgan28', sizes.correct_batch, 'float32', sizes)
  exp = Experiment(config)
  state, _ = jax.jit(exp.update_fn(), donate_argnums=0)(exp.place(exp.init_state()),
                                                        exp.device_batch(0))
  cpu_target = jax.device_put(parallel.to_host(state), jax.devices('cpu')[0])
  os.makedirs(workdir, exist_ok=True)  # A fresh folder: a rerun must not restore an old save.
  directory = tempfile.mkdtemp(prefix='checkpoint_to_cpu_', dir=workdir)
  for action in ('save', 'restore'):
    ckpt = checkpoint_lib.Checkpointer(directory)
    try:
      if action == 'save':
        ckpt.save(1, state)
      else:
        restored = ckpt.restore(cpu_target, 1)
    finally:
      ckpt.close()
  platforms = sorted({d.platform for x in jax.tree.leaves(restored) for d in x.devices()})
  diff = compare_trees(host(state), host(restored))
  return {'saved_on': jax.devices()[0].platform, 'restored_on': platforms,
          'equal': diff['bit_identical'] and platforms == ['cpu'], 'max_abs': diff['max_abs']}


def timed(fn, *args) -> dict:
  start = time.time()
  return {**fn(*args), 'wall_s': time.time() - start}


def part_correctness(args, sizes: Sizes, workdir: str) -> dict:
  return {'one_update': timed(one_update_vs_cpu, sizes, args.tol),
          'run_twice': timed(short_runs, sizes),
          'run_twice_deterministic': timed(short_runs_deterministic, args),
          'checkpoint': timed(checkpoint_to_cpu, sizes, workdir)}


# ------------------------------------------------------------------------------------ b: speed

def matmul_rate(n: int, reps: int) -> dict:
  """The chip's bf16 matrix rate: an n x n x n jnp.dot in bfloat16 (float32 accumulation),
  timed over `reps` calls after one compiling call."""
  key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
  a = jax.random.normal(key_a, (n, n), jnp.bfloat16)
  b = jax.random.normal(key_b, (n, n), jnp.bfloat16)
  dot = jax.jit(lambda a, b: jnp.dot(a, b, preferred_element_type=jnp.float32
                                     ).astype(jnp.bfloat16))
  jax.block_until_ready(dot(a, b))
  start = time.perf_counter()
  for _ in range(reps):
    c = dot(a, b)
  jax.block_until_ready(c)
  seconds = (time.perf_counter() - start) / reps
  return {'n': n, 'reps': reps, 'flop_per_s': 2.0 * n ** 3 / seconds}


def torch_python(args) -> str:
  if args.torch_python:
    return args.torch_python
  venv = os.path.join(REPO, '.venv-torch', 'bin', 'python')
  return venv if os.path.exists(venv) else sys.executable


def torch_reference() -> str:
  """../shared/bench/torch_reference.py, or the copy scripts/gpu_wheels.sh puts in
  .gpu_wheels/ (the GPU machine gets the working tree only, not ../shared)."""
  copy = os.path.join(WHEELS, 'torch_reference.py')
  return bench_torch.TORCH_REFERENCE if os.path.exists(bench_torch.TORCH_REFERENCE) else copy


def torch_rate(args, sizes: Sizes, arch: str, batch: int) -> dict:
  """steps/s of ../shared/bench/torch_reference.py (torch eager, float32), one repeat."""
  device = args.torch_device or ('cuda' if jax.default_backend() == 'gpu' else 'cpu')
  cmd = [torch_python(args), torch_reference(), '--arch', arch, '--batch', str(batch),
         '--steps', str(sizes.torch_steps), '--repeats', '1', '--warmup',
         str(sizes.torch_warmup), '--device', device]
  done = subprocess.run(cmd, capture_output=True, text=True, timeout=max(30.0, args.clock.left()))
  if done.returncode:
    raise RuntimeError(f'{shlex.join(cmd)} failed: {done.stderr.strip()[-800:]}')
  return {**json.loads(done.stdout.strip().splitlines()[-1]), 'device': device}


def speed_rows(arch, batch, steps, jax_rates, torch_info, torch_rates, peak) -> list:
  """One row per dtype: medians, the ratio to torch and the goals."""
  t = statistics.median(torch_rates) if torch_rates else None
  rows = []
  for dtype, step in steps.items():
    j = statistics.median(jax_rates[dtype])
    counted = step.flops()
    flops = counted['compiled'] or counted['unoptimized']
    achieved = flops * j
    rows.append({'arch': arch, 'batch': batch, 'dtype': dtype, 'gan_jax_steps_per_s': j,
                 'gan_jax_rates': jax_rates[dtype], 'compile_s': step.compile_s,
                 'torch_steps_per_s': t, 'torch_rates': torch_rates,
                 'torch': (torch_info or {}).get('torch'),
                 'ratio': j / t if t else None, 'goal_ratio': SPEED_GOALS[arch],
                 'ratio_met': bool(t and j / t >= SPEED_GOALS[arch]),
                 'flops_per_step': flops, 'flops_counted': counted,
                 'achieved_flop_per_s': achieved,
                 'fraction_of_bf16_matmul': achieved / peak if peak else None})
  return rows


def time_arch(args, sizes: Sizes, arch: str, batch: int, peak: float) -> list:
  """Both dtypes of one arch and the torch reference, alternating, sizes.speed_repeats times."""
  steps = {d: Step(arch_config(arch, batch, d, sizes)) for d in ('float32', 'bfloat16')}
  jax_rates = {d: [] for d in steps}
  torch_rates, torch_info, torch_error = [], None, None
  for i in range(sizes.speed_repeats):
    if i and args.clock.left() < 20:
      break
    for dtype, step in steps.items():
      jax_rates[dtype].append(step.rate(sizes.speed_steps))
    if not args.no_torch and not torch_error:
      try:
        torch_info = torch_rate(args, sizes, arch, batch)
        torch_rates.append(torch_info['steps_per_s'])
      except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
        torch_error = str(e)[-800:]  # gan_jax's numbers still count.
  rows = speed_rows(arch, batch, steps, jax_rates, torch_info, torch_rates, peak)
  return [{**r, 'torch_error': torch_error} if torch_error else r for r in rows]


def part_speed(args, sizes: Sizes, workdir: str) -> dict:
  out = {'matmul_bf16': matmul_rate(sizes.matmul_n, sizes.matmul_reps), 'rows': [],
         'torch_python': torch_python(args), 'torch_reference': torch_reference(),
         'goal_bf16_fraction': BF16_FRACTION_GOAL}
  for arch, batch in sizes.speed_archs:
    if out['rows'] and args.clock.left() < 40:
      out['stopped_early'] = f'{args.clock.left():.0f} s left before {arch}'
      break
    out['rows'] += time_arch(args, sizes, arch, batch, out['matmul_bf16']['flop_per_s'])
  bf16 = [r['fraction_of_bf16_matmul'] for r in out['rows'] if r['dtype'] == 'bfloat16']
  out['bf16_fraction_met'] = bool(bf16) and max(bf16) >= BF16_FRACTION_GOAL
  return out


# ------------------------------------------------------------------------------------ c: seeds

def part_seeds(args, sizes: Sizes, workdir: str) -> dict:
  """steps/s of one seed, of sizes.seeds seeds in each layout, and of one seed at seeds x the
  batch (the dense bound: as many images per step as the seeds together)."""
  b, s = sizes.seeds_batch, sizes.seeds
  cases = [('one seed', 1, 'loop', b), (f'{s} seeds, vmap', s, 'vmap', b),
           (f'{s} seeds, loop', s, 'loop', b)]  # vmap first: it compiles one update, loop s.
  if sizes.seeds_dense_row:
    cases.append((f'one seed, batch {s * b}', 1, 'loop', s * b))
  rows, out = [], {}
  for name, seeds, layout, batch in cases:
    if rows and args.clock.left() < 25:
      out['stopped_early'] = f'{args.clock.left():.0f} s left before {name}'
      break
    step = Step(arch_config('dcgan28', batch, 'float32', sizes, seeds, layout))
    rate = statistics.median(step.rate(sizes.seeds_steps) for _ in range(2))
    rows.append({'case': name, 'num_seeds': seeds, 'seed_layout': layout, 'batch': batch,
                 'steps_per_s': rate, 'compile_s': step.compile_s,
                 'time_vs_one_seed': rows[0]['steps_per_s'] / rate if rows else 1.0})
    del step
  for r in rows:
    if r['num_seeds'] > 1:
      r['goal'], r['met'] = SEEDS_GOAL, r['time_vs_one_seed'] <= SEEDS_GOAL
  return {'rows': rows, **out}


# ---------------------------------------------------------------------------------- d: science

def science_config(name: str, pack: int, seeds: int, k: int, sizes: Sizes):
  """experiments/<name>.py (`:runlocal` for --smoke), packed `pack` (batch x pack), `seeds`
  seeds together (vmapped for the 2-D MLPs: batched matrix products), `k` steps per call,
  evaluated only at the end."""
  config = configs.load_experiment(os.path.join(EXPERIMENTS, name + '.py'),
                                   'runlocal' if sizes.narrow else None)
  config.model.pack = pack
  config.data.batch_size *= pack
  config.num_seeds = seeds
  config.train.steps_per_call = k
  config.train.seed_layout = 'vmap' if name != 'stacked_mnist' else 'loop'
  config.train.eval_every = 0
  return config


def measured_rate(config, sizes: Sizes) -> float:
  """steps/s of the config's real update (compiled here once; the training run reloads it from
  JAX's compilation cache), or of the host assembling the batches if that is slower."""
  step, k = Step(config), config.train.steps_per_call
  device_s = 1.0 / step.rate(sizes.rate_calls)
  start = time.perf_counter()
  jax.block_until_ready([step.exp.device_batch(t * k) for t in range(2)])
  return k / max(device_s, (time.perf_counter() - start) / 2)


def fitted_run(config, workdir: str, target: int, share_s: float, sizes: Sizes) -> dict:
  """Trains `config` through gan_jax.train.train_and_evaluate for the steps (at most `target`)
  that fit in `share_s` seconds, evaluating at the end; its eval.json's numbers."""
  start, k = time.time(), config.train.steps_per_call
  rate = measured_rate(config, sizes)
  spare = share_s - sizes.run_reserve_s - (time.time() - start)
  steps = max(k, int(min(target, rate * spare)) // k * k)
  config.train.num_steps = steps
  config.train.log_every = max(k, steps // 20 // k * k)
  config.train.sample_every = config.train.ckpt_every = steps
  train_start = time.time()
  train_lib.train_and_evaluate(config, workdir)
  with open(os.path.join(workdir, 'eval.json')) as f:
    evaluation = json.load(f)
  logged = [r['steps_per_s'] for r in writers.read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
            if 'steps_per_s' in r]
  return {'steps': steps, 'target_steps': target, 'reached_target': steps >= target,
          'measured_steps_per_s': rate, 'logged_steps_per_s': logged[-1] if logged else None,
          'train_s': time.time() - train_start, 'wall_s': time.time() - start,
          'num_seeds': config.num_seeds, 'steps_per_call': k,
          'batch_size': config.data.batch_size, 'workdir': workdir,
          'mean': evaluation['mean'], 'std': evaluation['std'], 'count': evaluation['count'],
          'seeds': evaluation['seeds']}


def part_science(args, sizes: Sizes, workdir: str) -> dict:
  """The 2-D runs (70% of the time left), then the Stacked MNIST runs (the rest)."""
  two_d = [(d, p) for d, p in sizes.science_runs if d != 'stacked_mnist']
  runs = [(d, p, sizes.science_seeds, sizes.science_k, sizes.science_steps) for d, p in two_d]
  runs += [(d, p, 1, sizes.stacked_k, sizes.stacked_steps) for d, p in sizes.science_runs
           if d == 'stacked_mnist']
  runs_dir = os.path.join(workdir, time.strftime('%Y%m%d-%H%M%S'))  # Fresh runs each time.
  out = {'runs': {}, 'workdir': runs_dir}
  two_d_end = time.time() + 0.7 * args.clock.left()
  for i, (name, pack, seeds, k, target) in enumerate(runs):
    n = len(two_d)
    end = two_d_end if i < n else time.time() + args.clock.left()
    share = (end - time.time()) / len(runs[i:n] if i < n else runs[i:])
    if share < (sizes.run_reserve_s + 10 if sizes.run_reserve_s else 0) or args.clock.left() <= 0:
      out.setdefault('skipped', []).append(f'{name}_pack{pack}: {share:.0f} s share')
      continue
    config = science_config(name, pack, seeds, k, sizes)
    out['runs'][f'{name}_pack{pack}'] = fitted_run(
        config, os.path.join(runs_dir, f'{name}_pack{pack}'), target, share, sizes)
    args.report.set_part('d', {**out, 'status': 'running'})  # A cut-off run keeps these.
  return out


# --------------------------------------------------------------------------------- the report

def environment() -> dict:
  d = jax.devices()[0]
  try:
    platform_version = d.client.platform_version
  except AttributeError:
    platform_version = None
  return {'device': bench_torch.device_description(), 'platform': d.platform,
          'device_kind': d.device_kind, 'jax': jax.__version__,
          'jaxlib': jaxlib.__version__,
          'platform_version': platform_version, 'python': platform.python_version(),
          'xla_flags': os.environ.get('XLA_FLAGS', ''),
          'modules_from_wheels_folder': SUPPLIED_FROM_WHEELS,
          'jax_environment': jax.print_environment_info(return_string=True),
          'missing_modules': [m for m in ('PIL', 'scipy', 'sklearn', 'torch')
                              if importlib.util.find_spec(m) is None]}


def fmt(x, spec='.3g') -> str:
  return '—' if x is None else format(x, spec)


class Report:
  """docs/gpu.json (everything) and docs/gpu.md (the tables), rewritten after every part."""

  def __init__(self, out_dir: str, command: str, smoke: bool):
    self.json_path = os.path.join(out_dir, 'gpu.json')
    self.md_path = os.path.join(out_dir, 'gpu.md')
    old = {}
    if os.path.exists(self.json_path):
      with open(self.json_path) as f:
        old = json.load(f)
    keep = old.get('smoke') == smoke
    self.data = {'command': command, 'smoke': smoke, 'environment': environment(),
                 'parts': old.get('parts', {}) if keep else {}}

  def set_part(self, key: str, result: dict) -> None:
    self.data['parts'][f'{key}_{PARTS[key]}'] = result
    self.write()

  def write(self) -> None:
    self.data['written'] = datetime.datetime.now().isoformat(timespec='seconds')
    os.makedirs(os.path.dirname(self.json_path), exist_ok=True)
    with open(self.json_path + '.tmp', 'w') as f:
      json.dump(self.data, f, indent=2, default=str)
    os.replace(self.json_path + '.tmp', self.json_path)
    with open(self.md_path + '.tmp', 'w') as f:
      f.write('\n'.join(markdown(self.data)) + '\n')
    os.replace(self.md_path + '.tmp', self.md_path)


def md_correctness(p: dict) -> list:
  one, lines = p.get('one_update', {}), ['## a. Correctness', '']
  for precision in ('default', 'highest'):
    if precision in one:
      r = one[precision]
      lines.append(f'- One dcgan28 update, {one["device"]} against {one["cpu"]}, matmul precision '
                   f'{precision}: max |diff| {fmt(r["max_abs"])}, max |diff| / leaf max '
                   f'{fmt(r["max_scaled"])} (worst leaf `{r["worst_leaf"]}`; tolerance '
                   f'{one["tolerance_scaled"]}): '
                   f'{"within" if r["within_tolerance"] else "OUTSIDE"}.')
  for key, what in (('run_twice', 'without'), ('run_twice_deterministic', 'with')):
    r = p.get(key, {})
    if 'error' in r:
      lines.append(f'- Short run twice {what} `{DETERMINISTIC_FLAG}`: failed: {r["error"][:300]}')
    elif r:
      lines.append(f'- Short run ({r["steps"]} updates) twice, {what} the deterministic-ops flag: '
                   f'{"bit-identical" if r["bit_identical"] else "differ"} (max |diff| '
                   f'{fmt(r["max_abs"])}, scaled {fmt(r["max_scaled"])}).')
  c = p.get('checkpoint')
  if c:
    lines.append(f'- Checkpoint saved from {c["saved_on"]}, restored into a state placed on '
                 f'{c["restored_on"]}: {"equal" if c["equal"] else "NOT equal"} (max |diff| '
                 f'{fmt(c["max_abs"])}).')
  return lines + ['']


def md_speed(p: dict) -> list:
  m = p.get('matmul_bf16', {})
  lines = ['## b. Speed beside torch (eager, float32), alternating', '',
           f'bf16 matmul ({m.get("n")}^3): {fmt(m.get("flop_per_s", 0) / 1e12)} TFLOP/s. Torch: '
           f'`{p.get("torch_python")}`. Goals: ratio >= 5 (dcgan28/64), >= 3 (sngan_cnn32/256); '
           f'bf16 update >= {BF16_FRACTION_GOAL:.0%} of the matmul rate.', '',
           '| arch | batch | dtype | gan_jax steps/s | torch steps/s | ratio | goal met | '
           'GFLOP/step | TFLOP/s | of bf16 matmul |', '|---|---|---|---|---|---|---|---|---|---|']
  for r in p.get('rows', []):
    frac = r['fraction_of_bf16_matmul']
    lines.append(f'| {r["arch"]} | {r["batch"]} | {r["dtype"]} | {fmt(r["gan_jax_steps_per_s"])} '
                 f'| {fmt(r["torch_steps_per_s"])} | {fmt(r["ratio"])} | '
                 f'{"yes" if r["ratio_met"] else "no"} | {fmt(r["flops_per_step"] / 1e9)} | '
                 f'{fmt(r["achieved_flop_per_s"] / 1e12)} | '
                 f'{"—" if frac is None else f"{100 * frac:.1f}%"} |')
    if r.get('torch_error'):
      lines.append(f'\ntorch failed ({r["arch"]}): {r["torch_error"][:300]}\n')
  return lines + ([f'\nStopped early: {p["stopped_early"]}'] if 'stopped_early' in p else []) + ['']


def md_seeds(p: dict) -> list:
  lines = ['## c. Seeds trained together (dcgan28, float32; goal: 8 seeds <= 4x one seed)', '',
           '| case | batch | steps/s | time per step vs one seed |', '|---|---|---|---|']
  for r in p.get('rows', []):
    lines.append(f'| {r["case"]} | {r["batch"]} | {fmt(r["steps_per_s"])} | '
                 f'{fmt(r["time_vs_one_seed"])}x |')
  return lines + ([f'\nStopped early: {p["stopped_early"]}'] if 'stopped_early' in p else []) + ['']


def md_science(p: dict) -> list:
  runs = p.get('runs', {})
  lines = ['## d. Mode collapse at length', '',
           'ring8 / grid25 (experiments/ring8.py, grid25.py; PacGAN2: `model.pack=2, '
           'data.batch_size=200`), seeds trained together; mean ± sample std over seeds; paper: '
           'Lin et al. (2018), Table 1, 10 runs of 400,000 steps.', '',
           '| data | D | seeds | steps | modes | (paper) | % high quality | (paper) | KL | '
           '(paper) |',
           '|---|---|---|---|---|---|---|---|---|---|']
  for (data, pack), paper in pacgan_table.PAPER.items():
    r = runs.get(f'{data}_pack{pack}')
    if r:
      cells = [pacgan_table.fmt(r['mean'][m], r['std'][m] or 0.0, d) for m, d in
               zip(pacgan_table.METRICS, (1, 1, 2))]
      lines.append(f'| {data} | {"GAN" if pack == 1 else "PacGAN2"} | {r["num_seeds"]} | '
                   f'{r["steps"]:,} | {cells[0]} | {paper[0]} | {cells[1]} | {paper[1]} | '
                   f'{cells[2]} | {paper[2]} |')
  lines += ['', 'Stacked MNIST (experiments/stacked_mnist.py; PacDCGAN2: `model.pack=2`), at the '
            'length that fitted (PacGAN: 100,000 steps); paper: Lin et al. (2018), Table 2 '
            "(VEEGAN's setting), 10 runs" + ('.' if STACKED_PAPER_VERIFIED else
                                            ' (paper values UNVERIFIED: check them against the '
                                            'paper before quoting).'), '',
            '| D | seeds | steps | modes of 1,000 | (paper) | KL | (paper) |',
            '|---|---|---|---|---|---|---|']
  for pack, paper in STACKED_PAPER.items():
    r = runs.get(f'stacked_mnist_pack{pack}')
    if r:
      lines.append(f'| {"DCGAN" if pack == 1 else "PacDCGAN2"} | {r["num_seeds"]} | '
                   f'{r["steps"]:,} | {fmt(r["mean"]["modes_captured"], ".1f")} | {paper[0]} | '
                   f'{fmt(r["mean"]["kl_to_uniform"], ".3f")} | {paper[1]} |')
  lines += ['', 'Runs (steps trained of the target, wall time, rate):', '']
  lines += [f'- {k}: {r["steps"]:,} of {r["target_steps"]:,} steps ({r["num_seeds"]} '
            f'seed{"s" if r["num_seeds"] > 1 else ""}, {r["steps_per_call"]} steps per call, '
            f'batch {r["batch_size"]}) in '
            f'{r["wall_s"]:.0f} s, training {r["train_s"]:.0f} s; update measured at '
            f'{fmt(r["measured_steps_per_s"])} steps/s, the loop logged '
            f'{fmt(r["logged_steps_per_s"])}' for k, r in runs.items()]
  return lines + [f'- skipped: {s}' for s in p.get('skipped', [])] + ['']


def markdown(data: dict) -> list:
  env = data['environment']
  lines = ['# gan_jax on the accelerator (issue 14)', '',
           f'Generated by `{data["command"]}` (scripts/gpu_check.py) on {data["written"]}; do '
           'not edit by hand.' + (' SMOKE RUN: tiny sizes, numbers mean nothing.'
                                  if data['smoke'] else ''),
           f'Device: {env["device"]}; JAX {env["jax"]} ({env["platform_version"]}), Python '
           f'{env["python"]}, XLA_FLAGS `{env["xla_flags"]}`.', '']
  renderers = {'correctness': md_correctness, 'speed': md_speed, 'seeds': md_seeds,
               'science': md_science}
  for key, part in sorted(data['parts'].items()):
    name = key.split('_', 1)[1]
    status = f'{part.get("status")}, {part.get("wall_s", 0):.0f} s'
    if part.get('status') in ('failed', 'skipped'):
      lines += [f'## {key}: {part["status"].upper()} ({status})', '', '```',
                part.get('error', '')[-1500:], '```', '']
      continue
    body = renderers[name](part)
    rerun = ([f'Run by `{part["command"]}`.', '']
             if part.get('command', data['command']) != data['command'] else [])
    lines += [f'{body[0]} ({status})', ''] + rerun + body[2:]
  return lines


# ---------------------------------------------------------------------------------- the driver

def run_part(key: str, fn, args, sizes: Sizes, workdir: str) -> None:
  """Runs one part within its budget; a failure is recorded (traceback) and the next part runs."""
  budgets = dict(sizes.part_budgets)
  args.clock.start_part(budgets.get(key, float('inf')))
  start = time.time()
  print(f'[gpu_check] part {key} ({PARTS[key]}), {args.clock.left():.0f} s budget', flush=True)
  try:
    result = {**fn(args, sizes, workdir), 'status': 'done'}
  except Exception:  # noqa: BLE001 -- recorded, so later parts still run.
    result = {'status': 'failed', 'error': traceback.format_exc()}
  result['wall_s'] = time.time() - start
  result['command'] = args.report.data['command']
  args.report.set_part(key, result)
  print(f'[gpu_check] part {key}: {result["status"]} in {result["wall_s"]:.1f} s', flush=True)
  if result['status'] == 'failed':
    print(result['error'], file=sys.stderr, flush=True)


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--smoke', action='store_true', help='tiny sizes, for the CPU')
  parser.add_argument('--out', help='folder of gpu.md / gpu.json (default docs/; --smoke: a '
                      'temporary folder)')
  parser.add_argument('--parts', default='abcd', help='which parts, e.g. "ab" or "a,d"')
  parser.add_argument('--budget', type=float, help='seconds for all parts (default 480)')
  parser.add_argument('--part_budgets', help='e.g. "a=60,b=150,c=70"; d gets what is left')
  parser.add_argument('--workdir', help='training runs and checkpoints (default runs/gpu_check; '
                      '--smoke: under --out)')
  parser.add_argument('--tol', type=float, default=1e-2,
                      help='device vs CPU: max |diff| / leaf max allowed (TF32 matmuls)')
  parser.add_argument('--torch_python', help='python with torch (default .venv-torch/bin/python '
                      'if it exists, else this python)')
  parser.add_argument('--torch_device', help='default cuda when JAX has a GPU, else cpu')
  parser.add_argument('--no_torch', action='store_true', help='time gan_jax only')
  parser.add_argument('--deterministic_flag', default=DETERMINISTIC_FLAG)
  parser.add_argument('--jax_cache', help="JAX's persistent compilation cache (default: "
                      "gan_jax's cache folder, ~/.cache/gan_jax/jax_cache)")
  parser.add_argument('--sizes', help='override sizes (class Sizes), e.g. "science_k=10,'
                      'speed_repeats=2"')
  parser.add_argument('--worker', choices=['short_runs'], help=argparse.SUPPRESS)
  return parser.parse_args(argv)


def sizes_of(args) -> Sizes:
  sizes = SMOKE if args.smoke else FULL
  if args.budget:
    sizes = dataclasses.replace(sizes, budget_s=args.budget)
  if args.sizes:
    types = {f.name: type(getattr(sizes, f.name)) for f in dataclasses.fields(Sizes)
             if not isinstance(getattr(sizes, f.name), tuple)}
    pairs = [kv.split('=', 1) for kv in args.sizes.split(',')]
    unknown = [k for k, _ in pairs if k not in types]
    if unknown:
      raise SystemExit(f'--sizes: {unknown} are not scalar fields of Sizes: {sorted(types)}')
    sizes = dataclasses.replace(sizes, **{k: (v.lower() in ('1', 'true') if types[k] is bool
                                              else types[k](v)) for k, v in pairs})
  if args.part_budgets:
    pairs = tuple((k.strip(), float(v)) for k, v in
                  (kv.split('=') for kv in args.part_budgets.split(',')))
    sizes = dataclasses.replace(sizes, part_budgets=pairs)
  return sizes


def main(argv=None):
  args = parse_args(argv)
  cli.prepare()  # gan_jax's XLA defaults, before JAX opens a backend (as its entry points).
  sizes = sizes_of(args)
  # Programs compiled once are reloaded from disk: by a final training leg, by the
  # deterministic-ops subprocess, by a rerun of a part, and by every --smoke after the first.
  args.jax_cache = os.path.abspath(args.jax_cache or os.path.join(offline.cache_dir(),
                                                                  'jax_cache'))
  jax.config.update('jax_compilation_cache_dir', args.jax_cache)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
  if args.worker:
    print(json.dumps(short_runs(sizes)))
    return
  out = os.path.abspath(args.out or (tempfile.mkdtemp(prefix='gpu_check_smoke_') if args.smoke
                                     else os.path.join(REPO, 'docs')))
  workdir = os.path.abspath(args.workdir or (os.path.join(out, 'runs') if args.smoke
                                             else os.path.join(REPO, 'runs', 'gpu_check')))
  command = shlex.join(['python', os.path.relpath(os.path.abspath(__file__), REPO)] +
                       sys.argv[1:]) if argv is None else shlex.join(['gpu_check.py', *argv])
  args.clock = Clock(sizes.budget_s)
  args.report = Report(out, command, args.smoke)
  fns = {'a': part_correctness, 'b': part_speed, 'c': part_seeds, 'd': part_science}
  for key in [k for k in 'abcd' if k in args.parts]:
    if args.clock.total_left() <= 0:
      args.report.set_part(key, {'status': 'skipped', 'wall_s': 0.0, 'error': 'no time left'})
      continue
    run_part(key, fns[key], args, sizes, workdir)
  print(f'[gpu_check] wrote {args.report.md_path} and {args.report.json_path}', flush=True)


if __name__ == '__main__':
  main()
