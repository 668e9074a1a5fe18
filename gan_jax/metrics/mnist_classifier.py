"""The project's MNIST classifier: a feature extractor for MNIST-like samples.

A small CNN trained by gan_jax/mnist_classifier_training.py (its study:
experiments/studies/mnist_classifier.py) on mnist5k's training split (4,500 digits; seeded, so
the command regenerates the committed weights). It gives 128-d penultimate
features (for FID, KID, precision/recall, density/coverage) and class probabilities (for the
Inception Score, and for labelling each channel of Stacked MNIST). Held-out accuracy on mnist5k's
test split is in docs/mnist_classifier.md.

Input: (N, 28, 28, 1) float in [-1, 1] (the data's scaling); other sizes are resized bilinearly.
"""
import hashlib
import os
from typing import Optional

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

WEIGHTS = os.path.join(os.path.dirname(__file__), 'weights', 'mnist_classifier.npz')
FEATURE_DIM = 128
NUM_CLASSES = 10


class MNISTClassifier(nn.Module):
  """conv3x3(32)x2, pool, conv3x3(64)x2, pool, conv3x3(64), pool, dense 128, dense 10."""

  @nn.compact
  def __call__(self, x_Bx28x28x1: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = x_Bx28x28x1
    for features, convs in ((32, 2), (64, 2), (64, 1)):
      for _ in range(convs):
        x = nn.relu(nn.Conv(features, (3, 3))(x))
      x = nn.max_pool(x, (2, 2), (2, 2))  # 28 -> 14 -> 7 -> 3
    features = nn.relu(nn.Dense(FEATURE_DIM)(x.reshape(x.shape[0], -1)))
    return features, nn.Dense(NUM_CLASSES)(features)


def prepare(images_NxHxWxC) -> jax.Array:
  """Resizes to 28x28 (bilinear) where needed; images must have one channel."""
  x = jnp.asarray(images_NxHxWxC, jnp.float32)
  if x.ndim != 4 or x.shape[-1] != 1:
    raise ValueError(f'mnist_classifier takes (N, H, W, 1) images; got shape {x.shape}.')
  if x.shape[1:3] != (28, 28):
    x = jax.image.resize(x, (x.shape[0], 28, 28, 1), 'bilinear')
  return x


def save_params(params, path: str = WEIGHTS) -> None:
  flat = flax.traverse_util.flatten_dict(params, sep='/')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  np.savez_compressed(path, **{k: np.asarray(v) for k, v in flat.items()})


def load_params(path: Optional[str] = None):
  """The committed weights (arrays only: np.load with allow_pickle=False)."""
  path = path or WEIGHTS
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'No mnist_classifier weights at {path}; regenerate them with '
        '`python -m gan_jax.study experiments/studies/mnist_classifier.py --docs_dir=/tmp/mc` '
        '(trains it and installs the weights here).')
  with np.load(path, allow_pickle=False) as f:
    flat = {k: jnp.asarray(f[k]) for k in f.files}
  return flax.traverse_util.unflatten_dict(flat, sep='/')


def file_digest(path: Optional[str] = None) -> str:
  with open(path or WEIGHTS, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()[:16]


@jax.jit
def _run(params, x):
  features, logits = MNISTClassifier().apply({'params': params}, prepare(x))
  return features, jax.nn.softmax(logits)


class Extractor:
  """(images) -> (features N x 128, class probabilities N x 10), jitted, in chunks."""
  name = 'mnist_classifier'

  def __init__(self, path: Optional[str] = None, chunk: int = 1000):
    self.params = load_params(path)
    self.digest = file_digest(path)
    self.chunk = chunk
    self._run = _run  # Module level: compiled once per process and input shape.

  def __call__(self, images_NxHxWx1) -> tuple[np.ndarray, np.ndarray]:
    feats, probs = [], []
    for i in range(0, len(images_NxHxWx1), self.chunk):
      f, p = self._run(self.params, images_NxHxWx1[i:i + self.chunk])
      feats.append(np.asarray(f, np.float64))
      probs.append(np.asarray(p, np.float64))
    return np.concatenate(feats), np.concatenate(probs)
