"""Run in a venv with torch and pytorch-fid (make torch-venv): pytorch-fid's own InceptionV3 with
random weights, on fixed random images. Writes OUT_DIR/weights.npz (through the project's
converter) and OUT_DIR/io.npz (inputs in [-1, 1] NHWC, pool features).

  .venv-torch/bin/python tests/torch_inception_reference.py OUT_DIR
"""
import os
import runpy
import sys

import numpy as np
import torch

# The project's converter, read from its file (scripts/ is not a package).
state_dict_to_npz = runpy.run_path(os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts',
    'convert_inception_weights.py'))['state_dict_to_npz']

# The PyPI torchvision wheel is built for CUDA torch; its C++ ops do not load with the CPU torch
# wheel, and only its pure-Python Inception modules are needed here.
_register_fake = torch.library.register_fake
torch.library.register_fake = lambda name, *a, **k: (
    (lambda f: f) if str(name).startswith('torchvision::') else _register_fake(name, *a, **k))

import torchvision  # noqa: E402,F401
from pytorch_fid import inception as fid  # noqa: E402


def main(out_dir):
  torch.manual_seed(0)
  fid.load_state_dict_from_url = lambda *a, **k: None  # No download: keep the random init.
  original = torchvision.models.inception.Inception3.load_state_dict
  torchvision.models.inception.Inception3.load_state_dict = lambda self, sd, *a, **k: None
  model = fid.InceptionV3([fid.InceptionV3.DEFAULT_BLOCK_INDEX]).eval()
  torchvision.models.inception.Inception3.load_state_dict = original
  g = torch.Generator().manual_seed(1)
  with torch.no_grad():
    for name, p in model.named_parameters():
      if p.ndim == 4:  # Conv weights: variance-preserving, so activations stay O(1).
        fan_in = p.shape[1] * p.shape[2] * p.shape[3]
        p.copy_(torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5)
      elif name.endswith('weight'):
        p.copy_(torch.rand(p.shape, generator=g) + 0.5)
      else:
        p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    for name, b in model.named_buffers():
      if name.endswith('running_mean'):
        b.copy_(torch.randn(b.shape, generator=g) * 0.1)
      elif name.endswith('running_var'):
        b.copy_(torch.rand(b.shape, generator=g) + 0.5)
  rng = np.random.default_rng(2)
  out = {}
  for name, shape in (('small', (3, 3, 32, 32)), ('large', (2, 3, 320, 300))):
    x01 = rng.uniform(size=shape).astype(np.float32)
    with torch.no_grad():
      feats = model(torch.from_numpy(x01))[0][:, :, 0, 0].numpy()
    out[f'{name}_images'] = x01.transpose(0, 2, 3, 1) * 2.0 - 1.0  # NHWC in [-1, 1].
    out[f'{name}_features'] = feats
  os.makedirs(out_dir, exist_ok=True)
  # The wrapper's names are positional (blocks.<i>.<j>.*); the weights file pytorch-fid
  # downloads, and so the converter's input, uses Inception3's names.
  names = [['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3'], ['Conv2d_3b_1x1', 'Conv2d_4a_3x3'],
           ['Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
            'Mixed_6e'], ['Mixed_7a', 'Mixed_7b', 'Mixed_7c']]
  state = {}
  for key, value in model.state_dict().items():
    _, i, j, rest = key.split('.', 3)
    state[f'{names[int(i)][int(j)]}.{rest}'] = value
  state_dict_to_npz(state, os.path.join(out_dir, 'weights.npz'))
  np.savez(os.path.join(out_dir, 'io.npz'), **out)


if __name__ == '__main__':
  main(sys.argv[1])
