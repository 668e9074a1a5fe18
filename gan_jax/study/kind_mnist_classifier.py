"""Run kind 'mnist_classifier': trains the evaluation classifier and scores it on mnist5k test.

The classifier of gan_jax/metrics/mnist_classifier.py, trained by
gan_jax/mnist_classifier_training.py on mnist5k's training split and scored on its 500 test
digits. run.args: seed, epochs, batch_size, lr, max_shift (pixels); train_size (the first N
training digits, None for all 4,500); install (a path from the repository root where the weights
are copied once trained, e.g. gan_jax/metrics/weights/mnist_classifier.npz, the committed weights
every evaluation loads; None keeps them in the run directory only). The weights are always
written to <run dir>/mnist_classifier.npz.
Result: {'accuracy', 'per_class' (accuracy on each digit's test images), 'train_digits',
'test_digits', 'params' (count), 'bytes' and 'digest' (sha256 prefix) of the weights file,
'weights' (the install path or None), 'seconds' (data, training and scoring), 'platform'}.
"""
import os
import shutil
import time

from gan_jax.study import kinds
from gan_jax.study import result_files

WEIGHTS_FILE = 'mnist_classifier.npz'


def config(run):
  """Not a gan_jax experiment: the args are the whole run (the config hash hashes them)."""
  del run
  return None


def _data(train_size):
  """((x_train, y_train), (x_test, y_test)) of mnist5k, images float in [-1, 1]."""
  from gan_jax import data as data_lib
  from gan_jax.data import offline
  splits = offline.load_mnist5k()
  (x_train, y_train), (x_test, y_test) = splits['train'], splits['test']
  if train_size is not None:
    x_train, y_train = x_train[:train_size], y_train[:train_size]
  return ((data_lib.uint8_to_float(x_train), y_train),
          (data_lib.uint8_to_float(x_test), y_test))


def train(run, run_dir: str) -> None:
  from gan_jax import xla_defaults
  xla_defaults.apply()  # As gan_jax's entry points, while JAX's backend is not yet open.
  import jax
  from gan_jax import mnist_classifier_training as training
  from gan_jax.metrics import mnist_classifier as mc
  a, start = run.args, time.time()
  if a.get('seed') != run.seed:
    raise ValueError(f'Run {run.name}: args seed {a.get("seed")!r} is not its seed {run.seed}.')
  (x_train, y_train), held_out = _data(a['train_size'])
  params = training.train(x_train, y_train, run.seed, a['epochs'], a['batch_size'], a['lr'],
                          a['max_shift'], held_out)
  accuracy, per_class = training.evaluate(params, *held_out)
  os.makedirs(run_dir, exist_ok=True)
  path = os.path.join(run_dir, WEIGHTS_FILE)
  mc.save_params(params, path)
  if a['install']:
    shutil.copyfile(path, os.path.join(kinds.ROOT, a['install']))
  result_files.save(run, run_dir, {
      'accuracy': accuracy, 'per_class': per_class, 'train_digits': len(x_train),
      'test_digits': len(held_out[0]), 'params': training.num_params(params),
      'bytes': os.path.getsize(path), 'digest': mc.file_digest(path), 'weights': a['install'],
      'seconds': round(time.time() - start, 1), 'platform': jax.devices()[0].platform})


def result(run, run_dir: str):
  return result_files.load(run, run_dir)


KIND = kinds.Kind(config=config, train=train, result=result)
