"""Sample-quality metrics on feature arrays (numpy, float64), independent of any model.

- `frechet_distance` / `fid_from_features`: Fréchet distance between Gaussians fitted to two
  feature sets (Heusel et al. 2017), with the matrix square root of pytorch-fid: scipy's sqrtm in
  float64, and an eps * I offset on both covariances when the product is singular.
- `kid`: kernel inception distance (Bińkowski et al. 2018): the unbiased MMD^2 estimate with the
  cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.
- `inception_score`: exp(E_x KL(p(y|x) || p(y))) from class probabilities, over splits
  (Salimans et al. 2016).
- `precision_recall`: k-NN manifold precision and recall (Kynkäänniemi et al. 2019).
- `density_coverage`: density and coverage (Naeem et al. 2020).
- `confident_labels`: the share of samples a classifier labels with probability >= 0.9, and how
  those labels spread over the classes (classes holding >= 1% of the samples; KL to uniform).
"""
import numpy as np
from scipy import linalg

from gan_jax.metrics.mode_coverage import kl_to_uniform


def _as64(x) -> np.ndarray:
  x = np.asarray(x, np.float64)
  if x.ndim != 2:
    raise ValueError(f'Features must be (num_samples, dim); got shape {x.shape}.')
  return x


def gaussian_stats(features_NxD) -> tuple[np.ndarray, np.ndarray]:
  f = _as64(features_NxD)
  if len(f) < 2:
    raise ValueError(f'Need at least 2 samples for a covariance, got {len(f)}.')
  return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
  """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))."""
  mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
  s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
  if mu1.shape != mu2.shape or s1.shape != s2.shape:
    raise ValueError(f'Mismatched statistics: means {mu1.shape} vs {mu2.shape}, '
                     f'covariances {s1.shape} vs {s2.shape}.')
  diff = mu1 - mu2
  covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
  if not np.isfinite(covmean).all():
    offset = np.eye(s1.shape[0]) * eps
    covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
  if np.iscomplexobj(covmean):
    if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
      raise ValueError(f'Imaginary component {np.max(np.abs(covmean.imag)):.3g} in the matrix '
                       'square root: the covariances are too ill-conditioned (use more samples).')
    covmean = covmean.real
  return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_from_features(features1, features2) -> float:
  return frechet_distance(*gaussian_stats(features1), *gaussian_stats(features2))


def _poly_kernel(x, y):
  return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(features1, features2, num_subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
  """(mean, std) over subsets of the unbiased MMD^2 with the cubic polynomial kernel."""
  x_all, y_all = _as64(features1), _as64(features2)
  m = min(len(x_all), len(y_all), subset_size)
  if m < 2:
    raise ValueError('KID needs at least 2 samples in each set.')
  rng = np.random.default_rng(seed)
  values = []
  for _ in range(num_subsets):
    x = x_all[rng.choice(len(x_all), m, replace=False)]
    y = y_all[rng.choice(len(y_all), m, replace=False)]
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    off_diag = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    values.append(off_diag - 2.0 * kxy.sum() / (m * m))
  return float(np.mean(values)), float(np.std(values))


def inception_score(probs_NxC, splits: int = 10) -> tuple[float, float]:
  """(mean, std) over `splits` equal parts of exp(mean_x KL(p(y|x) || p(y)))."""
  p = _as64(probs_NxC)
  if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
    raise ValueError('inception_score expects class probabilities (rows summing to 1).')
  if not 1 <= splits <= len(p):
    raise ValueError(f'splits must be in [1, {len(p)}], got {splits}.')
  scores = []
  for part in np.array_split(p, splits):
    py = part.mean(axis=0, keepdims=True)
    with np.errstate(divide='ignore', invalid='ignore'):
      kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0).sum(axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))


CONFIDENCE, CLASS_SHARE = 0.9, 0.01


def confident_labels(probs_NxC, threshold: float = CONFIDENCE,
                     min_share: float = CLASS_SHARE) -> dict:
  """What a classifier is sure of among N samples: `confident_fraction`, the share whose top
  class probability is >= threshold; `classes_present`, the classes that are the confident label
  of at least min_share of all N samples; `class_kl`, KL(histogram of the confident labels ||
  uniform over the C classes) (0: even; log C: one class; inf when none is confident)."""
  p = _as64(probs_NxC)
  if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
    raise ValueError('confident_labels expects class probabilities (rows summing to 1).')
  sure = p.max(axis=1) >= threshold
  counts = np.bincount(p.argmax(axis=1)[sure], minlength=p.shape[1])
  return {'confident_fraction': float(sure.mean()),
          'classes_present': int((counts >= min_share * len(p)).sum()),
          'class_kl': kl_to_uniform(counts)}


def _pairwise_distances(x, y, chunk: int = 2048) -> np.ndarray:
  out = np.empty((len(x), len(y)))
  y2 = (y * y).sum(axis=1)
  for i in range(0, len(x), chunk):
    xi = x[i:i + chunk]
    d2 = (xi * xi).sum(axis=1)[:, None] + y2[None, :] - 2.0 * xi @ y.T
    out[i:i + chunk] = np.sqrt(np.maximum(d2, 0.0))
  return out


def knn_radii(features_NxD, k: int) -> np.ndarray:
  """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
  f = _as64(features_NxD)
  if not 1 <= k < len(f):
    raise ValueError(f'k must be in [1, {len(f) - 1}], got {k}.')
  d = _pairwise_distances(f, f)
  return np.partition(d, k, axis=1)[:, k]  # Index 0 is the point itself (distance 0).


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
  """Precision: fraction of fakes inside some real's k-NN ball; recall: reals inside fakes'."""
  real, fake = _as64(real_features), _as64(fake_features)
  d_rf = _pairwise_distances(real, fake)
  precision = np.mean((d_rf <= knn_radii(real, k)[:, None]).any(axis=0))
  recall = np.mean((d_rf.T <= knn_radii(fake, k)[:, None]).any(axis=0))
  return float(precision), float(recall)


def density_coverage(real_features, fake_features, k: int = 5) -> tuple[float, float]:
  """Density: mean count of real k-NN balls holding each fake, / k; coverage: fraction of real
  balls holding at least one fake."""
  real, fake = _as64(real_features), _as64(fake_features)
  inside = _pairwise_distances(real, fake) <= knn_radii(real, k)[:, None]  # (real, fake)
  density = inside.sum() / (k * len(fake))
  coverage = inside.any(axis=1).mean()
  return float(density), float(coverage)
