"""Run kind 'ttq_torch': the PyTorch reference of the time-to-quality benchmark (kind 'ttq').

../shared/bench/torch_reference.py's dcgan28 trains with its own recipe (batch `args['batch']`,
Adam 2e-4 / 0.5, non-saturating loss, PyTorch initialisation; scripts/ttq_torch.py, run by
.venv-torch/bin/python: `make torch-venv`) on the training images of run.config's data, on its
own clock from the launch of its process; when it passes each of `args['budgets']` (minutes) it
draws the samples the protocol takes from G in training mode (as the PyTorch DCGAN example
samples; off the clock). Each snapshot is scored by run.config's evaluation protocol
(gan_jax/snapshots.py). Without .venv-torch or the reference the run fails with one line.

The result: {'snapshots': {budget: {the protocol's numbers, 'step', 'seconds'}}, 'conditional':
False (the reference uses no labels), 'seconds': its clock at the last budget}.
"""
import os
import shutil
import subprocess
import time
from typing import Optional

import numpy as np

from absl import logging

from gan_jax import atomic_files
from gan_jax import configs
from gan_jax.study import kind_ttq
from gan_jax.study import kinds

TORCH_PYTHON = os.path.join(kinds.ROOT, '.venv-torch', 'bin', 'python')
REFERENCE = os.path.join(os.path.dirname(kinds.ROOT), 'shared', 'bench', 'torch_reference.py')
SCRIPT = os.path.join(kinds.ROOT, 'scripts', 'ttq_torch.py')
ARGS = ('budgets', 'batch')
USED = ('data.', 'eval.')  # The fields of run.config the reference's numbers depend on.


class TorchMissing(RuntimeError):
  """The torch venv or the reference file is absent; the message says which and how to fix."""


def require_torch() -> None:
  for path, what in ((TORCH_PYTHON, 'made by `make torch-venv`'),
                     (REFERENCE, 'the shared benchmark\'s reference models')):
    if not os.path.exists(path):
      raise TorchMissing(f'{path} is missing ({what}); the torch reference run needs it.')


def check(run) -> None:
  """The kind's config: None (not a gan_jax run: its hash is over run.config and its args),
  after checking the args (a one-line ConfigError)."""
  kind_ttq.check_args(run, ARGS)
  kind_ttq.budgets(run)
  batch = run.args.get('batch', 64)
  if not isinstance(batch, int) or isinstance(batch, bool) or batch <= 0:
    raise configs.ConfigError(f'Run {run.name}: args batch must be a positive integer, got '
                              f'{batch!r}.')


def protocol(run):
  """run.config with its overrides: the data the reference trains on and the protocol."""
  return kinds.experiment_config(run)


def write_training_images(config, path: str) -> None:
  """The training split's images as torch takes them: (N, 1, 28, 28) float32 in [-1, 1]."""
  from gan_jax import data as data_lib
  split = data_lib.get_split(data_lib.get_source(config.data), config.data.split)
  images = split.get(np.arange(split.size))
  np.save(path, np.ascontiguousarray(images.transpose(0, 3, 1, 2), np.float32))


def train_torch(run, run_dir: str, config) -> None:
  """Trains the reference afresh in run_dir (its clock starts at the launch)."""
  from gan_jax import snapshots
  shutil.rmtree(run_dir, ignore_errors=True)
  os.makedirs(run_dir)
  data = os.path.join(run_dir, 'train.npy')
  write_training_images(config, data)
  cmd = [TORCH_PYTHON, SCRIPT, f'--reference={REFERENCE}', f'--data={data}', f'--out={run_dir}',
         '--budgets=' + ','.join(kind_ttq.key(b) for b in kind_ttq.budgets(run)),
         f'--batch={run.args.get("batch", 64)}', f'--seed={run.seed}',
         f'--num_samples={snapshots.num_samples(config)}']
  logging.info('%s', ' '.join(cmd))
  subprocess.run(cmd + [f'--start={time.time()}'], cwd=kinds.ROOT, check=True)


def sample_path(run_dir: str, budget: float) -> str:
  return os.path.join(run_dir, f'samples_{kind_ttq.key(budget)}.npz')


def train(run, run_dir: str) -> None:
  """Trains the reference (unless its samples at every budget are there, drawn for this run),
  scores each budget's samples, writes ttq.json."""
  from gan_jax import snapshots
  require_torch()
  check(run)
  config, minutes = protocol(run), kind_ttq.budgets(run)
  marker = os.path.join(run_dir, kind_ttq.TIMELINE)
  made = kinds.read_json(marker)
  if not (made and made.get('made_for') == kind_ttq.identity(run, kind_ttq.flat(config, USED))):
    train_torch(run, run_dir, config)
    atomic_files.write_json(marker, {'made_for': kind_ttq.identity(
        run, kind_ttq.flat(config, USED))}, indent=1)
  cache, out = {}, {}
  for b in minutes:
    snap = np.load(sample_path(run_dir, b))
    out[kind_ttq.key(b)] = {**snapshots.score_images(config, snap['images'], cache),
                            'step': int(snap['step']),
                            'seconds': round(float(snap['seconds']), 1)}
  result = {'snapshots': out, 'conditional': False,
            'seconds': out[kind_ttq.key(minutes[-1])]['seconds']}
  kind_ttq.write_result(run, run_dir, kind_ttq.flat(config, USED), result)


def result(run, run_dir: str) -> Optional[dict]:
  return kind_ttq.saved_result(run, run_dir, kind_ttq.flat(protocol(run), USED))


KIND = kinds.Kind(config=check, train=train, result=result)
