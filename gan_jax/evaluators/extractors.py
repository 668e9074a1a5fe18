"""Feature extractors and reference features for the evaluators that read images through a
network, kept in the caller's cache (gan_jax/evaluators/__init__.py:build)."""
import numpy as np

from gan_jax import data as data_lib
from gan_jax.evaluators.base import EvalError


def make_extractor(name: str, config):
  """The extractor `name` ('mnist_classifier' or 'inception_v3'), chunked by eval.batch_size;
  EvalError naming the missing file when its weights are absent."""
  if name == 'mnist_classifier':
    from gan_jax.metrics import mnist_classifier
    try:
      return mnist_classifier.Extractor(chunk=config.eval.batch_size)
    except FileNotFoundError as e:
      raise EvalError(str(e)) from e
  if name == 'inception_v3':
    from gan_jax.metrics import inception
    try:
      return inception.Extractor(config.eval.inception_weights, chunk=config.eval.batch_size)
    except inception.WeightsError as e:
      raise EvalError(str(e)) from e
  raise EvalError(f'Unknown feature extractor {name!r}.')


def extractor(name: str, config, cache: dict):
  """make_extractor's result, built once per (name, chunk, weights) in `cache`."""
  key = ('extractor', name, config.eval.batch_size, config.eval.inception_weights)
  if key not in cache:
    cache[key] = make_extractor(name, config)
  return cache[key]


def reference_features(config, source, name: str, ext, cache: dict) -> np.ndarray:
  """Features of every image of eval.reference_split, computed once per (data, split,
  extractor) in `cache`."""
  d = config.data
  key = ('reference', d.source, d.image_size, d.data_dir, d.get('channels'),
         d.get('test_fraction'), d.get('bad_files'), config.eval.reference_split, name,
         ext.digest)
  if key not in cache:
    ref = data_lib.get_split(source, config.eval.reference_split)
    cache[key] = ext(ref.get(np.arange(ref.size)))[0]
  return cache[key]
