"""Runs in a subprocess with several CPU devices or as one of several processes (test_parallel)."""
import json
import os
import sys

from gan_jax import xla_defaults

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
xla_defaults.apply()  # As gan_jax's entry points do, before JAX opens a backend.


def equivalence(num_steps: int, sync_bn: bool, num_seeds: int = 1, steps_per_call: int = 1):
  """N data-parallel steps over all local devices vs N single-device steps, same batches.

  With num_seeds > 1 the reference is each seed's own single-device run, stacked."""
  import jax
  import numpy as np
  from gan_jax import configs
  from gan_jax import state as state_lib
  from gan_jax.experiment import Experiment
  config = tiny_config()
  config.data.batch_size = 16
  config.model.sync_bn = sync_bn
  config.num_seeds = num_seeds
  config.train.steps_per_call = steps_per_call
  exp = Experiment(config)
  parallel_update = jax.jit(exp.update_fn())
  single_update = jax.jit(exp.reference_update())
  par = exp.place(exp.init_state())
  singles = [state_lib.replica(exp.init_state(), i) for i in range(num_seeds)]
  for t in range(0, num_steps, steps_per_call):
    par, m_par = parallel_update(par, exp.device_batch(t))
  for i, seed_batcher in enumerate(exp.batchers):
    for t in range(num_steps):
      singles[i], m_single = single_update(
          singles[i], seed_batcher.step_batch(t, config.optim.n_critic))
  single = state_lib.stack_replicas(singles)
  m_par = jax.tree.map(lambda x: np.asarray(x).reshape(-1)[-1], m_par)  # Last step, last seed.
  diffs = [float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
           for a, b in zip(jax.tree.leaves(par), jax.tree.leaves(single))]
  scales = [float(np.max(np.abs(np.asarray(b)))) for b in jax.tree.leaves(single)]
  replicas_equal = all(
      all(np.array_equal(np.asarray(s.data), np.asarray(x.addressable_data(0)))
          for s in x.addressable_shards) for x in jax.tree.leaves(par))
  return {'devices': exp.mesh.size, 'max_abs_diff': max(diffs),
          'max_rel_diff': max(d / max(s, 1e-12) for d, s in zip(diffs, scales)),
          'replicas_equal': replicas_equal,
          'metrics_diff': max(abs(float(m_par[k]) - float(m_single[k])) for k in m_par)}


def tiny_config():
  """dcgan_mnist:runlocal with the recipe these checks were written for (tests/conftest.py's
  tiny_config: no DiffAugment, whose per-device draws a one-device reference does not repeat)."""
  from gan_jax import configs
  if REPO not in sys.path:
    sys.path.insert(0, REPO)
  from gan_jax import sweep
  from tests.golden_runs import DCGAN_MNIST_BEFORE_ISSUE_16
  return sweep.apply_overrides(configs.load_experiment(
      os.path.join(REPO, 'experiments', 'dcgan_mnist.py'), 'runlocal'), DCGAN_MNIST_BEFORE_ISSUE_16)


def bad_batch():
  from gan_jax import configs, parallel
  from gan_jax.experiment import Experiment
  config = tiny_config()
  config.data.batch_size = 12
  try:
    Experiment(config)
  except parallel.ParallelError as e:
    return {'error': str(e)}
  return {'error': None}


def train_run(workdir: str, out: str, coordinator=None, num_processes=None, process_id=None):
  """A runlocal training run (one of several processes when a coordinator is given); saves this
  process's replica of the final state to `out` (.npz)."""
  from gan_jax import parallel
  parallel.initialize_distributed(coordinator, num_processes, process_id)
  import jax
  import numpy as np
  from gan_jax import configs, train
  config = tiny_config()
  state = train.train_and_evaluate(config, workdir)
  leaves = parallel.to_host(jax.tree.leaves(state))
  np.savez(out, *leaves)
  return {'process': jax.process_index(), 'processes': jax.process_count(),
          'devices': jax.device_count()}


if __name__ == '__main__':
  mode = sys.argv[1]
  if mode == 'equivalence':
    result = equivalence(int(sys.argv[2]), sys.argv[3] == 'sync', *map(int, sys.argv[4:]))
  elif mode == 'bad_batch':
    result = bad_batch()
  elif mode == 'train':
    result = train_run(sys.argv[2], sys.argv[3])
  elif mode == 'train_process':
    result = train_run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
  else:
    raise SystemExit(f'unknown mode {mode}')
  print('RESULT ' + json.dumps(result))
