"""Cluster labels: a class-conditional GAN without labels (data.clusters = k).

The training images are clustered by k-means (scikit-learn's KMeans, k-means++ starts, n_init
restarts, random_state = the run's data.subset_seed) on their pixels, and each image's cluster
id stands in for its class label: G and D are conditioned on clusters as they would be on
classes. No label of the data is read. This is the self-conditioning idea of Liu et al. 2020
("Diverse image generation via self-conditioned GANs", who cluster D's features and recluster as
training goes) in its simplest form: pixel clusters, fixed before training. G draws cluster ids
uniformly, as it draws classes; clusters are relabelled by decreasing size (ties by smallest
member index), so ids are the same whatever order KMeans found them in.
"""
import numpy as np

N_INIT = 4


def kmeans_labels(x_NxD: np.ndarray, k: int, seed: int) -> np.ndarray:
  """int32 (N,): each row's cluster among k, clusters numbered by decreasing size."""
  from sklearn.cluster import KMeans
  x = np.asarray(x_NxD, np.float64).reshape(len(x_NxD), -1)
  if not 1 <= k <= len(x):
    raise ValueError(f'k-means needs 1 <= k <= {len(x)} examples, got k={k}.')
  raw = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit_predict(x)
  sizes = np.bincount(raw, minlength=k)
  first = np.array([np.flatnonzero(raw == c)[0] if sizes[c] else len(x) for c in range(k)])
  order = sorted(range(k), key=lambda c: (-sizes[c], first[c]))
  relabel = np.empty(k, np.int32)
  relabel[order] = np.arange(k, dtype=np.int32)
  return relabel[raw]
