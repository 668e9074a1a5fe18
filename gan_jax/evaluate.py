"""Evaluation of a run's generator(s), with the protocol recorded beside every number.

The protocol follows from the data and `eval.features`:
- 2-D mixtures (ring8, grid25): `mode_coverage` (VEEGAN / PacGAN): `eval.num_samples` samples
  (default 2,500); modes captured, percent high quality (within 3 std of the nearest mode), and
  KL(histogram of high-quality samples over modes || uniform).
- stacked_mnist: `stacked_mnist` (PacGAN / VEEGAN): default 26,000 samples, each channel labelled
  by the mnist_classifier; modes captured of 1,000 and KL(histogram over the 1,000 triples ||
  uniform).
- other images: `features`: FID, KID (mean and std over subsets), precision/recall (k=3),
  density/coverage (k=5), and the Inception Score where the extractor gives class
  probabilities, between `eval.num_samples` generated images (default 5,000) and every image of
  the reference split (`eval.reference_split`), in the space of the extractor `eval.features`
  ('auto': mnist_classifier for one-channel images, inception_v3 otherwise).

Generated samples come from G (its EMA, when optim.ema_decay > 0) in evaluation mode (running
batch-norm statistics) with latents drawn from a fixed key per seed (the same at every
evaluation), in chunks of `eval.batch_size`.
"""
import dataclasses
import json
import os
from typing import Optional

import jax
import numpy as np

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import metrics
from gan_jax import parallel
from gan_jax import state as state_lib
from gan_jax.data import synthetic

FEATURES = configs.EVAL_FEATURES
DEFAULT_SAMPLES = {'mode_coverage': 2500, 'stacked_mnist': 26000, 'features': 5000}
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
PR_K, DC_K, IS_SPLITS = 3, 5, 10


class EvalError(ValueError):
  """Evaluation cannot run as configured; the message says why and what to do."""


@dataclasses.dataclass
class Protocol:
  kind: str  # 'mode_coverage', 'stacked_mnist' or 'features'.
  features: Optional[str]  # The extractor; None for mode coverage of points.
  num_samples: int

  def describe(self, source: str, reference: Optional[str], num_reference: Optional[int],
               extractor_digest: Optional[str]) -> dict:
    return {'kind': self.kind, 'features': self.features, 'features_sha256': extractor_digest,
            'num_generated': self.num_samples, 'data': source, 'reference_split': reference,
            'num_reference': num_reference,
            'generator': 'G in evaluation mode (running batch-norm statistics)',
            'latents': 'fixed per seed (state.STREAM_EVAL_Z)'}


def protocol_for(config, element_shape) -> Optional[Protocol]:
  """The evaluation protocol of a config, or None with eval.features='none'. Builds nothing."""
  e = config.eval
  if e.features not in FEATURES:
    raise EvalError(f'Unknown eval.features {e.features!r}; valid: {list(FEATURES)}.')
  if e.features == 'none':
    return None
  if config.data.source in synthetic.MIXTURES:
    if e.features != 'auto':
      raise EvalError(f'{config.data.source!r} is 2-D points, evaluated by mode coverage; set '
                      f'eval.features to auto (or none), not {e.features!r}.')
    kind, features = 'mode_coverage', None
  elif config.data.source == 'stacked_mnist':
    if e.features not in ('auto', 'mnist_classifier'):
      raise EvalError('stacked_mnist is evaluated by labelling each channel with the '
                      f'mnist_classifier; set eval.features to auto, not {e.features!r}.')
    kind, features = 'stacked_mnist', 'mnist_classifier'
  else:
    kind = 'features'
    features = e.features if e.features != 'auto' else (
        'mnist_classifier' if element_shape[-1] == 1 else 'inception_v3')
    if features == 'mnist_classifier' and element_shape[-1] != 1:
      raise EvalError(f'mnist_classifier takes one-channel images; the data has shape '
                      f'{tuple(element_shape)}. Use eval.features=inception_v3.')
  return Protocol(kind, features, e.num_samples or DEFAULT_SAMPLES[kind])


def make_extractor(name: str, config):
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


def stacked_mnist_modes(probs_per_channel: list) -> np.ndarray:
  """Mode index 100*a + 10*b + c of each sample from the classes of its three channels."""
  labels = [np.argmax(p, axis=1) for p in probs_per_channel]
  return 100 * labels[0] + 10 * labels[1] + labels[2]


def histogram_coverage(modes_N: np.ndarray, num_modes: int) -> dict:
  """Modes captured and KL(empirical histogram || uniform), as PacGAN's Stacked MNIST reports."""
  counts = np.bincount(modes_N, minlength=num_modes)
  p = counts / counts.sum()
  nz = p > 0
  return {'modes_captured': int(nz.sum()), 'num_modes': num_modes,
          'kl_to_uniform': float(np.sum(p[nz] * np.log(p[nz] * num_modes))),
          'num_samples': int(counts.sum())}


_REFERENCE_CACHE = {}  # Reference features per (data, split, extractor), for this process.


class Evaluator:
  """Built once per run: the protocol, the extractor and the reference features."""

  def __init__(self, exp):
    self.exp = exp
    config = exp.config
    self.config = config
    self.protocol = protocol_for(config, exp.dataset.element_shape)
    if self.protocol is None:
      return
    p = self.protocol
    self.extractor = make_extractor(p.features, config) if p.features else None
    self.reference_split = None
    self.reference = None
    if p.kind == 'features':
      self.reference_split = config.eval.reference_split
      key = (config.data.source, config.data.image_size, config.data.data_dir,
             self.reference_split, p.features, self.extractor.digest)
      if key not in _REFERENCE_CACHE:
        ref = data_lib.get_split(exp.source, self.reference_split)
        _REFERENCE_CACHE[key] = self.extractor(ref.get(np.arange(ref.size)))[0]
      self.reference = _REFERENCE_CACHE[key]
    m = config.model
    self._sample = jax.jit(lambda g_params, g_vars, z, labels: exp.generator.apply(
        {'params': g_params, **g_vars}, z, train=False, labels=labels))
    self._latent_dim, self._latent_dist = m.latent_dim, m.latent_dist

  @property
  def enabled(self) -> bool:
    return self.protocol is not None

  def describe(self) -> dict:
    digest = getattr(self.extractor, 'digest', None)
    num_ref = None if self.reference is None else len(self.reference)
    out = self.protocol.describe(self.config.data.source, self.reference_split, num_ref, digest)
    if self.exp.uses_ema:
      o = self.config.optim
      out['generator'] = (f'EMA of G\'s parameters (optim.ema_decay={o.ema_decay}, ema_start='
                          f'{o.ema_start}) with the running batch-norm statistics, evaluation mode')
    return out

  def generate(self, g_params, g_vars, seed: int) -> np.ndarray:
    """`num_samples` samples of one seed's generator, from that seed's fixed eval latents."""
    n, chunk = self.protocol.num_samples, self.config.eval.batch_size
    key = jax.random.fold_in(jax.random.PRNGKey(seed), state_lib.STREAM_EVAL_Z)
    out = []
    for i in range(-(-n // chunk)):
      z = state_lib.sample_latent(jax.random.fold_in(key, i), chunk, self._latent_dim,
                                  self._latent_dist)
      labels = state_lib.sample_labels(jax.random.fold_in(jax.random.fold_in(key, i), 1), chunk,
                                       self.exp.num_classes)  # Uniform classes, if conditional.
      out.append(np.asarray(self._sample(g_params, g_vars, z, labels)))
    return np.concatenate(out)[:n]

  def metrics_of_samples(self, samples) -> dict:
    p = self.protocol
    if p.kind == 'mode_coverage':
      modes, std = synthetic.MIXTURES[self.config.data.source]
      r = metrics.mode_coverage(samples, modes, std)
      kl = r['kl_to_uniform']  # Undefined (None) when no sample is of high quality.
      return {'modes_captured': r['modes_captured'],
              'high_quality_percent': 100.0 * r['high_quality_fraction'],
              'kl_to_uniform': kl if np.isfinite(kl) else None}
    if p.kind == 'stacked_mnist':
      probs = [self.extractor(samples[..., c:c + 1])[1] for c in range(3)]
      r = histogram_coverage(stacked_mnist_modes(probs), 1000)
      return {'modes_captured': r['modes_captured'], 'kl_to_uniform': r['kl_to_uniform']}
    feats, probs = self.extractor(samples)
    real = self.reference
    out = {'fid': metrics.fid_from_features(feats, real)}
    out['kid'], out['kid_std'] = metrics.kid(feats, real, KID_SUBSETS,
                                             min(KID_SUBSET_SIZE, len(feats), len(real)))
    if probs is not None:
      out['inception_score'], out['inception_score_std'] = metrics.inception_score(
          probs, min(IS_SPLITS, len(probs)))
    out['precision'], out['recall'] = metrics.precision_recall(real, feats, PR_K)
    out['density'], out['coverage'] = metrics.density_coverage(real, feats, DC_K)
    return out

  def evaluate(self, state, seeds: list) -> dict:
    """{seed: metrics} for each seed's generator in `state` (stacked when several seeds)."""
    g = parallel.to_host((self.exp.sampling_params(state), state.g_vars))
    results = {}
    for i, seed in enumerate(seeds):
      g_params, g_vars = g if len(seeds) == 1 else state_lib.replica(g, i)
      results[seed] = self.metrics_of_samples(self.generate(g_params, g_vars, seed))
    return results


def mean_std(values) -> tuple:
  """(mean, sample std (ddof=1; 0 for one value), count) over the values that are not None."""
  v = np.array([x for x in values if x is not None], np.float64)
  if not len(v):
    return None, None, 0
  return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)


def summarize(step: int, per_seed: dict, protocol: dict) -> dict:
  """eval.json's content: every seed's numbers, their mean and std over seeds, the protocol.

  A metric that is undefined for a seed (None, e.g. the KL of a run without one high-quality
  sample) is left out of its mean; `count` says over how many seeds each mean is.
  """
  keys = list(next(iter(per_seed.values())))
  stats = {k: mean_std([m[k] for m in per_seed.values()]) for k in keys}
  return {'step': int(step), 'protocol': protocol,
          'seeds': {str(s): m for s, m in per_seed.items()},
          'mean': {k: v[0] for k, v in stats.items()},
          'std': {k: v[1] for k, v in stats.items()},
          'count': {k: v[2] for k, v in stats.items()},
          'std_note': 'sample standard deviation over seeds (ddof=1)',
          'num_seeds': len(per_seed)}


def write_eval_json(workdir: str, summary: dict) -> str:
  path = os.path.join(workdir, 'eval.json')
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(summary, f, indent=2, allow_nan=False)
  os.replace(tmp, path)
  return path
