"""The downstream classifier's recipe scored on validation data drawn from the training split.

The recipe of gan_jax/classifier.py (`defaults()`) and its alternatives are compared without ever
looking at the test split: for a seed, `VALIDATION_PER_CLASS` examples of each class of the
*training* split are set aside for scoring, and the classifier trains on N examples per class of
the rest (as the augmentation protocol's `real` rows, data.class_subset) or on all of the rest.
The decision rule (`replaces`), fixed before the comparison ran: an alternative replaces the
default only if its mean validation accuracy is higher by more than the larger of the two
recipes' sample stds over seeds, in every setting. The comparison and its page are the study
experiments/studies/classifier_recipe.py (docs/classifier_recipe.md).
"""
from typing import Optional

import numpy as np

VALIDATION_PER_CLASS = {'mnist5k': 50, 'digits': 15}  # Examples per class set aside to score.
VALIDATION_SEED_OFFSET = 1000  # The validation part of seed s is drawn with seed s + 1000.


def split(labels_N, per_class: Optional[int], seed: int, n_val: int) -> tuple:
  """(training indices, validation indices) into labels_N, disjoint and both sorted: n_val
  examples of every class for validation (data.subset_indices with seed + 1000), then per_class
  examples of every class of the rest (seed), or the whole rest when per_class is None."""
  from gan_jax import data as data_lib
  labels_N = np.asarray(labels_N)
  val = data_lib.subset_indices(labels_N, n_val, seed + VALIDATION_SEED_OFFSET)
  rest = np.setdiff1d(np.arange(len(labels_N)), val)
  if per_class is None:
    return rest, val
  return rest[data_lib.subset_indices(labels_N[rest], per_class, seed)], val


def recipe(overrides: dict):
  """The classifier section: classifier.defaults() with `overrides` ({'steps': 400, ...})."""
  from gan_jax import classifier as classifier_lib
  cfg = classifier_lib.defaults()
  unknown = sorted(set(overrides) - set(cfg.keys()))
  if unknown:
    raise ValueError(f'Unknown classifier fields {unknown}; valid: {sorted(cfg.keys())}.')
  cfg.update(overrides)
  return cfg


def training_split(source: str):
  """The training split (a data.Dataset) of an image source ('mnist5k', 'digits')."""
  from gan_jax import configs
  from gan_jax import data as data_lib
  d = configs.base_config().data
  d.source = source
  return data_lib.get_split(data_lib.get_source(d), 'train')


def validation_accuracy(source: str, per_class: Optional[int], overrides: dict, seed: int,
                        n_val: Optional[int] = None, num_classes: int = 10) -> float:
  """Accuracy on the validation part (`split`) of `source`'s training split of the recipe
  `overrides`, trained with classical augmentation on the training part for `seed`."""
  from gan_jax import classifier as classifier_lib
  train = training_split(source)
  labels = train.labels_of(np.arange(train.size))
  n_val = VALIDATION_PER_CLASS[source] if n_val is None else n_val
  keep, val = split(labels, per_class, seed, n_val)
  cfg = recipe(overrides)
  params = classifier_lib.train(cfg, train.get(keep), labels[keep], num_classes, seed,
                                augment=True)
  return classifier_lib.accuracy(cfg, params, train.get(val), labels[val])


def wins(default: tuple, alternative: tuple) -> bool:
  """Whether (mean, std) `alternative` beats `default` in one setting: its mean is higher by
  more than the larger of the two stds."""
  return alternative[0] - default[0] > max(default[1], alternative[1])


def replaces(default: list, alternative: list) -> bool:
  """The decision rule: the alternative replaces the default only if it `wins` in every setting
  (lists of (mean, std), one per setting, in the same order)."""
  if len(default) != len(alternative) or not default:
    raise ValueError(f'replaces needs the same settings for both recipes, got {len(default)} '
                     f'and {len(alternative)}.')
  return all(wins(a, b) for a, b in zip(default, alternative))
