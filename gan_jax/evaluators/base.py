"""The evaluator interface: what one registry entry declares about itself and implements.

An evaluator is one protocol of eval.json (mode coverage, Stacked MNIST, image features, ...).
Its class declares, before anything is built:
- `name`: its registry name, also the protocol's `kind` in eval.json;
- `default_num_samples`: how many generated samples it takes when `eval.num_samples` is None;
- `metric_names`: every number it may report (names must not collide with another selected
  evaluator's, since each seed's numbers are one flat dict);
- `automatic`: whether `eval.evaluators=('auto',)` may choose it;
- `rejects_data(config, element_shape)`: why the data is not for it (None: it is), which
  'auto' uses to pick an evaluator;
- `rejects(config, element_shape)`: why it cannot evaluate this config (the data and its eval.*
  options), with the fix; None: it can. An evaluator that uses no feature extractor says what
  its data are and how it evaluates them (`own_metrics`), and then takes eval.features=auto only.
An instance is built once per run from explicit inputs, then gives `describe()` (its part of
eval.json's protocol) and `metrics_of_samples(samples)` (its numbers for one seed's samples).
"""
from typing import Optional

from gan_jax import errors

# eval.features: the feature extractor of image metrics; 'none': no evaluation at all.
EVAL_FEATURES = ('auto', 'mnist_classifier', 'inception_v3', 'none')


class EvalError(errors.UserError, ValueError):
  """Evaluation cannot run as configured; the message says why and what to do."""


class Evaluator:
  """Base of the registry entries; see the module docstring for what a subclass declares."""
  name: str = ''
  default_num_samples: int = 0
  metric_names: tuple = ()
  automatic: bool = True
  own_metrics: str = ''  # E.g. '2-D points, evaluated by mode coverage': no eval.features.

  @classmethod
  def rejects_data(cls, config, element_shape) -> Optional[str]:
    return None

  @classmethod
  def rejects(cls, config, element_shape) -> Optional[str]:
    reason = cls.rejects_data(config, element_shape)
    if reason is None and cls.own_metrics and config.eval.features != 'auto':
      reason = (f'{config.data.source!r} is {cls.own_metrics}; set eval.features to auto (or '
                f'none), not {config.eval.features!r}.')
    return reason

  def __init__(self, config, source, element_shape, num_classes: int, cache: dict):
    """`source`: the data source (gan_jax.data.Source); `num_classes`: a conditional G's class
    count (0: unconditional); `cache`: a dict shared with the caller, for what outlives one run
    (reference features, extractors)."""
    del source, element_shape, num_classes, cache
    self.config = config
    self.num_samples = config.eval.num_samples or self.default_num_samples

  def describe(self) -> dict:
    """This evaluator's protocol: what its numbers were measured under."""
    raise NotImplementedError

  def metrics_of_samples(self, samples) -> dict:
    """{metric: number or None (undefined)} of one seed's `num_samples` generated samples."""
    raise NotImplementedError

  def protocol(self, features=None, digest=None, reference_split=None,
               num_reference=None) -> dict:
    """The protocol fields every evaluator writes, in eval.json's order."""
    return {'kind': self.name, 'features': features, 'features_sha256': digest,
            'num_generated': self.num_samples, 'data': self.config.data.source,
            'reference_split': reference_split, 'num_reference': num_reference}
