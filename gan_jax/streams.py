"""Per-example random draws that do not depend on how the global batch is split over devices.

Data parallel, each device holds a slice of the global batch. A draw made for a device's slice
from one key (or from a key folded with the device index) changes with the number of devices, so
1 and 8 devices would train different runs. Every per-example random stream of the update
(DiffAugment's draws, dropout masks, a Gumbel-softmax output's noise, a penalty's
interpolation weights) instead draws example i of the global batch from its own key
`fold_in(key, i)`: the key of a stream is the same on every device, and each device folds in the
global indices of its own rows. Any split of the batch then draws the same numbers for the same
example (the latents and fake labels, which are drawn for the whole global batch and sliced, have
the same property; step._global_draw).
"""
from typing import Callable, Optional

import jax
import jax.numpy as jnp


def example_indices(local_batch: int, axis_name: Optional[str]) -> jax.Array:
  """The global indices (B,) of this device's rows: its slice of the global batch along
  `axis_name` (the mesh axis inside shard_map), or 0..B-1 without one."""
  offset = 0 if axis_name is None else jax.lax.axis_index(axis_name) * local_batch
  return offset + jnp.arange(local_batch)


def example_keys(key: jax.Array, local_batch: int, axis_name: Optional[str]) -> jax.Array:
  """One key per row of this device's slice: fold_in(key, global index of the row)."""
  return jax.vmap(lambda i: jax.random.fold_in(key, i))(example_indices(local_batch,
                                                                         axis_name))


def fold_each(keys_B: jax.Array, data: int) -> jax.Array:
  """fold_in(k, data) for each row's key: a sub-stream per row."""
  return jax.vmap(lambda k: jax.random.fold_in(k, data))(keys_B)


def draw_each(keys_B: jax.Array, draw: Callable) -> jax.Array:
  """draw(key) for each row's key, stacked: (B, *draw's shape)."""
  return jax.vmap(draw)(keys_B)
