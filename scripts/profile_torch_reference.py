"""Per-operator CPU profile of ../shared/bench/torch_reference.py's step (run in .venv-torch).

  .venv-torch/bin/python scripts/profile_torch_reference.py --arch dcgan28 [--batch 64 --steps 5]
      [--reference ../shared/bench/torch_reference.py]

Builds the reference's networks (its ARCHS), runs its step (one D update on a real and a fresh
fake batch, one G update; non-saturating loss; Adam 2e-4, 0.5, 0.999) under torch.profiler, and
prints one JSON line: wall ms per step and each operator's self CPU ms per step (per input
shape, so per layer), largest first.
scripts/profile_step.py calls it to put torch's profile beside gan_jax's in docs/profile.md.
"""
import argparse
import importlib.util
import json
import os
import time

import torch
import torch.nn.functional as F

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'shared', 'bench', 'torch_reference.py')


def load_reference(path: str):
  """torch_reference.py as a module (its ARCHS), loaded from its file."""
  spec = importlib.util.spec_from_file_location('torch_reference', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def reference_step(g, d, opt_g, opt_d, real, zdim: int):
  """torch_reference.py's step: D on the real batch and a fresh fake one, then G on a fresh fake
  batch; non-saturating loss."""
  batch = len(real)
  fake = g(torch.randn(batch, zdim)).detach()
  loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
  opt_d.zero_grad(set_to_none=True)
  loss_d.backward()
  opt_d.step()
  loss_g = F.softplus(-d(g(torch.randn(batch, zdim)))).mean()
  opt_g.zero_grad(set_to_none=True)
  loss_g.backward()
  opt_g.step()


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--arch', default='dcgan28')
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument('--top', type=int, default=12)
  parser.add_argument('--reference', default=REFERENCE, help='torch_reference.py')
  a = parser.parse_args()
  archs = load_reference(a.reference).ARCHS
  if a.arch not in archs:
    parser.error(f'--arch: unknown {a.arch!r}; valid: {sorted(archs)}')
  torch.manual_seed(0)
  g, d, zdim, shape = archs[a.arch]()
  opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
  opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
  real = torch.rand((a.batch, *shape)) * 2 - 1

  def step():
    reference_step(g, d, opt_g, opt_d, real, zdim)

  for _ in range(2):
    step()
  start = time.perf_counter()
  for _ in range(a.steps):
    step()
  wall_ms = (time.perf_counter() - start) / a.steps * 1000
  with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                              record_shapes=True) as prof:
    for _ in range(a.steps):
      step()
  ops = sorted(prof.key_averages(group_by_input_shape=True),
               key=lambda e: e.self_cpu_time_total, reverse=True)
  total = sum(e.self_cpu_time_total for e in ops) / 1000 / a.steps
  print(json.dumps({
      'arch': a.arch, 'batch': a.batch, 'torch': torch.__version__,
      'threads': torch.get_num_threads(), 'wall_ms_per_step': round(wall_ms, 1),
      'self_cpu_ms_per_step': round(total, 1),
      'ops': [{'op': e.key, 'input_shapes': str(e.input_shapes)[:120],
               'self_cpu_ms': round(e.self_cpu_time_total / 1000 / a.steps, 2),
               'calls': e.count // a.steps} for e in ops[:a.top]]}))


if __name__ == '__main__':
  main()
