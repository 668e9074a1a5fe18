"""Data parallelism: a device mesh over every device of every process, and the pmap-model step.

The mesh has one axis, 'data'. The global batch (`data.batch_size`) is split evenly over its
devices; the per-device update (step.make_update_fn with `axis_name=DATA_AXIS`) runs inside
`jax.shard_map` within one `jax.jit`, averaging gradients, losses and batch-norm statistics with
`pmean`. The state is replicated on every device; the real batch is sharded along its batch axis.
"""
import os
from typing import Callable, Optional

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

from gan_jax.configs import ConfigError

DATA_AXIS = 'data'


class ParallelError(ConfigError):
  """A setting that cannot be laid out over the devices; the message says what to change."""


def initialize_distributed(coordinator_address: Optional[str] = None,
                           num_processes: Optional[int] = None,
                           process_id: Optional[int] = None, auto: bool = False) -> None:
  """Joins a multi-process run through `jax.distributed`, before any device is touched.

  Explicit (coordinator host:port, process count, this process's id), or `auto`: JAX's own
  cluster detection (SLURM, Open MPI, Kubernetes, TPU pods; JAX_COORDINATOR_ADDRESS in the
  environment also counts as asking). Without either, a single process: nothing to do. On CPUs the
  collectives run over gloo.
  """
  if not (coordinator_address or auto or os.environ.get('JAX_COORDINATOR_ADDRESS')):
    return
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id)


def make_mesh(devices=None) -> jax.sharding.Mesh:
  """A 1-D mesh ('data',) over `devices` (default: all devices of all processes)."""
  devices = jax.devices() if devices is None else devices
  return jax.make_mesh((len(devices),), (DATA_AXIS,), devices=devices,
                       axis_types=(jax.sharding.AxisType.Auto,))


def check_batch_size(batch_size: int, mesh: jax.sharding.Mesh, pack: int = 1) -> None:
  """Each device gets the same number of whole packs (`model.pack` samples each; 1: samples)."""
  n = mesh.size * pack
  if batch_size % n:
    what = f'{mesh.size} devices of the mesh' + (f' in whole packs of {pack}' if pack > 1 else '')
    raise ParallelError(
        f'data.batch_size={batch_size} does not split evenly over the {what}; '
        f'use a multiple of {n} (e.g. {max(n, batch_size // n * n)} or {(batch_size // n + 1) * n}).')
  if batch_size % jax.process_count():
    raise ParallelError(f'data.batch_size={batch_size} does not split evenly over the '
                        f'{jax.process_count()} processes.')


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_spec(batch_axis: int) -> P:
  """Real batches (images (..., B, H, W, C), labels (..., B)) have B at `batch_axis`: split B
  over 'data'. As a pytree prefix the spec covers every leaf of a batch dict."""
  return P(*([None] * batch_axis), DATA_AXIS)


def batch_sharding(mesh, batch_axis: int = 1) -> NamedSharding:
  return NamedSharding(mesh, batch_spec(batch_axis))


def data_parallel(per_device_update: Callable, mesh, batch_axis: int = 1) -> Callable:
  """(state, batch) -> (state, metrics) over the mesh; jit it (step.jit_update).

  `check_vma=False` keeps pmap's semantics, which the per-device update is written in: the
  gradient of a replicated parameter is each device's own, and the update averages it with an
  explicit pmean. (With varying-manual-axes checking on, JAX would instead insert a psum into
  that gradient's transpose, and the explicit pmean would then scale it by the device count.)
  Every output is pmean'd or computed from pmean'd values, so the replicated out_specs hold.
  """
  return jax.shard_map(per_device_update, mesh=mesh, in_specs=(P(), batch_spec(batch_axis)),
                       out_specs=(P(), P()), check_vma=False)


def process_slice(global_batch_size: int) -> slice:
  """The part of the global batch this process loads: contiguous, in process order."""
  per_process = global_batch_size // jax.process_count()
  start = jax.process_index() * per_process
  return slice(start, start + per_process)


def put_batch(local, mesh, global_batch_size: int, batch_axis: int = 1):
  """Assembles the global sharded batch (a pytree of arrays whose batch axis is `batch_axis`)
  from each process's slice (`process_slice`)."""
  def put(x):
    global_shape = list(x.shape)
    global_shape[batch_axis] = global_batch_size
    return jax.make_array_from_process_local_data(batch_sharding(mesh, batch_axis), x,
                                                  tuple(global_shape))
  return jax.tree.map(put, local)


def to_host(tree):
  """Numpy copies of replicated arrays (the local replica: valid on any number of processes)."""
  return jax.tree.map(
      lambda x: np.asarray(x.addressable_data(0)) if isinstance(x, jax.Array) else x, tree)
