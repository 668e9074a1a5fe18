"""Statistics over seeds: mean ± sample standard deviation, as eval.json and every page state
them (shared by the evaluation and the reports, so neither imports the other)."""
import numpy as np


def mean_std(values) -> tuple:
  """(mean, sample std (ddof=1; 0 for one value), count) over the values that are not None;
  (None, None, 0) when none is."""
  v = np.array([x for x in values if x is not None], np.float64)
  if not len(v):
    return None, None, 0
  return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)
