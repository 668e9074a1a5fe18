"""Mode coverage of a 2-D Gaussian mixture, with the protocol of VEEGAN and PacGAN.

A sample is high quality when it lies within `threshold` (3) standard deviations of its nearest
mode. Reported: the number of modes captured (modes with at least one high-quality sample), the
fraction of high-quality samples, and KL(p || uniform) where p is the histogram of the
high-quality samples over the modes (0 when they spread evenly; log(#modes) when all sit on one).
The papers evaluate 2,500 samples. `histogram_coverage` is the same count for modes already
labelled (Stacked MNIST's 1,000 digit triples); both measure KL with `kl_to_uniform`.
"""
import numpy as np


def kl_to_uniform(counts_M) -> float:
  """KL(p || uniform over the M bins) of the histogram p = counts_M / sum: 0 when the counts are
  even, log(M) when one bin holds all; inf for an empty histogram (no distribution to compare)."""
  counts = np.asarray(counts_M)
  total = counts.sum()
  if not total:
    return float('inf')
  p = counts / total
  nz = p > 0
  return float(np.sum(p[nz] * np.log(p[nz] * len(counts))))


def histogram_coverage(modes_N, num_modes: int) -> dict:
  """Modes captured and KL(empirical histogram of the mode indices || uniform over num_modes),
  as PacGAN reports for Stacked MNIST."""
  counts = np.bincount(np.asarray(modes_N), minlength=num_modes)
  return {'modes_captured': int((counts > 0).sum()), 'num_modes': num_modes,
          'kl_to_uniform': kl_to_uniform(counts), 'num_samples': int(counts.sum())}


def mode_coverage(samples_Nx2, modes_Mx2, std: float, threshold: float = 3.0) -> dict:
  x = np.asarray(samples_Nx2, np.float64)
  modes = np.asarray(modes_Mx2, np.float64)
  d = np.sqrt(((x[:, None, :] - modes[None, :, :]) ** 2).sum(-1))  # (N, M)
  nearest = d.argmin(axis=1)
  high_quality = d[np.arange(len(x)), nearest] <= threshold * std
  counts = np.bincount(nearest[high_quality], minlength=len(modes))
  num_hq = int(counts.sum())
  return {'modes_captured': int((counts > 0).sum()), 'num_modes': len(modes),
          'high_quality_fraction': num_hq / len(x), 'kl_to_uniform': kl_to_uniform(counts),
          'mode_counts': counts.tolist(), 'num_samples': len(x)}
