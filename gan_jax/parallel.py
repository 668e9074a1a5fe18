"""Data parallelism: a device mesh over every device of every process, the pmap-model step,
and the fixed outer axes of the update (seeds, steps per call).

The mesh has one axis, 'data'. The global batch (`data.batch_size`) is split evenly over its
devices; the per-device update (step.update with `spec.axis_name=DATA_AXIS`) runs inside
`jax.shard_map` within one `jax.jit`, averaging gradients, losses and batch-norm statistics with
`pmean`. The state is replicated on every device; the real batch is sharded along its batch axis.

Around the per-device update, `over_seeds` runs S independent replicas stacked on a leading axis
(S = num_seeds, 1 for one seed) and `scan_steps` runs K updates per call (K =
train.steps_per_call, 1 by default). Both axes always exist, so the state is (S, ...) and a host
batch is (K, S, N, B, ...) whatever the config: array ranks never depend on config values.
"""
import os
from typing import Callable, Optional

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

from gan_jax.errors import ConfigError
from gan_jax.state import replica, stack_replicas

DATA_AXIS = 'data'
# A host batch is (K steps, S seeds, N = optim.n_critic real batches, B, ...): B is axis 3.
BATCH_AXIS = 3
SEED_LAYOUTS = ('loop', 'vmap')  # train.seed_layout: how the S replicas share one program.


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
  # Called by the entry points only (gan_jax/main.py): a multi-process CPU run needs gloo.
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


def batch_sharding(mesh, batch_axis: int = BATCH_AXIS) -> NamedSharding:
  return NamedSharding(mesh, batch_spec(batch_axis))


def over_seeds(update_fn: Callable, layout: str) -> Callable:
  """The update of S independent replicas stacked on a leading axis, in one program.

  'vmap': jax.vmap of the update; every convolution over per-seed weights becomes a batched
  (grouped) one. 'loop': the replicas' updates written one after another (unrolled) in the same
  compiled program, on slices of the stacked state. `make bench` (docs/bench_scale.md), the default
  experiment's update on a 2-core CPU: a step of 8 seeds took 15.4x one seed's with 'vmap' (compiled
  in 4.1 s), 8.6x with 'loop' (20.5 s); vmap measured 9.8x one seed on an H100
  (../shared/bench/README.md).
  """
  if layout == 'vmap':
    return jax.vmap(update_fn)

  def looped(state, batches):
    num = jax.tree.leaves(batches)[0].shape[0]
    # The barrier makes each replica's slice a buffer of its own, so XLA compiles each seed's
    # update as it compiles a lone run's (without it, fusing the slices changed the batch-norm
    # running variance by a float32 ulp; tests/test_golden.py pins this).
    return stack_replicas([update_fn(*jax.lax.optimization_barrier((replica(state, i),
                                                                     replica(batches, i))))
                           for i in range(num)])
  return looped


def scan_steps(update_fn: Callable) -> Callable:
  """K updates in one call: (state, batches_Kx...) -> (state, metrics stacked over K).

  K > 1 is a rolled `lax.scan` whose body is one update, so the program holds one copy of the
  step and compiles in about the time of K = 1 whatever K is (with 8 seeds in the loop layout an
  unrolled K = 10 held 80 copies and did not finish compiling in 13 minutes on 2 cores). K = 1
  calls the update directly: a scan of length 1 would put the step inside a loop, and the plain
  step is what a one-step call has always computed (tests/test_golden.py). The loop body is
  compiled as a computation of its own, so its float32 results may differ from K single calls in
  the last ulps (tests/test_seeds.py). On the CPU a scanned step runs many times slower: XLA:CPU's
  ConvCanonicalization visits only the entry computation, so each weight-gradient convolution in
  the loop body falls to XLA's unoptimised kernel (docs/bench_scale.md); K > 1 is for
  accelerators, where it saves the per-call dispatch.
  """
  def multi_step(state, batches):
    if jax.tree.leaves(batches)[0].shape[0] == 1:
      state, metrics = update_fn(state, replica(batches, 0))
      return state, stack_replicas([metrics])
    return jax.lax.scan(update_fn, state, batches)
  return multi_step


def data_parallel(per_device_update: Callable, mesh, batch_axis: int = BATCH_AXIS) -> Callable:
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


def put_batch(local, mesh, global_batch_size: int, batch_axis: int = BATCH_AXIS):
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
