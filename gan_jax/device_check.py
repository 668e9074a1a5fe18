"""Does the default device compute what the CPU computes? gpu_check's correctness part.

Three checks of an experiment's update (the study experiments/studies/gpu_correctness.py runs
them, each in a fresh process through the run kind 'device'):
  update_vs_cpu      one update from the same state and batch on the default device and on the
                     CPU, every state leaf compared (at the default matmul precision, and at
                     'highest' when the default misses the tolerance: TF32 matmuls);
  run_twice          a short run twice from the same state and batches: bit-identical or not
                     (the process's XLA_FLAGS, e.g. XLA's deterministic-ops flag, recorded);
  checkpoint_to_cpu  a device state saved by gan_jax.checkpoint and restored into a CPU-placed
                     state: equal values, and where they landed.
On a machine whose default device is the CPU, all three must find no difference at all.
"""
import contextlib
import os
import tempfile

import jax
import numpy as np

from gan_jax import checkpoint as checkpoint_lib
from gan_jax import parallel
from gan_jax.experiment import Experiment


def host(tree):
  """float64 numpy copies of every leaf (the local replica)."""
  return jax.tree.map(lambda x: np.asarray(x, np.float64), parallel.to_host(tree))


def compare_trees(a, b) -> dict:
  """Worst differences between two trees of one structure: max |a-b| ('max_abs'), the largest
  of a leaf's max |a-b| over its max |b| ('max_scaled', and that leaf's path), bitwise equality
  of every leaf, and the number of leaves."""
  worst, scaled_worst, equal, worst_leaf = 0.0, 0.0, True, ''
  leaves_b = jax.tree.leaves(b)
  for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), leaves_b):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    diff = float(np.max(np.abs(x - y))) if x.size else 0.0
    scaled = diff / max(float(np.max(np.abs(y))) if y.size else 0.0, 1e-30)
    equal &= bool(np.array_equal(x, y))
    if scaled > scaled_worst or not worst_leaf:
      scaled_worst, worst_leaf = max(scaled, scaled_worst), jax.tree_util.keystr(path)
    worst = max(worst, diff)
  return {'max_abs': worst, 'max_scaled': scaled_worst, 'worst_leaf': worst_leaf,
          'bit_identical': equal, 'leaves': len(leaves_b)}


def update_vs_cpu(config, tol: float) -> dict:
  """One update from the same initial state and batch on the default device and on the CPU;
  each precision tried ('default', then 'highest' if needed) with its comparison."""
  exp_dev = Experiment(config)
  exp_cpu = Experiment(config, mesh=parallel.make_mesh(jax.devices('cpu')[:1]))
  init = parallel.to_host(exp_dev.init_state())
  out = {'tolerance_scaled': tol, 'device': str(jax.devices()[0]),
         'cpu': str(jax.devices('cpu')[0])}
  for precision in ('default', 'highest'):
    with (contextlib.nullcontext() if precision == 'default'
          else jax.default_matmul_precision(precision)):
      states = [jax.jit(e.update_fn(), donate_argnums=0)(e.place(init), e.device_batch(0))
                for e in (exp_dev, exp_cpu)]
    diff = compare_trees(host(states[0]), host(states[1]))
    diff['within_tolerance'] = diff['max_scaled'] <= tol
    out[precision] = diff
    if diff['within_tolerance']:
      break
  out['within_tolerance'] = any(out[p]['within_tolerance'] for p in ('default', 'highest')
                                if p in out)
  return out


def run_twice(config, steps: int) -> dict:
  """`steps` updates twice from the same state and batches; how far apart the final states are."""
  exp = Experiment(config)
  update = jax.jit(exp.update_fn(), donate_argnums=0)
  init = parallel.to_host(exp.init_state())
  batches = [exp.device_batch(t) for t in range(steps)]
  finals = []
  for _ in range(2):
    state = exp.place(init)
    for batch in batches:
      state, _ = update(state, batch)
    finals.append(host(state))
  return {'steps': steps, 'xla_flags': os.environ.get('XLA_FLAGS', ''),
          **compare_trees(finals[0], finals[1])}


def checkpoint_to_cpu(config, workdir: str) -> dict:
  """A device state (after one update) saved by gan_jax.checkpoint.Checkpointer and restored by
  another Checkpointer (as a resumed run would) into a CPU-placed state of the same structure,
  in a fresh folder under `workdir`."""
  exp = Experiment(config)
  state, _ = jax.jit(exp.update_fn(), donate_argnums=0)(exp.place(exp.init_state()),
                                                        exp.device_batch(0))
  cpu_target = jax.device_put(parallel.to_host(state), jax.devices('cpu')[0])
  os.makedirs(workdir, exist_ok=True)
  directory = tempfile.mkdtemp(prefix='checkpoint_to_cpu_', dir=workdir)
  restored = None
  for action in ('save', 'restore'):
    ckpt = checkpoint_lib.Checkpointer(directory)
    try:
      if action == 'save':
        ckpt.save(1, state)
      else:
        restored = ckpt.restore(cpu_target, 1)
    finally:
      ckpt.close()
  platforms = sorted({d.platform for x in jax.tree.leaves(restored) for d in x.devices()})
  diff = compare_trees(host(state), host(restored))
  return {'saved_on': jax.devices()[0].platform, 'restored_on': platforms,
          'equal': diff['bit_identical'] and platforms == ['cpu'], 'max_abs': diff['max_abs']}
