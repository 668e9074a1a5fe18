"""`mode_coverage` (VEEGAN, PacGAN) of the 2-D Gaussian mixtures (ring8, grid25).

Default 2,500 samples. Reported: modes captured, percent high quality (within 3 std of the
nearest mode), and KL(histogram of the high-quality samples over the modes || uniform), None
(undefined) when no sample is of high quality.
"""
from typing import Optional

import numpy as np

from gan_jax import metrics
from gan_jax.data import synthetic
from gan_jax.evaluators import base


class ModeCoverage(base.Evaluator):
  """Mode coverage of a 2-D mixture's modes by the generated points."""
  name = 'mode_coverage'
  default_num_samples = 2500
  own_metrics = '2-D points, evaluated by mode coverage'
  metric_names = ('modes_captured', 'high_quality_percent', 'kl_to_uniform')

  @classmethod
  def rejects_data(cls, config, element_shape) -> Optional[str]:
    if config.data.source not in synthetic.MIXTURES:
      return (f'mode_coverage evaluates the 2-D mixtures {sorted(synthetic.MIXTURES)}, not '
              f'data.source={config.data.source!r}; remove it from eval.evaluators.')
    return None

  def __init__(self, config, source, element_shape, num_classes, cache):
    super().__init__(config, source, element_shape, num_classes, cache)
    self.modes, self.std = synthetic.MIXTURES[config.data.source]

  def describe(self) -> dict:
    return self.protocol()

  def metrics_of_samples(self, samples) -> dict:
    r = metrics.mode_coverage(samples, self.modes, self.std)
    kl = r['kl_to_uniform']  # Undefined (None) when no sample is of high quality.
    return {'modes_captured': r['modes_captured'],
            'high_quality_percent': 100.0 * r['high_quality_fraction'],
            'kl_to_uniform': kl if np.isfinite(kl) else None}
