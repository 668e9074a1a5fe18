"""The Flax FID InceptionV3 against pytorch-fid's own module, and its weights-file checks."""
import os
import subprocess

import numpy as np
import pytest

from gan_jax.metrics import inception
from tests.conftest import REPO


def _torch_python():
  """A python with torch and pytorch-fid (GAN_JAX_TORCH_PYTHON, or make torch-venv's), or None."""
  python = os.environ.get('GAN_JAX_TORCH_PYTHON', os.path.join(REPO, '.venv-torch', 'bin', 'python'))
  if not os.path.exists(python):
    return None
  ok = subprocess.run([python, '-c', 'import torch, pytorch_fid, PIL'], capture_output=True)
  return python if ok.returncode == 0 else None


@pytest.mark.slow
def test_port_matches_pytorch_fid_with_identical_random_weights(tmp_path):
  python = _torch_python()
  if python is None:
    pytest.skip('torch / pytorch-fid not installed (make torch-venv)')
  subprocess.run([python, os.path.join(REPO, 'tests', 'torch_inception_reference.py'),
                  str(tmp_path)], check=True, cwd=REPO)
  extractor = inception.Extractor(str(tmp_path / 'weights.npz'))
  with np.load(tmp_path / 'io.npz') as io:
    for name in ('small', 'large'):  # 32x32 (upsampled to 299) and 320x300 (downsampled).
      ours, _ = extractor(io[f'{name}_images'])
      ref = io[f'{name}_features']
      assert ours.shape == ref.shape == (len(ref), 2048)
      # float32 through 94 conv layers in another summation order: relative 2e-5 of the scale
      # (measured: 4e-7 small, 6e-6 large).
      assert np.abs(ours - ref).max() <= 2e-5 * np.abs(ref).max(), name


def test_resize_weights_follow_torch_align_corners_false():
  np.testing.assert_allclose(inception._interpolation_matrix(2, 4),
                             [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
  np.testing.assert_allclose(inception._interpolation_matrix(5, 5), np.eye(5))
  np.testing.assert_allclose(inception._interpolation_matrix(4, 2), [[0.5, 0.5, 0, 0],
                                                                     [0, 0, 0.5, 0.5]])


def test_weights_file_errors_name_the_file_and_the_fix(tmp_path):
  with pytest.raises(inception.WeightsError, match='convert_inception_weights'):
    inception.load_variables(None)
  missing = str(tmp_path / 'nope.npz')
  with pytest.raises(inception.WeightsError, match='nope.npz: no such file'):
    inception.load_variables(missing)
  wrong = str(tmp_path / 'wrong.npz')
  np.savez(wrong, **{'Conv2d_1a_3x3.conv.weight': np.zeros((32, 3, 3, 3), np.float32)})
  with pytest.raises(inception.WeightsError, match='does not hold the FID InceptionV3'):
    inception.load_variables(wrong)
  pickled = str(tmp_path / 'pickled.npz')
  np.savez(pickled, x=np.array([object()], dtype=object))
  with pytest.raises(inception.WeightsError, match='not a readable .npz'):
    inception.load_variables(pickled)
