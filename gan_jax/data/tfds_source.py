"""`tfds:<name>`: a tensorflow-datasets image dataset, read through `tfds.data_source` (whose
builder and prepared-or-fail steps, `builder_of` and `data_source`, `tfds_text:<name>` of
text_sources.py shares, passing its own offline hint: this module imports no other source).

Random access through ArrayRecord files, without TensorFlow. Config fields: `data.data_dir`
(where prepared datasets live; None means tfds's default, ~/tensorflow_datasets), `data.split`
(default 'train'), `data.image_key` (default 'image'), `data.image_size` (optional resize) and
`data.download` (default False). An unprepared dataset fails at once unless `data.download` is
set; even then a machine without network access fails within seconds, never a retrying hang.
An experiment's `:runlocal` trains on an offline stand-in instead (`runlocal`).
"""
import socket

import numpy as np

from gan_jax import data as data_lib

_PROBE_HOST = ('storage.googleapis.com', 443)
# What a failed tfds read suggests instead (an image source's; text_sources passes its own).
OFFLINE_HINT = ('The offline sources need no download: data.source=mnist5k (5000 real MNIST '
                'digits) or data.source=digits.')


# `:runlocal` of any tfds image source: an offline 3-channel stand-in (stacked_mnist), resized to
# data.image_size or, when that is unset, to RUNLOCAL_IMAGE_SIZE.
RUNLOCAL_SOURCE, RUNLOCAL_IMAGE_SIZE = 'stacked_mnist', 32


def runlocal(config) -> None:
  """Replaces a tfds source (which cannot be downloaded here) by its offline stand-in, without
  evaluation (eval.features='none'): the stand-in is not the data the experiment evaluates on."""
  config.data.source = RUNLOCAL_SOURCE
  config.data.image_size = config.data.image_size or RUNLOCAL_IMAGE_SIZE
  config.eval.features = 'none'


def _prepare_hint(name, data_dir):
  target = f' --data_dir={data_dir}' if data_dir else ''
  return (f'Prepare it where this run can read it, on a machine with network access: '
          f'`tfds build {name} --file_format=array_record{target}` (and copy it here), then '
          f'point data.data_dir at that directory.')


def check_network(timeout_s: float = 5.0) -> None:
  try:
    socket.create_connection(_PROBE_HOST, timeout=timeout_s).close()
  except OSError as e:
    raise data_lib.DataError(
        f'data.download=True but the network is unreachable ({_PROBE_HOST[0]}: {e}).') from e


def builder_of(name: str, data_config, hint: str = OFFLINE_HINT):
  """tfds's builder of `name` under data.data_dir; a clear error when tfds has no such dataset
  (ending with `hint`: the offline sources of the caller's kind)."""
  import tensorflow_datasets as tfds
  try:
    return tfds.builder(name, data_dir=data_config.get('data_dir') or None)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise data_lib.DataError(
        f'data.source={data_config.source}: tensorflow-datasets has no dataset {name!r} '
        f'(see `tfds.list_builders()`). {hint}') from e


def data_source(name: str, builder, split: str, data_config, hint: str = OFFLINE_HINT):
  """Random access to a prepared split; an unprepared dataset fails at once (or, with
  data.download, is prepared where the network is reachable; fails within seconds where not).
  Errors end with `hint`, as builder_of's."""
  data_dir = data_config.get('data_dir') or None
  try:
    return builder.as_data_source(split=split)
  except Exception as first_error:  # Not prepared, or prepared in a non random-access format.
    if builder.is_prepared():
      raise data_lib.DataError(
          f'{data_config.source} is prepared in {builder.data_dir} but cannot be read with '
          f'random access ({first_error}). Rebuild it with --file_format=array_record. '
          f'{hint}') from first_error
    if not data_config.get('download', False):
      raise data_lib.DataError(
          f'{data_config.source} is not prepared under data.data_dir={data_dir!r} '
          f'(looked in {builder.data_dir}). {_prepare_hint(name, data_dir)} Or set '
          f'data.download=True on a machine with network access. {hint}'
      ) from first_error
    check_network()
    builder.download_and_prepare(file_format='array_record')
    return builder.as_data_source(split=split)


def load(name: str, data_config) -> 'data_lib.Source':
  split = data_config.get('split', 'train')
  image_key = data_config.get('image_key', 'image')
  builder = builder_of(name, data_config)
  features = builder.info.features
  if image_key not in features:
    raise data_lib.DataError(
        f'tfds:{name} has no feature {image_key!r} (data.image_key); its features: '
        f'{sorted(features.keys())}.')
  ds = data_source(name, builder, split, data_config)

  size = len(ds)
  if size == 0:
    raise data_lib.DataError(f'tfds:{name} split {split!r} is empty.')
  image_size = data_config.get('image_size')
  labels_available = 'label' in features

  def get(indices: np.ndarray) -> np.ndarray:
    images = np.stack([np.asarray(ds[int(i)][image_key]) for i in indices])
    if images.ndim == 3:
      images = images[..., None]
    if image_size:
      images = data_lib.resize_uint8(images, image_size)
    return data_lib.uint8_to_float(images)

  element_shape = tuple(get(np.array([0])).shape[1:])
  num_classes = features['label'].num_classes if labels_available and hasattr(
      features['label'], 'num_classes') else None
  get_labels = (lambda indices: np.array([int(ds[int(i)]['label']) for i in indices])
                ) if labels_available else None
  dataset = data_lib.Dataset(size=size, element_shape=element_shape, get=get,
                             get_labels=get_labels)
  return data_lib.Source(name=f'tfds:{name}', splits={split: dataset}, num_classes=num_classes)
