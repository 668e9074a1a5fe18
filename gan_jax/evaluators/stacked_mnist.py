"""`stacked_mnist` (PacGAN, VEEGAN): default 26,000 samples, each channel labelled by the
mnist_classifier; modes captured of the 1,000 digit triples and KL(histogram over the 1,000
triples || uniform)."""
from typing import Optional

import numpy as np

from gan_jax import metrics
from gan_jax.evaluators import base
from gan_jax.evaluators import extractors

NUM_MODES = 1000


def stacked_mnist_modes(probs_per_channel: list) -> np.ndarray:
  """Mode index 100*a + 10*b + c of each sample from the classes of its three channels."""
  labels = [np.argmax(p, axis=1) for p in probs_per_channel]
  return 100 * labels[0] + 10 * labels[1] + labels[2]


class StackedMnist(base.Evaluator):
  """Modes of Stacked MNIST, read back channel by channel by the mnist_classifier."""
  name = 'stacked_mnist'
  default_num_samples = 26000
  metric_names = ('modes_captured', 'kl_to_uniform')
  features = 'mnist_classifier'

  @classmethod
  def rejects_data(cls, config, element_shape) -> Optional[str]:
    if config.data.source != 'stacked_mnist':
      return ('stacked_mnist evaluates data.source=stacked_mnist (three digits as the channels), '
              f'not {config.data.source!r}; remove it from eval.evaluators.')
    return None

  @classmethod
  def rejects(cls, config, element_shape) -> Optional[str]:
    reason = cls.rejects_data(config, element_shape)
    if reason is None and config.eval.features not in ('auto', cls.features):
      reason = ('stacked_mnist is evaluated by labelling each channel with the '
                f'mnist_classifier; set eval.features to auto, not {config.eval.features!r}.')
    return reason

  def __init__(self, config, source, element_shape, num_classes, cache):
    super().__init__(config, source, element_shape, num_classes, cache)
    self.extractor = extractors.extractor(self.features, config, cache)

  def describe(self) -> dict:
    return self.protocol(self.features, self.extractor.digest)

  def metrics_of_samples(self, samples) -> dict:
    probs = [self.extractor(samples[..., c:c + 1])[1] for c in range(3)]
    r = metrics.histogram_coverage(stacked_mnist_modes(probs), NUM_MODES)
    return {'modes_captured': r['modes_captured'], 'kl_to_uniform': r['kl_to_uniform']}
