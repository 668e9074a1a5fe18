"""Per-operator CPU profile of ../shared/bench/torch_reference.py's step (run in .venv-torch).

  .venv-torch/bin/python scripts/profile_torch_reference.py --arch dcgan28 [--batch 64 --steps 5]

Builds the reference's networks (its ARCHS), runs its step (one D update on a real and a fresh
fake batch, one G update; non-saturating loss; Adam 2e-4, 0.5, 0.999) under torch.profiler, and
prints one JSON line: wall ms per step and each operator's self CPU ms per step (per input
shape, so per layer), largest first.
scripts/profile_step.py calls it to put torch's profile beside gan_jax's in docs/profile.md.
"""
import argparse
import json
import os
import sys
import time

import torch

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'shared', 'bench')
sys.path.insert(0, REFERENCE_DIR)
from torch_reference import ARCHS  # noqa: E402
from ttq_torch import reference_step  # noqa: E402  (scripts/, this file's folder)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--arch', default='dcgan28', choices=sorted(ARCHS))
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument('--top', type=int, default=12)
  a = parser.parse_args()
  torch.manual_seed(0)
  g, d, zdim, shape = ARCHS[a.arch]()
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
  ops = sorted(prof.key_averages(group_by_input_shape=True), key=lambda e: e.self_cpu_time_total, reverse=True)
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
