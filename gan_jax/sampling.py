"""Samples of a run's generator in evaluation mode: the eval-mode sampler every caller shares,
and the sample pictures a run writes (an image grid from fixed latents, a scatter of 2-D points,
or for token sequences the text of 64 decoded samples).

Grids: an 8x8 grid of images, or for a conditional run one row per class (up to 10 evenly spaced
classes) with the same latents in every row; 2-D points: a scatter of 1,000 samples. Latents are
fixed per seed (state.STREAM_SAMPLE_Z), so the pictures of one run show the same z at every step.
"""
from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import parallel
from gan_jax import state as state_lib
from gan_jax import writers

SAMPLE_GRID = (8, 8)  # Images: an 8x8 grid from fixed latents.
MAX_CLASS_ROWS = 10  # Conditional: a row per class, for at most this many (evenly spaced) classes.
SAMPLE_POINTS = 1000  # 2-D points: a scatter picture of this many, from fixed latents.
SAMPLE_TEXTS = 64  # Token sequences: this many decoded samples, a line each.


def make_eval_sampler(generator: nn.Module) -> Callable:
  """Jitted (g_params, g_vars, z_BxZ, labels_B or None) -> samples: G in evaluation mode
  (running batch-norm statistics, no dropout); labels are a conditional G's classes."""
  @jax.jit
  def sample(g_params, g_vars, z_BxZ, labels_B=None):
    return generator.apply({'params': g_params, **g_vars}, z_BxZ, train=False, labels=labels_B)
  return sample


STANDING_SAMPLES = 1024  # eval.bn_stats='standing': latents the statistics are measured on.


def standing_stats(generator: nn.Module, g_params, g_vars, z_BxZ, labels_B=None):
  """`g_vars` with every batch-norm layer's running statistics replaced by the statistics of
  G(z_BxZ) in training mode with `g_params` (BigGAN's "standing statistics", Brock et al. 2019:
  the statistics of the parameters that sample, e.g. an EMA, not the running averages of the
  parameters that trained). A layer's statistics are those of its input when every earlier layer
  normalises by its own batch statistics. Variables without batch statistics are returned as
  they are.

  Flax's BatchNorm updates ra <- m * ra + (1 - m) * batch with the module's own momentum m, so two
  training-mode calls from ra = 0 and ra = 1 (same batch statistics: training mode normalises by
  the batch, not by ra) give a = (1 - m) batch and b = m + a, hence batch = a / (1 - (b - a)),
  whatever m each module uses (m < 1; the float32 error grows as 1 / (1 - m): about 1e-4 at
  m = 0.999). Only batch norm's `mean` and `var` are replaced; other entries of the collection
  (spectral norm's power-iteration vectors) are kept, and fixed during both calls.
  """
  if 'batch_stats' not in g_vars:
    return g_vars
  is_stat = lambda path: getattr(path[-1], 'key', None) in ('mean', 'var')  # Batch norm's only.
  stats = g_vars['batch_stats']  # Also holds spectral norm's vectors, which stay as they are.

  def updated(fill: float):
    filled = jax.tree_util.tree_map_with_path(
        lambda path, x: jnp.full_like(x, fill) if is_stat(path) else x, stats)
    _, new = generator.apply({'params': g_params, **g_vars, 'batch_stats': filled}, z_BxZ,
                             train=True, labels=labels_B, mutable=True,
                             rngs={'dropout': jax.random.PRNGKey(0)})  # G's own noise, if any.
    return new['batch_stats']
  a, b = updated(0.0), updated(1.0)
  standing = jax.tree_util.tree_map_with_path(
      lambda path, old, a, b: a / (1.0 - (b - a)) if is_stat(path) else old, stats, a, b)
  return {**g_vars, 'batch_stats': standing}


def make_standing_sampler_vars(generator: nn.Module, model_config, num_classes: int) -> Callable:
  """Jitted (g_params, g_vars, seed) -> g_vars with standing statistics (eval.bn_stats=
  'standing'), measured on STANDING_SAMPLES latents fixed per seed (state.STREAM_STANDING_Z)."""
  m = model_config

  @jax.jit
  def standing(g_params, g_vars, seed):
    key = jax.random.fold_in(jax.random.PRNGKey(seed), state_lib.STREAM_STANDING_Z)
    z = state_lib.sample_latent(key, STANDING_SAMPLES, m.latent_dim, m.latent_dist)
    labels = state_lib.sample_labels(jax.random.fold_in(key, 1), STANDING_SAMPLES, num_classes)
    return standing_stats(generator, g_params, g_vars, z, labels)
  return standing


def grid_shape(num_classes: int) -> tuple:
  """(rows, columns) of image grids: 8x8, or one row per class (up to 10) when conditional."""
  if num_classes:
    return (min(num_classes, MAX_CLASS_ROWS), SAMPLE_GRID[1])
  return SAMPLE_GRID


class SamplePictures:
  """Each seed's fixed latents and the picture of G's samples from them."""

  def __init__(self, generator: nn.Module, model_config, num_classes: int, kind: str,
               seeds: list, to_text: Optional[Callable] = None):
    """`kind`: 'image', 'points' or 'tokens' (then `to_text(samples) -> str` decodes them)."""
    self.kind, self.seeds, self.to_text = kind, list(seeds), to_text
    self.is_points = kind == 'points'
    self.grid_shape = grid_shape(num_classes)
    rows, cols = self.grid_shape
    num = {'points': SAMPLE_POINTS, 'tokens': SAMPLE_TEXTS}.get(kind, rows * cols)
    is_points = kind != 'image'  # Labels drawn at random, not a row per class.
    m = model_config
    self.labels = None
    if num_classes and is_points:
      self.labels = state_lib.sample_labels(jax.random.PRNGKey(0), num, num_classes)
    if num_classes and not is_points:  # A row per class, the same latents in every row.
      self.labels = jnp.asarray(np.repeat(np.arange(rows) * num_classes // rows, cols), jnp.int32)
      self.z = [jnp.tile(state_lib.sample_z(s, cols, m.latent_dim, m.latent_dist), (rows, 1))
                for s in self.seeds]
    else:
      self.z = [state_lib.sample_z(s, num, m.latent_dim, m.latent_dist) for s in self.seeds]
    self._sample = make_eval_sampler(generator)

  def samples(self, g_params_S, g_vars_S) -> list:
    """Each seed's samples (host arrays), from parameters stacked over seeds."""
    return [parallel.to_host(self._sample(*state_lib.replica((g_params_S, g_vars_S), i),
                                          self.z[i], self.labels))
            for i in range(len(self.seeds))]

  def picture(self, samples):
    """uint8 (H, W, C): the grid of sampled images, or a scatter of sampled points; for token
    sequences the decoded samples, a line each (str)."""
    if self.kind == 'tokens':
      return self.to_text(samples)
    if self.is_points:
      return writers.scatter_image(samples)
    return writers.image_grid(samples, *self.grid_shape)
