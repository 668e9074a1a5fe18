"""The PyTorch side of the time-to-quality benchmark (run kind 'ttq_torch',
gan_jax/study/kind_ttq_torch.py, runs it with torch's python; experiments/studies/ttq.py).

  .venv-torch/bin/python scripts/ttq_torch.py --reference ../shared/bench/torch_reference.py \
      --data train.npy --out DIR --start T --budgets 2,5,10 [--batch 64] [--seed 0]

Trains torch_reference.py's dcgan28 on the images of --data ((N, 1, 28, 28) float32 in [-1, 1])
with the reference's own step and recipe: one D update on a real batch and a fresh fake batch,
then one G update on a fresh fake batch, non-saturating loss, Adam(2e-4, 0.5, 0.999), PyTorch's
default initialisation, batches drawn from a seeded permutation per epoch. The clock is the wall
time since --start (the parent's time.time() just before it launched this process: interpreter
start and imports count). When it passes a budget (minutes), it writes DIR/samples_<budget>.npz:
--num_samples images (N, 28, 28, 1) from G in training mode (batch statistics, as the PyTorch
DCGAN example samples), the step and the seconds; sampling is off the clock. Stops after the
last budget.
"""
import argparse
import copy
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_reference(path):
  spec = importlib.util.spec_from_file_location('torch_reference', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def reference_step(g, d, opt_g, opt_d, real, zdim: int):
  """torch_reference.py's step: D on the real batch and a fresh fake one, then G on a fresh fake
  batch; non-saturating loss. Returns (loss_d, loss_g)."""
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
  return loss_d, loss_g


def write_samples(g, zdim, num, seed, path, step, seconds):
  """G's samples in training mode (a copy, so its running statistics stay as they were), drawn
  in chunks of 500 (the first `num` of whole chunks)."""
  g = copy.deepcopy(g).train()
  gen = torch.Generator().manual_seed(10_000 + seed)
  with torch.no_grad():
    images = torch.cat([g(torch.randn(500, zdim, generator=gen))
                        for _ in range(-(-num // 500))])[:num]
  images = images.permute(0, 2, 3, 1).numpy().astype(np.float32)
  tmp = path + '.tmp.npz'
  np.savez(tmp, images=images, step=step, seconds=seconds)
  os.replace(tmp, path)


def main():
  p = argparse.ArgumentParser()
  p.add_argument('--reference', required=True)
  p.add_argument('--data', required=True)
  p.add_argument('--out', required=True)
  p.add_argument('--start', type=float, required=True)
  p.add_argument('--budgets', default='2,5,10')
  p.add_argument('--batch', type=int, default=64)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--num_samples', type=int, default=5000)
  a = p.parse_args()
  budgets = [float(b) for b in a.budgets.split(',')]
  torch.manual_seed(a.seed)
  g, d, zdim, _ = load_reference(a.reference).dcgan28()
  opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
  opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
  data = torch.from_numpy(np.load(a.data))
  rng = np.random.default_rng(a.seed)
  per_epoch = len(data) // a.batch
  order, step, off_clock, next_budget = None, 0, 0.0, 0
  while next_budget < len(budgets):
    if step % per_epoch == 0:
      order = torch.from_numpy(rng.permutation(len(data)))
    k = step % per_epoch
    real = data[order[k * a.batch:(k + 1) * a.batch]]
    loss_d, loss_g = reference_step(g, d, opt_g, opt_d, real, zdim)
    step += 1
    seconds = time.time() - a.start - off_clock
    if step % 200 == 0:
      print(json.dumps({'step': step, 'seconds': round(seconds, 1), 'loss_d': loss_d.item(),
                        'loss_g': loss_g.item()}), flush=True)
    if seconds >= 60 * budgets[next_budget]:
      paused = time.time()
      path = os.path.join(a.out, f'samples_{budgets[next_budget]:g}.npz')
      write_samples(g, zdim, a.num_samples, a.seed, path, step, seconds)
      off_clock += time.time() - paused
      next_budget += 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
