"""`features`: image metrics in the space of a feature extractor.

FID, KID (mean and std over subsets), precision/recall (k=3), density/coverage (k=5), and where
the extractor gives class probabilities the Inception Score and what its classifier is sure of
(`confident_percent`: samples labelled with probability >= 0.9; `classes_present`: classes
that are the confident label of >= 1% of the samples; `class_kl`: KL of those labels to
uniform; metrics.confident_labels), between `eval.num_samples`
generated images (default 5,000) and every image of the reference split
(`eval.reference_split`), in the space of the extractor `eval.features` ('auto':
mnist_classifier for one-channel images, inception_v3 otherwise). Your own images (`folder:`,
`npz:`) are measured in the mnist_classifier space only where it fits, 28x28x1 images; otherwise
in the Inception space, which needs `eval.inception_weights`: without them the run is refused
before anything compiles, with one line saying what evaluation is available. In the
mnist_classifier space own images are seen through a classifier of the ten MNIST digits: FID & co.
are distances between its features, but its class numbers (`DIGIT_CLASS_METRICS`) would count
digits in images that need not be digits, so they are None there, and the protocol says so
(`features_note`).
"""
from typing import Optional

import numpy as np

from gan_jax import metrics
from gan_jax.data import own_images
from gan_jax.evaluators import base
from gan_jax.evaluators import extractors

KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
PR_K, DC_K, IS_SPLITS = 3, 5, 10
MNIST_SHAPE = (28, 28, 1)  # Where the mnist_classifier space fits own images.
DIGIT_CLASS_METRICS = ('inception_score', 'inception_score_std', 'confident_percent',
                       'classes_present', 'class_kl')  # From the classifier's class labels.
OWN_IMAGES_NOTE = ('features of a classifier of the ten MNIST digits (mnist_classifier), applied '
                   'to own images that need not be digits; its digit-class numbers ('
                   + ', '.join(DIGIT_CLASS_METRICS) + ') are not reported (None)')


def feature_space(config, element_shape) -> str:
  """The extractor of eval.features, 'auto' resolved by the images' channels (own images:
  mnist_classifier for 28x28x1 only)."""
  if config.eval.features != 'auto':
    return config.eval.features
  if own_images.kind(config.data.source):
    return 'mnist_classifier' if tuple(element_shape) == MNIST_SHAPE else 'inception_v3'
  return 'mnist_classifier' if element_shape[-1] == 1 else 'inception_v3'


def digit_classes_apply(config, space: str) -> bool:
  """Whether the digit classifier's class numbers mean something: not for own images."""
  return space != 'mnist_classifier' or not own_images.kind(config.data.source)


def _own_images_reason(config, element_shape, space: str) -> Optional[str]:
  """Why the feature space does not fit own images (None: it does), with what is available."""
  shape = tuple(element_shape)
  where = f'data.source={config.data.source!r} has images of shape {shape}'
  if space == 'mnist_classifier' and shape != MNIST_SHAPE:
    return (f'{where}: the mnist_classifier space fits only 28x28x1 digits; use '
            'eval.features=inception_v3 with eval.inception_weights, or eval.evaluators=() to '
            'train without evaluation.')
  if space == 'inception_v3' and not config.eval.inception_weights:
    return (f'{where}: FID & co. need the Inception features here (the mnist_classifier space '
            'fits only 28x28x1), so set eval.inception_weights to the converted FID Inception '
            '.npz (scripts/convert_inception_weights.py), or eval.evaluators=() to train '
            'without evaluation.')
  return None


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
    space = None if reason else feature_space(config, element_shape)
    if reason is None and space == 'mnist_classifier' and element_shape[-1] != 1:
      reason = (f'mnist_classifier takes one-channel images; the data has shape '
                f'{tuple(element_shape)}. Use eval.features=inception_v3.')
    if reason is None and own_images.kind(config.data.source):
      reason = _own_images_reason(config, element_shape, space)
    return reason

  def __init__(self, config, source, element_shape, num_classes, cache):
    super().__init__(config, source, element_shape, num_classes, cache)
    self.features = feature_space(config, element_shape)
    self.extractor = extractors.extractor(self.features, config, cache)
    self.reference = extractors.reference_features(config, source, self.features,
                                                   self.extractor, cache)

  def describe(self) -> dict:
    protocol = self.protocol(self.features, self.extractor.digest,
                             self.config.eval.reference_split, len(self.reference))
    if not digit_classes_apply(self.config, self.features):
      protocol['features_note'] = OWN_IMAGES_NOTE
    return protocol

  def metrics_of_samples(self, samples) -> dict:
    feats, probs = self.extractor(samples)
    real = self.reference
    out = {'fid': metrics.fid_from_features(feats, real)}
    out['kid'], out['kid_std'] = metrics.kid(feats, real, KID_SUBSETS,
                                             min(KID_SUBSET_SIZE, len(feats), len(real)))
    if probs is not None and not digit_classes_apply(self.config, self.features):
      out.update(dict.fromkeys(DIGIT_CLASS_METRICS))
    elif probs is not None:
      out['inception_score'], out['inception_score_std'] = metrics.inception_score(
          probs, min(IS_SPLITS, len(probs)))
      sure = metrics.confident_labels(probs)
      out['confident_percent'] = 100.0 * sure['confident_fraction']
      out['classes_present'] = sure['classes_present']
      out['class_kl'] = sure['class_kl'] if np.isfinite(sure['class_kl']) else None
    out['precision'], out['recall'] = metrics.precision_recall(real, feats, PR_K)
    out['density'], out['coverage'] = metrics.density_coverage(real, feats, DC_K)
    return out
