"""Metrics against direct float64 implementations written here, and closed forms."""
import itertools

import numpy as np
import pytest
from scipy import linalg
from scipy.spatial.distance import cdist

from gan_jax import metrics


def _rng(seed=0):
  return np.random.default_rng(seed)


def _random_cov(rng, d):
  a = rng.normal(size=(d, d))
  return a @ a.T / d + 0.1 * np.eye(d)


def _fid_direct(mu1, s1, mu2, s2):
  # tr((S1 S2)^1/2) = tr((S1^1/2 S2 S1^1/2)^1/2), the latter symmetric PSD: via eigh.
  w, v = linalg.eigh(s1)
  r1 = v @ np.diag(np.sqrt(np.maximum(w, 0))) @ v.T
  w2 = linalg.eigvalsh(r1 @ s2 @ r1)
  return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
               - 2 * np.sum(np.sqrt(np.maximum(w2, 0))))


def test_frechet_distance_closed_form_diagonal():
  mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
  sd1, sd2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 2.0, 1.5])
  expected = np.sum((mu1 - mu2) ** 2) + np.sum((sd1 - sd2) ** 2)
  got = metrics.frechet_distance(mu1, np.diag(sd1 ** 2), mu2, np.diag(sd2 ** 2))
  np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_frechet_distance_general_covariances():
  rng = _rng(1)
  d = 6
  mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
  s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
  np.testing.assert_allclose(metrics.frechet_distance(mu1, s1, mu2, s2),
                             _fid_direct(mu1, s1, mu2, s2), rtol=1e-8)


def test_fid_from_features_identical_is_zero_and_matches_stats():
  rng = _rng(2)
  x = rng.normal(size=(500, 8))
  assert abs(metrics.fid_from_features(x, x)) < 1e-6
  y = rng.normal(loc=0.5, size=(400, 8)) * 1.5
  expected = _fid_direct(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
  np.testing.assert_allclose(metrics.fid_from_features(x, y), expected, rtol=1e-8)


def test_fid_singular_covariance_is_finite():
  rng = _rng(3)
  x = rng.normal(size=(50, 4))
  x = np.concatenate([x, x[:, :1]], axis=1)  # A repeated feature: singular covariance.
  y = np.concatenate([x[:, :4] + 0.1, x[:, :1] + 0.1], axis=1)
  value = metrics.fid_from_features(x, y)
  assert np.isfinite(value)
  np.testing.assert_allclose(value, 5 * 0.01, atol=1e-4)  # A pure shift by 0.1 in 5 dims.


def _kid_direct(x, y):
  m, d = len(x), x.shape[1]
  k = lambda a, b: (a @ b / d + 1) ** 3
  xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
  yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
  xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
  return xx + yy - 2 * xy


def test_kid_matches_direct_unbiased_mmd():
  rng = _rng(4)
  x, y = rng.normal(size=(25, 3)), rng.normal(loc=0.3, size=(25, 3))
  mean, std = metrics.kid(x, y, num_subsets=1, subset_size=25)
  np.testing.assert_allclose(mean, _kid_direct(x, y), rtol=1e-10)
  assert std == 0.0


def test_kid_zero_in_expectation_for_same_distribution():
  rng = _rng(5)
  x, y = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
  same, _ = metrics.kid(x, y, num_subsets=20, subset_size=500)
  shifted, _ = metrics.kid(x, y + 0.5, num_subsets=20, subset_size=500)
  assert abs(same) < 0.01 < shifted


def _is_direct(p, splits):
  out = []
  for part in np.array_split(p, splits):
    py = part.mean(0)
    out.append(np.exp(np.mean([sum(pi * np.log(pi / py[c]) for c, pi in enumerate(row) if pi > 0)
                               for row in part])))
  return np.mean(out), np.std(out)


def test_inception_score_direct_and_closed_forms():
  rng = _rng(6)
  logits = rng.normal(size=(100, 7)) * 2
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  np.testing.assert_allclose(metrics.inception_score(p, splits=4), _is_direct(p, 4), rtol=1e-10)
  confident_uniform = np.eye(10)[np.arange(200) % 10]
  np.testing.assert_allclose(metrics.inception_score(confident_uniform, splits=2)[0], 10.0)
  one_class = np.eye(10)[np.zeros(50, int)]
  np.testing.assert_allclose(metrics.inception_score(one_class, splits=5)[0], 1.0)
  with pytest.raises(ValueError, match='probabilities'):
    metrics.inception_score(logits)


def _pr_direct(real, fake, k):
  def radii(a):
    d = cdist(a, a)
    return np.array([np.sort(row)[k] for row in d])
  rr, rf = radii(real), radii(fake)
  precision = np.mean([any(np.linalg.norm(f - r) <= rr[i] for i, r in enumerate(real))
                       for f in fake])
  recall = np.mean([any(np.linalg.norm(r - f) <= rf[j] for j, f in enumerate(fake))
                    for r in real])
  return precision, recall


def _dc_direct(real, fake, k):
  rr = np.array([np.sort(row)[k] for row in cdist(real, real)])
  inside = np.array([[np.linalg.norm(f - r) <= rr[i] for f in fake] for i, r in enumerate(real)])
  return inside.sum() / (k * len(fake)), np.mean(inside.any(axis=1))


def test_confident_labels_hand_computed():
  """Six samples over 3 classes, top probabilities .95, .9, .5, .99, .91, .6: confident labels
  0, 0, -, 2, 0, -, so 4/6 are confident; with min_share 0.2 (1.2 samples) only class 0 (3) is
  present, class 2 (1) is not; KL of (3/4, 0, 1/4) to uniform over 3."""
  probs = np.array([[.95, .03, .02], [.9, .05, .05], [.3, .5, .2], [0, .01, .99],
                    [.91, .09, 0], [.2, .2, .6]])
  r = metrics.confident_labels(probs, 0.9, 0.2)
  assert r['confident_fraction'] == pytest.approx(4 / 6)
  assert r['classes_present'] == 1
  q = np.array([.75, .25])
  assert r['class_kl'] == pytest.approx(float(np.sum(q * np.log(q * 3))))
  assert metrics.confident_labels(probs, 0.9, 1 / 6)['classes_present'] == 2
  even = metrics.confident_labels(np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]])
  assert (even['confident_fraction'], even['classes_present'], even['class_kl']) == (1.0, 4, 0.0)
  assert metrics.confident_labels(np.full((3, 2), 0.5))['class_kl'] == float('inf')
  with pytest.raises(ValueError, match='probabilities'):
    metrics.confident_labels(np.ones((2, 2)))


def test_precision_recall_density_coverage_match_direct():
  rng = _rng(7)
  real = rng.normal(size=(60, 2))
  fake = rng.normal(loc=0.7, scale=0.6, size=(50, 2))
  np.testing.assert_allclose(metrics.precision_recall(real, fake, k=3), _pr_direct(real, fake, 3))
  np.testing.assert_allclose(metrics.density_coverage(real, fake, k=5), _dc_direct(real, fake, 5))


def test_precision_recall_closed_forms():
  rng = _rng(8)
  real = rng.normal(size=(100, 4))
  assert metrics.precision_recall(real, real, k=3) == (1.0, 1.0)
  assert metrics.precision_recall(real, real + 100.0, k=3) == (0.0, 0.0)
  density, coverage = metrics.density_coverage(real, real + 100.0, k=5)
  assert density == 0.0 and coverage == 0.0
  assert metrics.density_coverage(real, real, k=5)[1] == 1.0


def _coverage_direct(x, modes, std):
  counts = np.zeros(len(modes), int)
  for p in x:
    d = [np.linalg.norm(p - m) for m in modes]
    if min(d) <= 3 * std:
      counts[int(np.argmin(d))] += 1
  q = counts / counts.sum()
  kl = sum(qi * np.log(qi / (1 / len(modes))) for qi in q if qi > 0)
  return (counts > 0).sum(), counts.sum() / len(x), kl


@pytest.mark.parametrize('name', ['ring8', 'grid25'])
def test_mode_coverage_matches_direct_and_closed_forms(name):
  from gan_jax.data import synthetic
  modes, std = synthetic.MIXTURES[name]
  rng = _rng(9)
  # A collapsed, noisy generator: a few modes, some samples off-mode.
  x = modes[rng.integers(3, size=400)] + rng.normal(scale=2.5 * std, size=(400, 2))
  r = metrics.mode_coverage(x, modes, std)
  captured, hq, kl = _coverage_direct(x, modes, std)
  assert r['modes_captured'] == captured and r['num_modes'] == len(modes)
  np.testing.assert_allclose([r['high_quality_fraction'], r['kl_to_uniform']], [hq, kl])
  # The real data: every mode, ~all high quality (3 sd in 2-D: 98.9%), KL near 0.
  real, _ = synthetic.sample_mixture(name, 2500, seed=3)
  r = metrics.mode_coverage(real, modes, std)
  assert r['modes_captured'] == len(modes)
  assert 0.98 < r['high_quality_fraction'] < 0.995 and r['kl_to_uniform'] < 0.02
  # Everything on one mode: KL = log(#modes).
  r = metrics.mode_coverage(np.repeat(modes[:1], 100, axis=0), modes, std)
  assert r['modes_captured'] == 1
  np.testing.assert_allclose(r['kl_to_uniform'], np.log(len(modes)))
  # Nothing near any mode.
  r = metrics.mode_coverage(modes + 10 * std, modes, std)
  assert r['modes_captured'] == 0 and r['high_quality_fraction'] == 0


def test_kl_to_uniform_and_histogram_coverage_closed_forms():
  # One function for both protocols: 2-D mode coverage and Stacked MNIST's 1,000 triples.
  np.testing.assert_allclose(metrics.kl_to_uniform([5, 5, 5, 5]), 0.0, atol=1e-15)
  np.testing.assert_allclose(metrics.kl_to_uniform([7, 0, 0, 0]), np.log(4))
  np.testing.assert_allclose(metrics.kl_to_uniform([1, 3]), 0.25 * np.log(0.5) + 0.75 * np.log(1.5))
  assert metrics.kl_to_uniform([0, 0, 0]) == float('inf')
  uniform = metrics.histogram_coverage(np.repeat(np.arange(1000), 3), 1000)
  assert uniform['modes_captured'] == 1000 and abs(uniform['kl_to_uniform']) < 1e-12
  assert uniform['num_samples'] == 3000 and uniform['num_modes'] == 1000
  collapsed = metrics.histogram_coverage(np.full(500, 7), 1000)
  assert collapsed['modes_captured'] == 1
  np.testing.assert_allclose(collapsed['kl_to_uniform'], np.log(1000))
  half = metrics.histogram_coverage(np.arange(500), 1000)  # 500 modes, evenly: KL = log 2.
  np.testing.assert_allclose(half['kl_to_uniform'], np.log(2))


@pytest.fixture(scope='module')
def mnist_extractor():
  from gan_jax.metrics import mnist_classifier
  return mnist_classifier.Extractor()


def test_classifier_weights_are_small_and_accurate(mnist_extractor):
  import os
  from gan_jax import data as data_lib
  from gan_jax.data import offline
  from gan_jax.metrics import mnist_classifier
  assert os.path.getsize(mnist_classifier.WEIGHTS) < 2e6
  images, labels = offline.load_mnist5k()['test']
  _, probs = mnist_extractor(data_lib.uint8_to_float(images))
  assert probs.shape == (500, 10)
  np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
  assert np.mean(probs.argmax(1) == labels) >= 0.98  # Held out: the committed weights' claim.


def test_classifier_rejects_colour_images():
  from gan_jax.metrics import mnist_classifier
  with pytest.raises(ValueError, match='one channel|H, W, 1'):
    mnist_classifier.prepare(np.zeros((2, 28, 28, 3)))
