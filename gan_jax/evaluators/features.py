"""`features`: image metrics in the space of a feature extractor.

FID, KID (mean and std over subsets), precision/recall (k=3), density/coverage (k=5), and where
the extractor gives class probabilities the Inception Score and what its classifier is sure of
(`confident_percent`: samples labelled with probability >= 0.9; `classes_present`: classes
that are the confident label of >= 1% of the samples; `class_kl`: KL of those labels to
uniform; metrics.confident_labels), between `eval.num_samples`
generated images (default 5,000) and every image of the reference split
(`eval.reference_split`), in the space of the extractor `eval.features` ('auto':
mnist_classifier for one-channel images, inception_v3 otherwise).
"""
from typing import Optional

import numpy as np

from gan_jax import metrics
from gan_jax.evaluators import base
from gan_jax.evaluators import extractors

KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
PR_K, DC_K, IS_SPLITS = 3, 5, 10


def feature_space(config, element_shape) -> str:
  """The extractor of eval.features, 'auto' resolved by the images' channels."""
  if config.eval.features != 'auto':
    return config.eval.features
  return 'mnist_classifier' if element_shape[-1] == 1 else 'inception_v3'


class Features(base.Evaluator):
  """FID & co. of generated images against the reference split."""
  name = 'features'
  default_num_samples = 5000
  metric_names = ('fid', 'kid', 'kid_std', 'inception_score', 'inception_score_std',
                  'precision', 'recall', 'density', 'coverage', 'confident_percent',
                  'classes_present', 'class_kl')

  @classmethod
  def rejects_data(cls, config, element_shape) -> Optional[str]:
    if len(element_shape) != 3:
      return (f'features evaluates images (H, W, C); data.source={config.data.source!r} has '
              f'elements of shape {tuple(element_shape)}; remove it from eval.evaluators.')
    return None

  @classmethod
  def rejects(cls, config, element_shape) -> Optional[str]:
    reason = cls.rejects_data(config, element_shape)
    if reason is None and feature_space(config, element_shape) == 'mnist_classifier' and (
        element_shape[-1] != 1):
      reason = (f'mnist_classifier takes one-channel images; the data has shape '
                f'{tuple(element_shape)}. Use eval.features=inception_v3.')
    return reason

  def __init__(self, config, source, element_shape, num_classes, cache):
    super().__init__(config, source, element_shape, num_classes, cache)
    self.features = feature_space(config, element_shape)
    self.extractor = extractors.extractor(self.features, config, cache)
    self.reference = extractors.reference_features(config, source, self.features,
                                                   self.extractor, cache)

  def describe(self) -> dict:
    return self.protocol(self.features, self.extractor.digest, self.config.eval.reference_split,
                         len(self.reference))

  def metrics_of_samples(self, samples) -> dict:
    feats, probs = self.extractor(samples)
    real = self.reference
    out = {'fid': metrics.fid_from_features(feats, real)}
    out['kid'], out['kid_std'] = metrics.kid(feats, real, KID_SUBSETS,
                                             min(KID_SUBSET_SIZE, len(feats), len(real)))
    if probs is not None:
      out['inception_score'], out['inception_score_std'] = metrics.inception_score(
          probs, min(IS_SPLITS, len(probs)))
      sure = metrics.confident_labels(probs)
      out['confident_percent'] = 100.0 * sure['confident_fraction']
      out['classes_present'] = sure['classes_present']
      out['class_kl'] = sure['class_kl'] if np.isfinite(sure['class_kl']) else None
    out['precision'], out['recall'] = metrics.precision_recall(real, feats, PR_K)
    out['density'], out['coverage'] = metrics.density_coverage(real, feats, DC_K)
    return out
