"""The cost of checkpoint.py's digests: saves and restores of dcgan_mnist's default state with
them and with orbax alone, measured in a child process (`python -m tests.chaos
--digest-cost-child DIR N`: the harness itself imports no JAX)."""
import json
import os
import shutil
import subprocess
import time

from tests.chaos.launch import LAUNCH_TIMEOUT_S, REPO, Setup

DIGEST_COST_SAVES = 15


def digest_cost(setup: Setup, saves: int = DIGEST_COST_SAVES) -> dict:
  """Save and restore times of dcgan_mnist's default state with checkpoint.py's digests and
  without (orbax alone), medians of `saves` each; measured in a child process. {'error': ...}
  when the child failed."""
  directory = os.path.join(setup.root, 'digest_cost')
  shutil.rmtree(directory, ignore_errors=True)
  command = [setup.python, '-m', 'tests.chaos', '--digest-cost-child', directory, str(saves)]
  r = subprocess.run(command, cwd=setup.repo, env=setup.env(), capture_output=True, text=True,
                     timeout=LAUNCH_TIMEOUT_S)
  lines = [line for line in r.stdout.splitlines() if line.startswith('RESULT ')]
  if r.returncode != 0 or not lines:
    return {'error': f'exit {r.returncode}: ' + '\n'.join(r.stderr.splitlines()[-8:])}
  cost = json.loads(lines[-1][len('RESULT '):])
  setup.log(f'digest cost: {digest_sentence(cost)}')
  return cost


def _median_ms(times: list) -> float:
  return round(1000 * sorted(times)[len(times) // 2], 1)


def _interleaved(fns: dict, n: int) -> dict:
  """'<name>_ms': the median time of fn(i) for i = 1..n, the fns called in turn (in alternating
  order), after a round at i = 0 that is not counted."""
  times = {name: [] for name in fns}
  for i in range(n + 1):
    for name in sorted(fns, reverse=bool(i % 2)):
      t = time.perf_counter()
      fns[name](i)
      if i:
        times[name].append(time.perf_counter() - t)
  return {f'{name}_ms': _median_ms(t) for name, t in times.items()}


def _noisy_state(exp):
  """dcgan_mnist's initial state with N(0, 1) added to every float array (as after training:
  the optimizer moments are no longer zeros), placed on the mesh."""
  import jax
  import numpy as np
  rng = np.random.default_rng(0)
  host = jax.device_get(exp.init_state())
  return exp.place(jax.tree.map(
      lambda x: (x + rng.normal(size=x.shape)).astype(x.dtype)
      if np.issubdtype(x.dtype, np.floating) else x, host))


def digest_cost_child(directory: str, saves: int) -> dict:
  """The measurement itself: `saves` saves into a plain orbax CheckpointManager (the options
  checkpoint.Checkpointer gives it) and into a Checkpointer, interleaved, after one of each
  not counted; then as many restores of the last one by each; then the digests alone."""
  from gan_jax import xla_defaults
  xla_defaults.apply()  # As gan_jax.main does, before JAX opens a backend.
  import jax
  import orbax.checkpoint as ocp
  from gan_jax import checkpoint as checkpoint_lib, configs
  from gan_jax.experiment import Experiment
  exp = Experiment(configs.load_experiment(os.path.join(REPO, 'experiments', 'dcgan_mnist.py')))
  state = _noisy_state(exp)
  plain = ocp.CheckpointManager(
      os.path.join(directory, 'plain'), item_handlers=ocp.StandardCheckpointHandler(),
      options=ocp.CheckpointManagerOptions(max_to_keep=3, create=True,
                                           enable_async_checkpointing=False,
                                           cleanup_tmp_directories=True))
  ours = checkpoint_lib.Checkpointer(os.path.join(directory, 'digests'))
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)

  def save_plain(step):
    plain.save(step, args=ocp.args.StandardSave(state))
    plain.wait_until_finished()
  save = _interleaved({'save_without': save_plain, 'save_with': lambda i: ours.save(i, state)},
                      saves)
  restore = _interleaved({
      'restore_without': lambda i: plain.restore(saves, args=ocp.args.StandardRestore(abstract)),
      'restore_with': lambda i: ours.restore(state, saves)}, saves)
  digests = _interleaved({
      'array_digests': lambda i: checkpoint_lib.array_digests(state),
      'file_digests': lambda i: checkpoint_lib.file_digests(ours.step_dir(saves))}, saves)
  ours.close()
  plain.close()
  leaves = jax.tree.leaves(state)
  return {'state_mb': round(sum(x.nbytes for x in leaves) / 1e6, 2), 'arrays': len(leaves),
          'saves': saves, 'devices': jax.device_count(), **save, **restore, **digests}


def digest_sentence(c: dict) -> str:
  """The measurement in one sentence, for the page and the log."""
  if 'error' in c:
    return f'not measured: {c["error"]}'
  extra = c['save_with_ms'] - c['save_without_ms']
  return (f'saving dcgan_mnist\'s default state ({c["state_mb"]} MB in {c["arrays"]} arrays, '
          f'random values) took {c["save_without_ms"]} ms with orbax alone and '
          f'{c["save_with_ms"]} ms with the digests ({extra:+.1f} ms, '
          f'{100 * extra / c["save_without_ms"]:+.0f}%; medians of {c["saves"]} saves each, '
          f'interleaved); the digests alone: {c["array_digests_ms"]} ms for the arrays (from the '
          f'device), {c["file_digests_ms"]} ms for the files. Restoring it took '
          f'{c["restore_without_ms"]} ms with orbax alone and {c["restore_with_ms"]} ms through '
          'checkpoint.Checkpointer.restore (the saved tree compared with the state\'s, as '
          'before the digests, then its files and restored arrays checked against their '
          'digests; medians as well).')
