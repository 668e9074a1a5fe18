"""Where a number was made: the machine and the package versions, as a results page records them.

No JAX import: a study's engine describes the machine its runs trained on without starting a
backend. (tests/golden_runs.machine_class is the finer class that float results depend on.)
"""
import importlib.metadata
import os
import platform
import shutil
import subprocess

PACKAGES = ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'numpy')


def _cpu_name() -> str:
  try:
    with open('/proc/cpuinfo') as f:
      block = f.read().split('\n\n')[0]
  except OSError:
    return platform.processor() or platform.machine()
  info = {k.strip(): v.strip() for k, _, v in (line.partition(':') for line in block.splitlines())}
  name = info.get('model name', platform.machine())
  if 'cpu family' in info:
    name += f' ({info.get("vendor_id", "")} family {info["cpu family"]} model {info.get("model")})'
  return name


def _gpus() -> str:
  """`nvidia-smi -L`'s device names joined, '' without an NVIDIA GPU."""
  if not shutil.which('nvidia-smi'):
    return ''
  try:
    out = subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True, timeout=20).stdout
  except (OSError, subprocess.SubprocessError):
    return ''
  names = [line.split(':', 1)[1].split('(')[0].strip() for line in out.splitlines() if ':' in line]
  return f'{len(names)} x {names[0]}' if names else ''


def machine() -> str:
  """'Intel(R) Xeon(R) Processor (GenuineIntel family 6 model 167), 2 cores' (+ GPUs if any)."""
  cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
  text = f'{_cpu_name()}, {cores} cores'
  gpus = _gpus()
  return f'{text}; {gpus}' if gpus else text


def versions() -> dict:
  """{'python': '3.11.x', 'jax': ..., ...}: the versions a run's numbers depend on."""
  out = {'python': platform.python_version()}
  for name in PACKAGES:
    try:
      out[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      out[name] = None
  return out
