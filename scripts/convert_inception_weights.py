"""Converts pytorch-fid's FID Inception weights (.pth) to the .npz that gan_jax reads.

  python scripts/convert_inception_weights.py pt_inception-2015-12-05-6726825d.pth inception_fid.npz

Needs torch (e.g. `make torch-venv`, then .venv-torch/bin/python). The .pth is read with
`torch.load(weights_only=True)`, which loads tensors only and runs no pickled code; the .npz keeps
PyTorch's state-dict names and arrays, and gan_jax reads it with allow_pickle=False. Then set
--config.eval.inception_weights=/abs/path/inception_fid.npz.
"""
import argparse
import os
import sys

import numpy as np


def state_dict_to_npz(state_dict, out_path: str) -> int:
  """Writes every floating-point tensor of a state dict; returns how many were written."""
  arrays = {k: v.detach().cpu().numpy() for k, v in state_dict.items()
            if v.is_floating_point()}
  np.savez(out_path, **arrays)
  return len(arrays)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('pth', help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth")
  parser.add_argument('npz', help='Output .npz path.')
  args = parser.parse_args()
  try:
    import torch
  except ImportError:
    sys.exit('This converter needs torch: run it with .venv-torch/bin/python (make torch-venv).')
  if not os.path.exists(args.pth):
    sys.exit(f'No file {args.pth}.')
  state_dict = torch.load(args.pth, map_location='cpu', weights_only=True)
  n = state_dict_to_npz(state_dict, args.npz)
  print(f'Wrote {n} arrays to {args.npz}.')


if __name__ == '__main__':
  main()
