"""Mode coverage of a 2-D Gaussian mixture, with the protocol of VEEGAN and PacGAN.

A sample is high quality when it lies within `threshold` (3) standard deviations of its nearest
mode. Reported: the number of modes captured (modes with at least one high-quality sample), the
fraction of high-quality samples, and KL(p || uniform) where p is the histogram of the
high-quality samples over the modes (0 when they spread evenly; log(#modes) when all sit on one).
The papers evaluate 2,500 samples.
"""
import numpy as np


def mode_coverage(samples_Nx2, modes_Mx2, std: float, threshold: float = 3.0) -> dict:
  x = np.asarray(samples_Nx2, np.float64)
  modes = np.asarray(modes_Mx2, np.float64)
  d = np.sqrt(((x[:, None, :] - modes[None, :, :]) ** 2).sum(-1))  # (N, M)
  nearest = d.argmin(axis=1)
  high_quality = d[np.arange(len(x)), nearest] <= threshold * std
  counts = np.bincount(nearest[high_quality], minlength=len(modes))
  num_hq = int(counts.sum())
  if num_hq:
    p = counts / num_hq
    nz = p > 0
    kl = float(np.sum(p[nz] * np.log(p[nz] * len(modes))))
  else:
    kl = float('inf')  # No high-quality sample: no histogram to compare.
  return {'modes_captured': int((counts > 0).sum()), 'num_modes': len(modes),
          'high_quality_fraction': num_hq / len(x), 'kl_to_uniform': kl,
          'mode_counts': counts.tolist(), 'num_samples': len(x)}
