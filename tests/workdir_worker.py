"""One process of a multi-process training run on this machine (tests/test_workdir.py): a
dcgan_mnist:runlocal run without evaluation, checkpoints every 2 steps.

  python tests/workdir_worker.py WORKDIR OUT.npz COORDINATOR NUM_PROCESSES PROCESS_ID NUM_STEPS

Prints one line 'RESULT {json}': this process's index, the step it resumed from (None: a fresh
start) and, when the run failed with a UserError, that error (exit status 1)."""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

from gan_jax import xla_defaults  # noqa: E402

xla_defaults.apply()  # As gan_jax's entry points do, before JAX opens a backend.


def config(num_steps: int):
  """tests/conftest.py's tiny_config (the recipe the tests were written for), no evaluation."""
  from gan_jax import configs, sweep
  from tests.golden_runs import DCGAN_MNIST_BEFORE_ISSUE_16
  c = sweep.apply_overrides(configs.load_experiment(
      os.path.join(REPO, 'experiments', 'dcgan_mnist.py'), 'runlocal'), DCGAN_MNIST_BEFORE_ISSUE_16)
  c.train.num_steps = num_steps
  c.eval.evaluators = ()
  return c


def main(workdir: str, out: str, coordinator: str, num_processes: int, process_id: int,
         num_steps: int) -> int:
  from gan_jax import parallel
  parallel.initialize_distributed(coordinator, num_processes, process_id)
  import jax
  import numpy as np
  from gan_jax import checkpoint as checkpoint_lib
  from gan_jax import errors, train
  resumed = []
  restore_latest = checkpoint_lib.Checkpointer.restore_latest

  def recording(self, target):  # The step this process restored.
    state, step = restore_latest(self, target)
    resumed.append(step)
    return state, step
  checkpoint_lib.Checkpointer.restore_latest = recording
  result = {'process': jax.process_index(), 'processes': jax.process_count()}
  try:
    state = train.train_and_evaluate(config(num_steps), workdir)
  except errors.UserError as e:
    print('RESULT ' + json.dumps({**result, 'error': f'{type(e).__name__}: {e}'}), flush=True)
    return 1
  np.savez(out, *parallel.to_host(jax.tree.leaves(state)))
  print('RESULT ' + json.dumps({**result, 'resumed': resumed}), flush=True)
  return 0


if __name__ == '__main__':
  workdir_, out_, coordinator_, n, i, steps = sys.argv[1:]
  sys.exit(main(workdir_, out_, coordinator_, int(n), int(i), int(steps)))
