"""Evaluators: a registry of protocols chosen by `config.eval.evaluators`.

Each entry is one module here whose class declares the data it accepts, its default sample
count and its metric names (gan_jax/evaluators/base.py). `eval.evaluators` is a tuple of
registry names; 'auto' stands for the first automatic entry, in registry order (specific before
general), whose data this is: the 2-D mixtures get `mode_coverage`, stacked_mnist gets
`stacked_mnist`, token sequences get `text`, other images get `features`. `eval.features='none'`
or an empty tuple turns evaluation off. A new evaluator is a module here plus one line in
EVALUATORS.
"""
from typing import Optional

import ml_collections
from ml_collections import config_dict

from gan_jax.evaluators import features
from gan_jax.evaluators import mode_coverage
from gan_jax.evaluators import stacked_mnist
from gan_jax.evaluators import text
from gan_jax.evaluators.base import EVAL_FEATURES, EvalError, Evaluator
from gan_jax.validation import failed, is_int

EVALUATORS = {
    'mode_coverage': mode_coverage.ModeCoverage,
    'stacked_mnist': stacked_mnist.StackedMnist,
    'text': text.Text,
    'features': features.Features,
}
AUTO = 'auto'


BN_STATS = ('running', 'standing')  # eval.bn_stats.


def defaults() -> ml_collections.ConfigDict:
  """The eval section of the config, with its defaults."""
  e = ml_collections.ConfigDict()
  # Registry names (EVALUATORS) or 'auto' (the evaluator of this data); (): no evaluation.
  e.evaluators = (AUTO,)
  e.features = 'auto'  # auto | mnist_classifier | inception_v3 | none (no evaluation)
  e.num_samples = config_dict.placeholder(int)  # None: each evaluator's default.
  e.batch_size = 500  # Generator and extractor chunk size.
  e.reference_split = 'train'  # Real images that FID & co. compare against.
  e.inception_weights = config_dict.placeholder(str)  # .npz (scripts/convert_...).
  # G's batch norm when it samples (pictures and evaluation): 'running', the running averages
  # of training; 'standing', the statistics of the sampling parameters (the EMA's, if kept)
  # measured on 1,024 latents in training mode (BigGAN's standing statistics; sampling.py).
  e.bn_stats = 'running'
  # Token sequences (the `text` evaluator): G's per-position distributions become tokens by
  # 'argmax' (Gulrajani et al.'s softmax G) or 'sample' (a seeded categorical draw per position:
  # the Gumbel-max sample of a Gumbel-softmax G).
  e.text_decode = 'argmax'
  return e


def problems(config) -> list:
  """Every problem of the eval section, each naming the field and its valid values."""
  e = config.eval
  names, valid = e.get('evaluators'), [AUTO, *EVALUATORS]
  checks = [
      (e.bn_stats in BN_STATS,
       f'Unknown eval.bn_stats {e.bn_stats!r}; valid: {list(BN_STATS)}.'),
      (e.text_decode in text.DECODES,
       f'Unknown eval.text_decode {e.text_decode!r}; valid: {list(text.DECODES)}.'),
      (e.features in EVAL_FEATURES,
       f'Unknown eval.features {e.features!r}; valid: {list(EVAL_FEATURES)}.'),
      (e.num_samples is None or (is_int(e.num_samples) and e.num_samples >= 2),
       'eval.num_samples must be an integer >= 2 or None (the protocol\'s default), '
       f'got {e.num_samples!r}.'),
      (is_int(e.batch_size) and e.batch_size > 0,
       f'eval.batch_size must be a positive integer, got {e.batch_size!r}.'),
      (isinstance(names, (tuple, list)),
       f'eval.evaluators must be a tuple of names from {valid}, got {names!r}.')]
  if isinstance(names, (tuple, list)):
    unknown = [n for n in names if n not in valid]
    twice = sorted({n for n in names if n in valid and list(names).count(n) > 1})
    checks += [(not unknown, f'Unknown eval.evaluators {unknown}; valid: {valid}.'),
               (not twice, f'eval.evaluators lists {twice} more than once; list each once.')]
  return failed(checks)


def auto(config, element_shape) -> type:
  """The evaluator 'auto' stands for: the first automatic entry that takes this data."""
  reasons = []
  for cls in EVALUATORS.values():
    if cls.automatic:
      reason = cls.rejects_data(config, element_shape)
      if reason is None:
        return cls
      reasons.append(reason)
  raise EvalError(f'No evaluator takes data.source={config.data.source!r} (shape '
                  f'{tuple(element_shape)}): {" ".join(reasons)} Set eval.evaluators=() to '
                  'train without evaluation.')


def select(config, element_shape) -> list:
  """The evaluator classes that config.eval selects for this data, in order; [] when evaluation
  is off. Raises EvalError, before anything is built, when one cannot evaluate it."""
  e = config.eval
  if e.features == 'none':
    return []
  chosen = []
  for name in e.evaluators:
    cls = auto(config, element_shape) if name == AUTO else EVALUATORS[name]
    if cls not in chosen:
      chosen.append(cls)
  reasons = [r for r in (cls.rejects(config, element_shape) for cls in chosen) if r]
  if reasons:
    raise EvalError(' '.join(reasons))
  check_metric_names(chosen)
  return chosen


def check_metric_names(classes) -> None:
  """Raises EvalError when two evaluators would report a metric of the same name."""
  seen = {}
  for cls in classes:
    for metric in cls.metric_names:
      if metric in seen:
        raise EvalError(f'Evaluators {seen[metric]!r} and {cls.name!r} both report {metric!r}; '
                        'select only one of them in eval.evaluators.')
      seen[metric] = cls.name


def build(config, source, element_shape, num_classes: int,
          cache: Optional[dict] = None) -> list:
  """The selected evaluators, built: extractors loaded and reference features computed.

  `cache`: a dict the caller owns and may pass to several builds (a sweep's points share
  reference features through it); None: nothing is kept beyond the evaluators built here.
  """
  classes = select(config, element_shape)
  cache = {} if cache is None else cache
  return [cls(config, source, element_shape, num_classes, cache) for cls in classes]


__all__ = ['AUTO', 'EVALUATORS', 'EVAL_FEATURES', 'EvalError', 'Evaluator', 'auto', 'build',
           'check_metric_names', 'defaults', 'problems', 'select']
