"""Run kind 'classifier': one training of the downstream classifier scored on validation data.

A run trains gan_jax/classifier.py's recipe (its defaults with run.args['overrides']) for one
seed on run.args['data']'s training split less a validation part, and scores it on that part
(gan_jax/classifier_validation.py; never on the test split). run.args:
  data                 'mnist5k' or 'digits';
  per_class            N training examples per class, or None for the whole rest of the split;
  recipe               the recipe's name on the page; overrides: its classifier fields;
  validation_per_class examples per class set aside for scoring;
  seed                 the run's seed (as run.seed: here so that the config hash has it).
Result: {'accuracy' (fraction of the validation part), 'seconds' (wall time of the training and
scoring, in this process)}.
"""
import time

from gan_jax.study import kinds
from gan_jax.study import result_files


def config(run):
  """Not a gan_jax experiment: the args are the whole run (the config hash hashes them)."""
  del run
  return None


def train(run, run_dir: str) -> None:
  from gan_jax import xla_defaults
  xla_defaults.apply()  # As gan_jax's entry points, while JAX's backend is not yet open.
  from gan_jax import classifier_validation
  a = run.args
  if a.get('seed') != run.seed:
    raise ValueError(f'Run {run.name}: args seed {a.get("seed")!r} is not its seed {run.seed}.')
  start = time.time()
  accuracy = classifier_validation.validation_accuracy(
      a['data'], a['per_class'], a['overrides'], run.seed, a['validation_per_class'])
  result_files.save(run, run_dir, {'accuracy': accuracy,
                                   'seconds': round(time.time() - start, 1)})


def result(run, run_dir: str):
  return result_files.load(run, run_dir)


KIND = kinds.Kind(config=config, train=train, result=result)
