"""The statistics a results page states: mean ± sample std over seeds, and paired differences."""
from typing import Optional

from gan_jax.seed_stats import mean_std  # noqa: F401 -- reports.stats.mean_std, as used.


def fmt(mean: Optional[float], std: Optional[float], digits: int = 1) -> str:
  """'84.7 ± 1.5', or '—' for a missing number."""
  return '—' if mean is None else f'{mean:.{digits}f} ± {std:.{digits}f}'


def fmt_count(values, digits: int = 1) -> str:
  """'84.7 ± 1.5 (3)': mean ± std (count) over the values, '—' when there is none."""
  mean, std, count = mean_std(values)
  return '—' if mean is None else f'{fmt(mean, std, digits)} ({count})'


def paired(a: dict, b: dict) -> Optional[dict]:
  """a - b paired by seed ({seed: value} each), over the seeds both have: mean, sample std,
  how many seeds a was higher in, and of how many. None when no seed is shared."""
  seeds = sorted(set(a) & set(b), key=str)
  seeds = [s for s in seeds if a[s] is not None and b[s] is not None]
  if not seeds:
    return None
  d = [a[s] - b[s] for s in seeds]
  mean, std, count = mean_std(d)
  return {'mean': mean, 'std': std, 'higher': sum(x > 0 for x in d), 'count': count}


def fmt_paired(p: Optional[dict], digits: int = 1) -> str:
  """'+7.9 ± 2.8 (higher in 3 of 3 seeds)', '—' when nothing is paired."""
  if p is None:
    return '—'
  return (f'{p["mean"]:+.{digits}f} ± {p["std"]:.{digits}f} (higher in {p["higher"]} of '
          f'{p["count"]} seeds)')
