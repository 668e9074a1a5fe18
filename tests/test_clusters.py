"""data.clusters: k-means cluster ids in place of labels (gan_jax/data/clusters.py), against
scikit-learn's own assignment and on blobs whose clusters are known; the config's errors; a
conditional Experiment conditions on the clusters of its training examples."""
import os

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import experiment as experiment_lib
from gan_jax.data import clusters


def blobs(sizes, seed=0):
  """Well separated 2-D blobs of the given sizes (blob i centred at (10 i, 0)), shuffled."""
  rng = np.random.default_rng(seed)
  x = np.concatenate([rng.normal((10.0 * i, 0.0), 0.5, (n, 2)) for i, n in enumerate(sizes)])
  blob = np.repeat(np.arange(len(sizes)), sizes)
  order = rng.permutation(len(x))
  return x[order], blob[order]


def test_known_blobs_are_found_and_numbered_by_size():
  x, blob = blobs([30, 80, 50])
  labels = clusters.kmeans_labels(x, 3, seed=0)
  # The 80-point blob is cluster 0, the 50-point one 1, the 30-point one 2.
  assert np.array_equal(labels, np.array([2, 0, 1])[blob])
  assert labels.dtype == np.int32
  assert np.array_equal(clusters.kmeans_labels(x, 3, seed=0), labels)  # Deterministic.


def test_the_same_partition_as_scikit_learn_s_kmeans():
  from sklearn.cluster import KMeans
  x = np.random.default_rng(1).normal(size=(300, 6))
  ours = clusters.kmeans_labels(x, 5, seed=7)
  theirs = KMeans(n_clusters=5, n_init=clusters.N_INIT, random_state=7).fit_predict(x)
  pairs = set(zip(ours.tolist(), theirs.tolist()))
  assert len(pairs) == 5  # A one-to-one renaming of the same clusters.
  assert sorted(np.bincount(ours))[::-1] == list(np.bincount(ours))  # Ids by decreasing size.
  with pytest.raises(ValueError, match='1 <= k <= 300'):
    clusters.kmeans_labels(x, 301, seed=0)


def _config(**over):
  config = configs.base_config()
  config.data.source = 'mnist5k' if 'source' not in over else over.pop('source')
  return configs.apply_overrides(config, over)


def test_bad_values_are_one_line_errors_before_anything_runs():
  for over, fix in (({'data.clusters': -1}, 'integer >= 0'),
                    ({'data.clusters': 4}, 'set model.conditional=True'),
                    ({'data.clusters': 4, 'model.conditional': True, 'source': 'cfg'},
                     'holds token sequences')):
    with pytest.raises(configs.ConfigError, match=fix):
      configs.validate(_config(**over))


def test_a_conditional_run_conditions_on_the_clusters_of_its_examples():
  config = experiment_lib_config()
  exp = experiment_lib.Experiment(config)
  assert exp.num_classes == 3
  train = exp.train_sets[0]  # data.per_class's 20 digits a class, then clustered.
  images = train.get(np.arange(train.size))
  assert train.size == 200 and train.labels.max() == 2
  assert np.array_equal(train.labels, clusters.kmeans_labels(images, 3, config.data.subset_seed))
  digits = data_lib.class_subset(exp.dataset, 20, config.data.subset_seed).labels
  assert not np.array_equal(train.labels, digits)  # Not the digits' labels.


def experiment_lib_config():
  return _config(**{'data.clusters': 3, 'model.conditional': True, 'data.per_class': 20})


def test_unlabelled_mnist_is_the_default_on_clusters_with_ada():
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'experiments')
  default = configs.load_experiment(os.path.join(path, 'dcgan_mnist.py'))
  config = configs.load_experiment(os.path.join(path, 'unlabelled_mnist.py'))
  changed = {k for k, v in configs.flatten(config.to_dict()).items()
             if configs.flatten(default.to_dict()).get(k) != v}
  assert changed == {'data.clusters', 'augment.policy', 'ada.mode', 'train.num_steps',
                     'train.sample_every', 'train.ckpt_every'}
  assert (config.data.clusters, config.ada.mode, config.augment.policy) == (10, 'adaptive', '')
  assert config.model.conditional  # On the clusters, not the labels.
