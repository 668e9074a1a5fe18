"""Timing gan_jax's training update, and the PyTorch reference step beside it.

The update timed is the one training runs (Experiment.update_fn: data parallel over the devices,
seeds by loop or vmap, train.steps_per_call updates a call), jitted with the state donated and
compiled ahead of time, on batches already on the devices. The PyTorch reference is
../shared/bench/torch_reference.py (torch eager), run by torch's own python (.venv-torch:
`make torch-venv`) in a subprocess. Used by `make bench` / `make profile` (scripts/) and by the
study kind 'device' (gpu_check's studies). Nothing here prints.

Both steps: one D update on a real batch and a fresh fake batch, one G update on a fresh fake
batch, non-saturating loss, Adam(2e-4, 0.5, 0.999). gan_jax's dcgan28 is its DCGAN with the
reference's leaky-ReLU slope 0.2; sngan_cnn32 is its SN-GAN standard CNN (no spectral norm, as
the reference), on 32x32x3 stand-in data.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp

from gan_jax import configs
from gan_jax import provenance
from gan_jax.experiment import Experiment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PYTHON = os.path.join(ROOT, '.venv-torch', 'bin', 'python')
# The reference beside the repository, or the copy `make gpu-wheels` puts in .gpu_wheels/ (a lent
# GPU machine gets the working tree only).
TORCH_REFERENCES = (os.path.join(os.path.dirname(ROOT), 'shared', 'bench', 'torch_reference.py'),
                    os.path.join(ROOT, '.gpu_wheels', 'torch_reference.py'))
ARCHS = ('dcgan28', 'sngan_cnn32')


def reference_config(arch: str, batch: int, dtype: str = 'float32'):
  """gan_jax's config of the torch reference's `arch` at this batch and model dtype."""
  if arch not in ARCHS:
    raise configs.ConfigError(f'Unknown reference arch {arch!r}; valid: {list(ARCHS)}.')
  config = configs.base_config()
  if arch == 'dcgan28':
    config.data.source = 'mnist5k'
    config.model.generator = config.model.discriminator = 'dcgan'
    config.model.g_kwargs.dcgan.leaky_slope = config.model.d_kwargs.dcgan.leaky_slope = 0.2
  else:
    config.data.source, config.data.image_size = 'stacked_mnist', 32
    config.model.generator = config.model.discriminator = 'sngan_cnn32'
    config.model.latent_dim = 128
  config.data.batch_size = batch
  config.loss.name = 'non_saturating'
  config.model.dtype = dtype
  config.eval.features = 'none'
  return config


def narrowed(config):
  """configs.runlocal's narrow models and small evaluation, keeping the config's batch size."""
  batch = config.data.batch_size
  configs.runlocal(config)
  config.data.batch_size = batch
  return config


class Step:
  """A config's update, compiled ahead of time (`compile_s`: the compilation alone) and called
  once; `rate(calls)` times more calls, cycling over `num_batches` batches."""

  def __init__(self, config, num_batches: int = 1):
    self.exp = exp = Experiment(config)
    self.k = config.train.steps_per_call
    self.state = exp.place(exp.init_state())
    self.batches = [exp.device_batch(i * self.k) for i in range(num_batches)]
    self.lowered = jax.jit(exp.update_fn(), donate_argnums=0).lower(self.state, self.batches[0])
    start = time.perf_counter()
    self.update = self.lowered.compile()
    self.compile_s = time.perf_counter() - start
    self.state, metrics = self.update(self.state, self.batches[0])
    jax.block_until_ready(metrics)

  def rate(self, calls: int) -> float:
    """Updates per second (per seed) over `calls` calls of train.steps_per_call updates each."""
    start = time.perf_counter()
    for i in range(calls):
      self.state, metrics = self.update(self.state, self.batches[i % len(self.batches)])
    jax.block_until_ready((self.state, metrics))
    return calls * self.k / (time.perf_counter() - start)

  def flops(self) -> dict:
    """FLOPs of one call by XLA's cost analysis, of the compiled program and of the program
    before optimisation (a cross-check: library calls such as cuDNN's may count differently)."""
    out = {}
    for name, stage in (('compiled', self.update), ('unoptimized', self.lowered)):
      cost = stage.cost_analysis()
      cost = cost[0] if isinstance(cost, (list, tuple)) else cost
      out[name] = float((cost or {}).get('flops', 0.0))
    return out


def alternating_ms(fns: list, args: tuple, repeats: int = 3, calls: int = 4) -> list:
  """Milliseconds a call of each function of `fns` on `args`, the functions taking turns
  (drifts in load hit each alike): per function the median over `repeats` turns, each turn one
  untimed call, then the mean of `calls` timed ones."""
  times = [[] for _ in fns]
  for _ in range(repeats):
    for i, f in enumerate(fns):
      jax.block_until_ready(f(*args))
      start = time.perf_counter()
      for _ in range(calls):
        jax.block_until_ready(f(*args))
      times[i].append((time.perf_counter() - start) / calls * 1000)
  return [statistics.median(t) for t in times]


def device_description() -> str:
  """'1 x cpu: <the CPU>, 2 cores', or '1 x gpu: NVIDIA H100 ... (host: <the CPU>, 16 cores)'."""
  d = jax.devices()[0]
  host = provenance.machine()
  what = host if d.platform == 'cpu' else f'{d.device_kind} (host: {host})'
  return f'{jax.device_count()} x {d.platform}: {what}'


def torch_python() -> str:
  """.venv-torch's python where it exists, else this one (a machine with torch installed)."""
  return TORCH_PYTHON if os.path.exists(TORCH_PYTHON) else sys.executable


def torch_reference() -> str:
  """The first torch_reference.py of TORCH_REFERENCES that exists; FileNotFoundError if none."""
  for path in TORCH_REFERENCES:
    if os.path.exists(path):
      return path
  raise FileNotFoundError(f'No PyTorch reference step: none of {list(TORCH_REFERENCES)}.')


def torch_rate(arch: str, batch: int, steps: int, repeats: int = 1, warmup: int = 2,
               device: str = 'cpu', python: str = None, timeout: float = None) -> dict:
  """torch_reference.py's own JSON line: 'steps_per_s' (the median of `repeats` timings of
  `steps` steps after `warmup`), 'rates', 'torch', 'threads', ...; RuntimeError on failure."""
  cmd = [python or torch_python(), torch_reference(), '--arch', arch, '--batch', str(batch),
         '--steps', str(steps), '--repeats', str(repeats), '--warmup', str(warmup),
         '--device', device]
  done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
  if done.returncode:
    raise RuntimeError(f'{" ".join(cmd)} failed: {done.stderr.strip()[-800:]}')
  return json.loads(done.stdout.strip().splitlines()[-1])


def matmul_rate(n: int, reps: int) -> dict:
  """The device's bfloat16 matrix rate: an n x n x n jnp.dot (float32 accumulation), timed over
  `reps` calls after a compiling one; {'n', 'reps', 'flop_per_s': 2 n^3 / seconds a call}."""
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
