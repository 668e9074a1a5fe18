"""Training of the evaluation classifier (gan_jax/metrics/mnist_classifier.py) on mnist5k.

The committed weights gan_jax/metrics/weights/mnist_classifier.npz come from `train` with the
study experiments/studies/mnist_classifier.py (docs/mnist_classifier.md: its held-out accuracy):
Adam with a cosine decay of the learning rate over every step, softmax cross-entropy, batches of a
seeded permutation per epoch (a last partial batch dropped), each image shifted by a random whole
number of pixels in [-max_shift, max_shift] along each axis (background -1), as only 4,500 digits
are available. Seeded: the initialisation is model.init(PRNGKey(seed)), the data order and the
shifts come from one np.random.default_rng(seed), so a rerun on the same software gives the same
weights.
"""
import functools
from typing import Optional

from absl import logging
import numpy as np


def shift(images_NxHxWxC, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
  """Each image moved by whole pixels (dy, dx), each uniform in [-max_shift, max_shift] and drawn
  from rng as integers (2, N) in [0, 2 max_shift]; vacated pixels are -1 (the background)."""
  images = np.asarray(images_NxHxWxC)
  n, h, w = images.shape[:3]
  padded = np.pad(images, ((0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)),
                  constant_values=-1.0)
  dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
  out = np.empty_like(images)
  for i in range(n):
    out[i] = padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
  return out


def _train_step(model, tx):
  """The jitted (params, opt_state, x, y) -> (params, opt_state, loss) of softmax cross-entropy."""
  import jax
  import optax

  @jax.jit
  def train_step(params, opt_state, x, y):
    def loss_fn(p):
      _, logits = model.apply({'params': p}, x)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss
  return train_step


@functools.lru_cache(maxsize=1)
def _predictor():
  """The jitted (params, x) -> most probable classes, built once per process."""
  import jax
  import jax.numpy as jnp
  from gan_jax.metrics import mnist_classifier as mc
  model = mc.MNISTClassifier()
  return jax.jit(lambda params, x: jnp.argmax(model.apply({'params': params}, x)[1], axis=-1))


def train(x_train, y_train, seed: int, epochs: int, batch_size: int, lr: float,
          max_shift: int = 2, held_out: Optional[tuple] = None):
  """The classifier's params after `epochs` epochs on (x_train float (N, 28, 28, 1) in [-1, 1],
  y_train int (N,)); logs each epoch's mean loss, and the accuracy on held_out (x, y) if given."""
  import jax
  import jax.numpy as jnp
  import optax
  from gan_jax.metrics import mnist_classifier as mc
  steps_per_epoch = len(x_train) // batch_size
  if steps_per_epoch < 1 or epochs < 1:
    raise ValueError(f'mnist classifier training needs epochs >= 1 and at least one batch of '
                     f'{batch_size}; got epochs {epochs} and {len(x_train)} images.')
  model = mc.MNISTClassifier()
  params = model.init(jax.random.PRNGKey(seed), jnp.zeros((1, 28, 28, 1)))['params']
  tx = optax.adam(optax.cosine_decay_schedule(lr, epochs * steps_per_epoch))
  opt_state = tx.init(params)
  train_step = _train_step(model, tx)
  rng = np.random.default_rng(seed)
  for epoch in range(epochs):
    perm = rng.permutation(len(x_train))
    losses = []
    for i in range(steps_per_epoch):
      idx = perm[i * batch_size:(i + 1) * batch_size]
      params, opt_state, loss = train_step(params, opt_state,
                                           shift(x_train[idx], rng, max_shift), y_train[idx])
      losses.append(loss)
    held = '' if held_out is None else f', held-out accuracy {evaluate(params, *held_out)[0]:.4f}'
    logging.info('mnist_classifier epoch %d/%d: loss %.4f%s', epoch + 1, epochs,
                 float(np.mean(losses)), held)
  return params


def evaluate(params, x, y, num_classes: int = 10) -> tuple:
  """(accuracy, [accuracy on the images of class c for c in 0..num_classes-1]) of params'
  most probable classes on (x, y); a class without images scores None."""
  pred = np.asarray(_predictor()(params, np.asarray(x, np.float32)))
  y = np.asarray(y)
  per_class = [float(np.mean(pred[y == c] == c)) if np.any(y == c) else None
               for c in range(num_classes)]
  return float(np.mean(pred == y)), per_class


def num_params(params) -> int:
  import jax
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params))
