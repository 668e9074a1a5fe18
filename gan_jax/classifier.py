"""The downstream classifier of the data-augmentation protocol: a small fixed CNN recipe.

The protocol asks whether training a classifier on GAN samples helps when real labels are few. This
module is the classifier it trains on any mix of real and generated labelled images (float32 in
[-1, 1], (N, H, W, C), labels int (N,)) and scores by test accuracy. It is not the evaluation
classifier of gan_jax/metrics/mnist_classifier.py (a bigger model with committed weights): this one
is trained from scratch, per seed, every time.

The recipe (`defaults()`, the config's `classifier` section):
- model: per entry of conv_features a 3x3 conv + ReLU, then a 2x2 max pool while the feature map's
  sides are both at least 4 (28 -> 14 -> 7, 8 -> 4 -> 2), then flatten, a dense layer of
  dense_features + ReLU and a dense layer of num_classes logits. The layer structure (and so the
  ranks) is the same for any config; only the flattened size depends on the image size;
- loss: softmax cross-entropy on integer labels;
- optimizer: AdamW (b1 0.9, b2 0.999, decoupled weight_decay) with a cosine decay of the learning
  rate from lr to 0 over `steps`, after a linear warm-up from 0 over the first `warmup_steps`;
- data: `steps` updates of `batch_size` images whatever the dataset's size. The batches are
  consecutive slices of a stream of seeded permutations of the dataset (one per epoch), so every
  image is used once per epoch and a dataset smaller than a batch fills it from the next epochs'
  permutations (an image can then appear more than once in a batch; augmentation varies it);
- augmentation (train(..., augment=True)): per image, a rotation within +-max_rotate degrees and a
  real-valued shift within +-max_shift pixels along each axis, one bilinear warp, background -1.

Deterministic: train() with the same inputs and seed gives the same parameters bit for bit (on the
same machine and software). The jitted functions are built once per (recipe, num_classes, augment)
and compiled once per input shape per process (`_compiled`, `_predictor`), as the protocol trains
many: a first train() in a process spends ~4 s compiling, later ones with the same recipe none.

Each run's wall time is recorded by the protocol (results.json, `seconds` of every method).
The recipe's alternatives (batch 64 x 400 steps, weight decay 0.05, and for 8x8 images a 2-pixel
shift) were compared with it on validation data from the training split only
(experiments/studies/classifier_recipe.py, gan_jax/classifier_validation.py,
docs/classifier_recipe.md): none won, so the defaults stand, with
max_shift 1 for the 8x8 digits. Its accuracy with every mnist5k training digit is the protocol's
`real` row at N = all (docs/augmentation.md); tests/test_classifier.py checks a lower bound of a
shortened recipe.
"""
import functools

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from gan_jax import atomic_files
from gan_jax.validation import failed, is_int, is_real

BACKGROUND = -1.0  # The images' background value, filled in where a warp leaves the image.
TRUNCATED_NORMAL_STD = 0.87962566103423978  # Of a unit normal truncated to [-2, 2] (as flax's).


def defaults() -> ml_collections.ConfigDict:
  """The classifier section with its defaults: the default recipe (measured in the module's
  docstring)."""
  c = ml_collections.ConfigDict()
  c.conv_features = (16, 32)  # One 3x3 conv (+ pool while the sides are >= 4) per entry.
  c.dense_features = 128  # The hidden dense layer's width.
  c.steps = 800  # Updates, whatever the dataset's size.
  c.batch_size = 32
  c.lr = 3e-3  # Peak learning rate of AdamW; cosine decay to 0 at `steps`.
  c.warmup_steps = 50  # Linear warm-up from 0 over these steps (must be < steps).
  c.weight_decay = 0.0  # AdamW's decoupled weight decay (0: plain Adam).
  c.max_shift = 2.0  # Pixels, real-valued, along each axis (augment=True).
  c.max_rotate = 10.0  # Degrees (augment=True).
  return c


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of config's classifier section, each naming the field, its value and valid
  values."""
  return section_problems(config.classifier)


def section_problems(c) -> list[str]:
  """problems() of the classifier section itself (what train() is given)."""
  widths = c.conv_features
  checks = [(isinstance(widths, (tuple, list)) and len(widths) > 0 and
             all(is_int(w) and w > 0 for w in widths),
             f'classifier.conv_features must be a non-empty tuple of positive integers, e.g. '
             f'(32, 64), got {widths!r}.')]
  checks += [(is_int(c[f]) and c[f] > 0, f'classifier.{f} must be an integer >= 1, got {c[f]!r}.')
             for f in ('dense_features', 'steps', 'batch_size')]
  checks += [
      (is_int(c.warmup_steps) and 0 <= c.warmup_steps and
       not (is_int(c.steps) and c.steps > 0 and c.warmup_steps >= c.steps),
       f'classifier.warmup_steps must be an integer in [0, classifier.steps={c.steps!r}), got '
       f'{c.warmup_steps!r}.'),
      (is_real(c.lr) and c.lr > 0, f'classifier.lr must be a positive number, got {c.lr!r}.'),
      (is_real(c.weight_decay) and c.weight_decay >= 0,
       f'classifier.weight_decay must be a number >= 0, got {c.weight_decay!r}.'),
      (is_real(c.max_shift) and c.max_shift >= 0,
       f'classifier.max_shift must be a number of pixels >= 0, got {c.max_shift!r}.'),
      (is_real(c.max_rotate) and 0 <= c.max_rotate <= 180,
       f'classifier.max_rotate must be a number of degrees in [0, 180], got {c.max_rotate!r}.')]
  return failed(checks)


# --- Augmentation. ---

def warp(images_BxHxWxC, angle_deg_B, shift_Bx2):
  """Each image rotated by angle_deg_b about its centre, counterclockwise as displayed (row 0 at
  the top; 90 degrees is np.rot90 over axes (1, 2)), then shifted by shift_b = (rows down,
  columns right) pixels; bilinear interpolation, BACKGROUND outside the image.

  Output pixel p = (row, col) samples the input at R(-angle) (p - c - shift) + c, c the centre
  ((H - 1) / 2, (W - 1) / 2). Outside pixels count as BACKGROUND in the interpolation, as
  scipy.ndimage's mode='grid-constant' (which jax.scipy.ndimage calls 'constant').
  """
  _, h, w, _ = images_BxHxWxC.shape
  theta_B = jnp.deg2rad(jnp.asarray(angle_deg_B, jnp.float32))
  cos_B11, sin_B11 = jnp.cos(theta_B)[:, None, None], jnp.sin(theta_B)[:, None, None]
  shift_Bx2 = jnp.asarray(shift_Bx2, jnp.float32)
  cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
  rows_HxW, cols_HxW = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32),
                                    jnp.arange(w, dtype=jnp.float32), indexing='ij')
  dy_BxHxW = rows_HxW[None] - cy - shift_Bx2[:, 0, None, None]
  dx_BxHxW = cols_HxW[None] - cx - shift_Bx2[:, 1, None, None]
  src_Bx2xHxW = jnp.stack([cos_B11 * dy_BxHxW + sin_B11 * dx_BxHxW + cy,
                           -sin_B11 * dy_BxHxW + cos_B11 * dx_BxHxW + cx], axis=1)

  def sample(image_HxW, coords_2xHxW):
    return jax.scipy.ndimage.map_coordinates(image_HxW, list(coords_2xHxW), order=1,
                                             mode='constant', cval=BACKGROUND)
  per_channel = jax.vmap(sample, in_axes=(2, None), out_axes=2)  # Same coordinates per channel.
  return jax.vmap(per_channel)(images_BxHxWxC, src_Bx2xHxW)


def augment(images_BxHxWxC, key, max_shift: float, max_rotate: float):
  """`warp` by a uniform random angle in [-max_rotate, max_rotate] degrees and a uniform random
  real shift in [-max_shift, max_shift] pixels along each axis, independently per image."""
  b = images_BxHxWxC.shape[0]
  k_angle, k_shift = jax.random.split(key)
  angle_B = jax.random.uniform(k_angle, (b,), minval=-max_rotate, maxval=max_rotate)
  shift_Bx2 = jax.random.uniform(k_shift, (b, 2), minval=-max_shift, maxval=max_shift)
  return warp(images_BxHxWxC, angle_B, shift_Bx2)


# --- Model and compiled functions. ---

def max_pool_2x2(x_BxHxWxC):
  """2x2 max pooling, stride 2 (an odd last row or column dropped), as a reshape and a max:
  the same values as nn.max_pool(x, (2, 2), (2, 2)), but its gradient is a cheap comparison where
  nn.max_pool's (XLA's select-and-scatter) made a training step 2-4x slower on the CPU."""
  b, h, w, c = x_BxHxWxC.shape
  x = x_BxHxWxC[:, :h // 2 * 2, :w // 2 * 2]
  return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


class Classifier(nn.Module):
  """3x3 conv + ReLU (+ 2x2 max pool while both sides are >= 4) per conv width, flatten,
  dense + ReLU, dense logits."""
  conv_features: tuple
  dense_features: int
  num_classes: int

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array) -> jax.Array:
    x = x_BxHxWxC
    for features in self.conv_features:
      x = nn.relu(nn.Conv(features, (3, 3))(x))
      if min(x.shape[1:3]) >= 4:  # Static: shapes are known when tracing.
        x = max_pool_2x2(x)
    x = nn.relu(nn.Dense(self.dense_features)(x.reshape(x.shape[0], -1)))
    return nn.Dense(self.num_classes)(x)


def _recipe(cfg) -> tuple:
  """The hashable fields of the classifier section that shape the compiled functions."""
  return (tuple(int(w) for w in cfg.conv_features), int(cfg.dense_features), int(cfg.steps),
          int(cfg.warmup_steps), float(cfg.lr), float(cfg.weight_decay), float(cfg.max_shift),
          float(cfg.max_rotate))


def _optimizer(steps: int, warmup_steps: int, lr: float, weight_decay: float):
  schedule = optax.warmup_cosine_decay_schedule(0.0, lr, warmup_steps, steps, end_value=0.0)
  return optax.adamw(schedule, weight_decay=weight_decay)


@functools.lru_cache(maxsize=64)
def _compiled(recipe: tuple, num_classes: int, augmented: bool):
  """(model, optimizer, jitted update step) of one recipe: built once per process and key, so that
  jax's cache compiles the step once per batch shape, however many classifiers are trained."""
  widths, dense, steps, warmup, lr, weight_decay, max_shift, max_rotate = recipe
  model = Classifier(widths, dense, num_classes)
  tx = _optimizer(steps, warmup, lr, weight_decay)

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def step(params, opt_state, x_BxHxWxC, y_B, key, i):
    if augmented:
      x_BxHxWxC = augment(x_BxHxWxC, jax.random.fold_in(key, i), max_shift, max_rotate)

    def loss_fn(p):
      logits = model.apply({'params': p}, x_BxHxWxC)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y_B).mean()
    grads = jax.grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state
  return model, tx, step


@functools.lru_cache(maxsize=64)
def _predictor(widths: tuple, dense: int, num_classes: int):
  """The jitted (params, images) -> class probabilities of one architecture (whatever the
  optimizer and augmentation settings), built once per process and key."""
  model = Classifier(widths, dense, num_classes)
  return jax.jit(lambda params, x_BxHxWxC: jax.nn.softmax(
      model.apply({'params': params}, x_BxHxWxC)))


# --- Training and scoring. ---

def batch_indices(n: int, steps: int, batch_size: int, seed: int) -> np.ndarray:
  """(steps, batch_size) dataset indices: consecutive slices of a stream of per-epoch permutations
  drawn by np.random.default_rng(seed), so each image appears once per epoch."""
  rng = np.random.default_rng(seed)
  epochs = -(-steps * batch_size // n)
  stream = np.concatenate([rng.permutation(n) for _ in range(epochs)])
  return stream[:steps * batch_size].reshape(steps, batch_size)


def _check_data(images, labels, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
  x = np.asarray(images, np.float32)
  y = np.asarray(labels)
  if x.ndim != 4 or len(x) == 0 or y.shape != (len(x),):
    raise ValueError(f'classifier takes images (N, H, W, C) with N >= 1 and labels (N,); got '
                     f'{x.shape} and {y.shape}.')
  if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes:
    raise ValueError(f'classifier labels must be integers in [0, num_classes={num_classes}); got '
                     f'dtype {y.dtype}, range [{y.min()}, {y.max()}].')
  return x, y.astype(np.int32)


def train(cfg, images, labels, num_classes: int, seed: int, augment: bool = True):
  """Trains the recipe `cfg` (the classifier section) on (images, labels) -> params.

  images: float (N, H, W, C) in [-1, 1]; labels: int (N,) in [0, num_classes). Exactly cfg.steps
  updates of cfg.batch_size images (see `batch_indices`), whatever N. Deterministic per seed:
  the data order comes from np.random.default_rng(seed), the initialisation from
  np.random.default_rng((seed, 1)) (`init_params`), the augmentation from jax.random.PRNGKey(seed)
  folded with the step number. Returns the params as a nested dict of numpy arrays.
  """
  bad = section_problems(cfg)
  if bad:
    raise ValueError('Invalid classifier recipe: ' + ' '.join(bad))
  x, y = _check_data(images, labels, num_classes)
  model, tx, step = _compiled(_recipe(cfg), num_classes, bool(augment))
  params = init_params(model, x.shape[1:], seed)
  opt_state = tx.init(params)
  aug_key = jax.random.PRNGKey(seed)
  order = batch_indices(len(x), cfg.steps, cfg.batch_size, seed)
  for i, idx in enumerate(order):
    params, opt_state = step(params, opt_state, x[idx], y[idx], aug_key, np.int32(i))
  return jax.device_get(params)


def init_params(model: nn.Module, image_shape_HxWxC: tuple, seed: int):
  """Initial parameters as flax's defaults draw them (kernels: LeCun normal truncated at 2
  standard deviations; biases: 0), but drawn by numpy from np.random.default_rng((seed, 1)): the
  same distribution, without compiling model.init (which took ~3 s on the 2-core CPU)."""
  shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0),
                                             jnp.zeros((1,) + tuple(image_shape_HxWxC))))
  rng = np.random.default_rng((seed, 1))
  flat = {}
  for name, leaf in sorted(flax.traverse_util.flatten_dict(shapes['params']).items()):
    if name[-1] == 'bias':
      flat[name] = np.zeros(leaf.shape, np.float32)
      continue
    z = rng.standard_normal(leaf.shape)
    while np.any(np.abs(z) > 2):  # Truncation by redrawing, as a truncated normal.
      outside = np.abs(z) > 2
      z[outside] = rng.standard_normal(np.count_nonzero(outside))
    fan_in = int(np.prod(leaf.shape[:-1]))
    flat[name] = (z * (np.sqrt(1.0 / fan_in) / TRUNCATED_NORMAL_STD)).astype(np.float32)
  return jax.tree.map(jnp.asarray, flax.traverse_util.unflatten_dict(flat))


def num_classes_of(params) -> int:
  """The number of classes a trained classifier predicts (its last layer's width)."""
  last = max((k for k in params if k.startswith('Dense_')), key=lambda k: int(k.split('_')[1]))
  return int(params[last]['bias'].shape[0])


def predict(cfg, params, images, batch: int = 1000) -> np.ndarray:
  """Class probabilities (N, num_classes), float32 numpy, in chunks of at most `batch` images (the
  last chunk padded to the same size, so one compilation serves every chunk)."""
  if batch < 1:
    raise ValueError(f'predict needs batch >= 1, got {batch!r}.')
  x = np.asarray(images, np.float32)
  probabilities = _predictor(tuple(int(w) for w in cfg.conv_features), int(cfg.dense_features),
                             num_classes_of(params))
  if len(x) == 0:
    return np.zeros((0, num_classes_of(params)), np.float32)
  chunk = min(batch, len(x))
  out = []
  for i in range(0, len(x), chunk):
    part = x[i:i + chunk]
    padded = np.concatenate([part, np.zeros((chunk - len(part),) + x.shape[1:], np.float32)])
    out.append(np.asarray(probabilities(params, padded))[:len(part)])
  return np.concatenate(out)


def accuracy(cfg, params, images, labels) -> float:
  """The fraction of images whose most probable class is their label."""
  return float(np.mean(np.argmax(predict(cfg, params, images), axis=-1) == np.asarray(labels)))


# --- Parameters as .npz. ---

def save_params(params, path: str) -> str:
  """Writes params as an uncompressed .npz of arrays ('/'-joined names), atomically."""
  flat = flax.traverse_util.flatten_dict(jax.device_get(params), sep='/')
  arrays = {k: np.asarray(v) for k, v in flat.items()}
  return atomic_files.write_atomically(path, lambda f: np.savez(f, **arrays), 'wb')


def load_params(path: str):
  """The params save_params wrote (arrays only: allow_pickle=False)."""
  with np.load(path, allow_pickle=False) as f:
    flat = {k: np.asarray(f[k]) for k in f.files}
  return flax.traverse_util.unflatten_dict(flat, sep='/')
