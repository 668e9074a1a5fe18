"""Data sources and the deterministic batch schedule.

A source is chosen by `data.source`: a name in `SOURCES` (offline: `mnist5k`, `digits`,
`stacked_mnist` (three mnist5k digits as the RGB channels), the 2-D mixtures `ring8`,
`grid25`, and the token sequences `words`, `cfg`, `oracle`), `tfds:<name>` (any
tensorflow-datasets image dataset, read through `tfds.data_source`), your own images
(`folder:<path>`, one subfolder per class, or `npz:<path>`, arrays x / y; own_images.py), or
`text_file:<path>` (a local UTF-8 file as character sequences) or `tfds_text:<name>` (a
tensorflow-datasets text dataset, as characters). Image sources yield float32 in [-1, 1], shape
(H, W, C) under the batch key 'image'; the mixtures yield their 2-D points as they are; sequence
sources yield int32 token ids (L,) under 'tokens', with their `Vocabulary` (text_sources.py).

The batch schedule is a pure function of (seed, index): batch k of a run is taken from epoch
k // batches_per_epoch of a seeded permutation (the last partial batch of an epoch is dropped), so
a resumed run sees exactly the batches of an uninterrupted one and no iterator state is saved.

`data.per_class=N` keeps N labelled examples of each class of the training split (`class_subset`:
stratified, seeded by `data.subset_seed`, the same images for the GAN and for any classifier that
asks for them; seed i of a `num_seeds` run takes subset seed `subset_seed + i`). The subsets of one
subset seed are nested: the 10 per class are the first 10 of the 25 per class.

The config's data section (`defaults()`, `problems(config)`) lives here too, and `runlocal(config)`
gives an experiment's `:runlocal` data: the offline sources as they are, a `tfds:` source replaced
by the offline stand-in that gan_jax/data/tfds_source.py declares (`tfds_source.runlocal`).
"""
import dataclasses
from typing import Callable, Optional

import ml_collections
from ml_collections import config_dict
import numpy as np

from gan_jax import errors
from gan_jax.data import offline
from gan_jax.data import own_images
from gan_jax.data import synthetic
from gan_jax.data import text_sources
from gan_jax.validation import failed, is_int

TFDS_PREFIX = 'tfds:'  # data.source='tfds:<name>': a tensorflow-datasets image dataset.


class DataError(errors.UserError, ValueError):
  """A data source cannot be built; the message says why and what to do."""


@dataclasses.dataclass
class Dataset:
  """Random access to one split. `get(indices)` returns float32 images in [-1, 1] (or points,
or int32 token ids); `key` names them in a batch ('image', or 'tokens' for sequences)."""
  size: int
  element_shape: tuple
  get: Callable[[np.ndarray], np.ndarray]
  labels: Optional[np.ndarray] = None
  get_labels: Optional[Callable[[np.ndarray], np.ndarray]] = None  # When labels are not loaded.
  key: str = 'image'

  @property
  def has_labels(self) -> bool:
    return self.labels is not None or self.get_labels is not None

  def labels_of(self, indices: np.ndarray) -> np.ndarray:
    if self.labels is not None:
      return np.asarray(self.labels[indices], np.int32)
    return np.asarray(self.get_labels(indices), np.int32)


@dataclasses.dataclass
class Source:
  name: str
  splits: dict  # split name -> Dataset
  num_classes: Optional[int] = None
  vocab: Optional[text_sources.Vocabulary] = None  # Sequence sources: their tokens.
  language: Optional[dict] = None  # Sequence sources: what scores samples (text_sources.py).


def uint8_to_float(images: np.ndarray) -> np.ndarray:
  return images.astype(np.float32) / 127.5 - 1.0


def resize_uint8(images_NxHxWxC: np.ndarray, size: int) -> np.ndarray:
  """Bilinear resize of uint8 images to size x size (PIL, antialiased when shrinking)."""
  from PIL import Image
  if images_NxHxWxC.shape[1:3] == (size, size):
    return images_NxHxWxC
  out = []
  for img in images_NxHxWxC:
    channels = [np.asarray(Image.fromarray(img[..., c]).resize((size, size), Image.BILINEAR))
                for c in range(img.shape[-1])]
    out.append(np.stack(channels, axis=-1))
  return np.stack(out).astype(np.uint8)


def array_dataset(images_NxHxWxC: np.ndarray, labels: Optional[np.ndarray]) -> Dataset:
  images = np.ascontiguousarray(images_NxHxWxC)
  return Dataset(size=len(images), element_shape=tuple(images.shape[1:]),
                 get=lambda idx: uint8_to_float(images[idx]), labels=labels)


def points_dataset(points_NxD: np.ndarray, labels: Optional[np.ndarray]) -> Dataset:
  points = np.ascontiguousarray(points_NxD, np.float32)
  return Dataset(size=len(points), element_shape=tuple(points.shape[1:]),
                 get=lambda idx: points[idx], labels=labels)


def tokens_dataset(rows_NxL: np.ndarray) -> Dataset:
  rows = np.ascontiguousarray(rows_NxL, np.int32)
  return Dataset(size=len(rows), element_shape=tuple(rows.shape[1:]), get=lambda idx: rows[idx],
                 key='tokens')


def _sequence_source(name, data_config) -> Source:
  corpus = text_sources.CORPORA[text_sources.source_kind(name)](data_config)
  return Source(name=name, splits={'train': tokens_dataset(corpus.train_NxL),
                                   'test': tokens_dataset(corpus.test_NxL)},
                vocab=corpus.vocab, language=corpus.language)


def _image_source(loader) -> Callable:
  """A source of uint8 images from `loader() -> {split: (images, labels)}`, optionally resized."""
  def build(name, data_config) -> Source:
    splits = {}
    for split, (images, labels) in loader().items():
      if data_config.get('image_size'):
        images = resize_uint8(images, data_config.image_size)
      splits[split] = array_dataset(images, labels)
    return Source(name=name, splits=splits, num_classes=10)
  return build


def _own_source(name, data_config) -> Source:
  """`folder:<path>` or `npz:<path>` (own_images.py): uint8 splits, labelled or not."""
  splits, num_classes = own_images.load(data_config)
  return Source(name=name, splits={split: array_dataset(images, labels)
                                   for split, (images, labels) in splits.items()},
                num_classes=num_classes)


def _mixture_source(name, data_config) -> Source:
  if data_config.get('image_size'):
    raise DataError(f'data.image_size applies to images; {name!r} is 2-D points. Unset it.')
  splits = {split: points_dataset(points, labels)
            for split, (points, labels) in synthetic.load(name).items()}
  return Source(name=name, splits=splits, num_classes=len(synthetic.MIXTURES[name][0]))


def stacked_dataset(digits_Nx28x28x1: np.ndarray, labels_N: np.ndarray,
                    triples_Mx3: np.ndarray) -> Dataset:
  """Images (M, 28, 28, 3): digit triples_Mx3[i, c] as channel c; label 100a + 10b + c."""
  digits = np.ascontiguousarray(digits_Nx28x28x1[..., 0])

  def get(idx):
    return uint8_to_float(np.moveaxis(digits[triples_Mx3[idx]], -3, -1))  # (n,3,H,W)->(n,H,W,3)
  return Dataset(size=len(triples_Mx3), element_shape=(*digits.shape[1:], 3), get=get,
                 labels=labels_N[triples_Mx3] @ np.array([100, 10, 1]))


def _stacked_mnist_source(name, data_config) -> Source:
  splits = {}
  for split, (digits, labels, triples) in offline.load_stacked_mnist().items():
    if data_config.get('image_size'):  # Each digit resized, then stacked.
      digits = resize_uint8(digits, data_config.image_size)
    splits[split] = stacked_dataset(digits, labels, triples)
  return Source(name=name, splits=splits, num_classes=1000)


SOURCES = {
    'mnist5k': _image_source(offline.load_mnist5k),
    'stacked_mnist': _stacked_mnist_source,
    'digits': _image_source(offline.load_digits),
    'ring8': _mixture_source,
    'grid25': _mixture_source,
    'words': _sequence_source,
    'cfg': _sequence_source,
    'oracle': _sequence_source,
}


def source_names() -> list[str]:
  return sorted(SOURCES) + [TFDS_PREFIX + '<name>', own_images.FOLDER_PREFIX + '<path>',
                            own_images.NPZ_PREFIX + '<path>',
                            text_sources.TEXT_FILE_PREFIX + '<path>',
                            text_sources.TFDS_TEXT_PREFIX + '<name>']


def tfds_name(source) -> Optional[str]:
  """'tfds:cifar10' -> 'cifar10'; None for any other source."""
  if isinstance(source, str) and source.startswith(TFDS_PREFIX):
    return source[len(TFDS_PREFIX):]
  return None


def defaults() -> ml_collections.ConfigDict:
  """The data section with its defaults."""
  data = ml_collections.ConfigDict()
  data.source = 'mnist5k'  # A name in gan_jax.data.SOURCES, 'tfds:<name>', 'folder:<path>', ...
  data.split = 'train'
  data.batch_size = 64
  data.image_size = config_dict.placeholder(int)  # Resize to image_size^2; None: native.
  data.data_dir = config_dict.placeholder(str)  # tfds only; None: tfds's default.
  data.image_key = 'image'  # tfds only.
  data.download = False  # tfds only: download and prepare when not prepared.
  # Low-data runs: keep per_class labelled examples of each class of data.split (None: all),
  # chosen by data.subset_seed (+ i for seed i of num_seeds); see class_subset.
  data.per_class = config_dict.placeholder(int)
  data.subset_seed = 0
  # Own images (folder:<path>, npz:<path>; own_images.py): the share of each class held out as
  # 'test' (unless the data bring their own test split), the channels (1, 3; None: the images'
  # own) and what a file that is not an image does ('error' or 'skip', counted).
  data.test_fraction = 0.1
  data.channels = config_dict.placeholder(int)
  data.bad_files = 'error'
  # Condition on k-means clusters of the training images instead of labels (clusters.py): the
  # cluster count k (with model.conditional=True), 0 for off.
  data.clusters = 0
  data.text = text_sources.defaults()  # Sequence sources only (text_sources.py).
  return data


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the data section, each naming the field and its valid values."""
  d = config.data
  text = (text_sources.problems(d)
          if 'text' in d and text_sources.source_kind(d.source) else [])
  own = own_images.field_problems(d) + own_images.problems(config)
  return text + own + failed([
      (isinstance(d.source, str) and (bool(tfds_name(d.source)) or d.source in SOURCES or
                                      own_images.kind(d.source) is not None or
                                      text_sources.source_kind(d.source) is not None),
       f'Unknown data.source {d.source!r}; valid sources: {source_names()}.'),
      (is_int(d.batch_size) and d.batch_size > 0,
       f'data.batch_size must be a positive integer, got {d.batch_size!r}.'),
      (d.image_size is None or (is_int(d.image_size) and d.image_size > 0),
       f'data.image_size must be a positive integer or None, got {d.image_size!r}.'),
      (d.get('per_class') is None or (is_int(d.per_class) and d.per_class > 0),
       f'data.per_class must be a positive integer (examples kept per class) or None (all), '
       f'got {d.get("per_class")!r}.'),
      (is_int(d.get('clusters', 0)) and d.get('clusters', 0) >= 0,
       f'data.clusters must be an integer >= 0 (k-means clusters to condition on; 0: off), got '
       f'{d.get("clusters")!r}.'),
      (not d.get('clusters') or config.model.conditional,
       f'data.clusters={d.get("clusters")} conditions G and D on clusters: set '
       'model.conditional=True (or data.clusters=0).'),
      (not d.get('clusters') or text_sources.source_kind(d.source) is None,
       f'data.clusters clusters images or points; data.source={d.source!r} holds token '
       'sequences. Set data.clusters=0.'),
      (is_int(d.get('subset_seed', 0)) and d.get('subset_seed', 0) >= 0,
       f'data.subset_seed must be an integer >= 0, got {d.get("subset_seed")!r}.')])


def runlocal(config: ml_collections.ConfigDict) -> None:
  """The `:runlocal` data of a config: an offline source stays (a drawn sequence source draws
  at most 1,000 sequences); a tfds source, which cannot be downloaded here, becomes its offline
  stand-in (tfds_source.runlocal)."""
  if text_sources.source_kind(config.data.source) in ('cfg', 'oracle'):
    config.data.text.num_sequences = min(config.data.text.num_sequences, 1000)
  if tfds_name(config.data.source) is not None:
    from gan_jax.data import tfds_source
    tfds_source.runlocal(config)


def get_source(data_config) -> Source:
  """Builds the source named by `data_config.source` (checked by configs.validate)."""
  name = data_config.source
  if tfds_name(name) is not None:
    from gan_jax.data import tfds_source
    return tfds_source.load(tfds_name(name), data_config)
  if text_sources.source_kind(name) in ('text_file', 'tfds_text'):
    return _sequence_source(name, data_config)
  if own_images.kind(name) is not None:
    return _own_source(name, data_config)
  return SOURCES[name](name, data_config)


def get_split(source: Source, split: str) -> Dataset:
  if split not in source.splits:
    raise DataError(f'data.split={split!r} is not a split of {source.name!r}; '
                    f'valid splits: {sorted(source.splits)}.')
  return source.splits[split]


def subset_indices(labels_N: np.ndarray, per_class: int, seed: int) -> np.ndarray:
  """Sorted indices of `per_class` examples of every class: each class's members in a seeded
  order, the first `per_class` kept (so a smaller subset of one seed is inside a larger one)."""
  labels_N = np.asarray(labels_N)
  classes, counts = np.unique(labels_N, return_counts=True)
  if per_class > counts.min():
    raise DataError(f'data.per_class={per_class} exceeds the {counts.min()} examples of class '
                    f'{classes[counts.argmin()]}, the smallest class of the split. Lower '
                    'data.per_class, or set it to None for all the data.')
  rng = np.random.default_rng([seed, 0x5B5E7])
  kept = []
  for c in classes:  # Each class's order is drawn whatever per_class is, so subsets nest.
    members = np.flatnonzero(labels_N == c)
    kept.append(members[rng.permutation(len(members))[:per_class]])
  return np.sort(np.concatenate(kept))


def cluster_labelled(dataset: Dataset, k: int, seed: int) -> Dataset:
  """The dataset with its labels replaced by k-means cluster ids of its examples (clusters.py);
  the dataset itself for k = 0. Every example is read once, to cluster."""
  if not k:
    return dataset
  from gan_jax.data import clusters
  labels = clusters.kmeans_labels(dataset.get(np.arange(dataset.size)), k, seed)
  return Dataset(size=dataset.size, element_shape=dataset.element_shape, get=dataset.get,
                 labels=labels, key=dataset.key)


def class_subset(dataset: Dataset, per_class: Optional[int], seed: int,
                 source_name: str = 'the source') -> Dataset:
  """The dataset restricted to `per_class` examples of each class (`subset_indices`); the
  dataset itself when per_class is None."""
  if per_class is None:
    return dataset
  if not dataset.has_labels:
    raise DataError(f'data.per_class={per_class} keeps examples per class, but {source_name} has '
                    'no labels. Set data.per_class=None, or use a labelled source.')
  labels = dataset.labels_of(np.arange(dataset.size))
  idx = subset_indices(labels, per_class, seed)
  return Dataset(size=len(idx), element_shape=dataset.element_shape,
                 get=lambda i: dataset.get(idx[i]), labels=labels[idx])


class Batcher:
  """The batch schedule: `batch(k)` is a pure function of (seed, k)."""

  def __init__(self, dataset: Dataset, batch_size: int, seed: int, with_labels: bool = True):
    if batch_size > dataset.size:
      raise DataError(f'data.batch_size={batch_size} exceeds the {dataset.size} examples of the '
                      'training split; lower data.batch_size (or raise data.per_class).')
    self.dataset = dataset
    self.batch_size = batch_size
    self.seed = seed
    self.with_labels = with_labels and dataset.has_labels
    self.batches_per_epoch = dataset.size // batch_size
    self._perm_epoch, self._perm = None, None

  def indices(self, k: int) -> np.ndarray:
    epoch, pos = divmod(k, self.batches_per_epoch)
    if epoch != self._perm_epoch:
      rng = np.random.default_rng([self.seed, epoch, 0xDA7A])
      self._perm, self._perm_epoch = rng.permutation(self.dataset.size), epoch
    return self._perm[pos * self.batch_size:(pos + 1) * self.batch_size]

  def batch(self, k: int, part: slice = slice(None)) -> np.ndarray:
    """The images of batch k, or of the `part` of it one process loads."""
    return self.dataset.get(self.indices(k)[part])

  def labels(self, k: int, part: slice = slice(None)) -> np.ndarray:
    """The class labels of batch k (int32; zeros without labels or with_labels=False)."""
    idx = self.indices(k)[part]
    if not self.with_labels:
      return np.zeros(len(idx), np.int32)
    return self.dataset.labels_of(idx)

  def step_batch(self, step: int, batches_per_step: int, part: slice = slice(None)) -> dict:
    """The real data of one update step: {'image': (batches_per_step, B, H, W, C) (or the
    dataset's key and shape), 'label': (batches_per_step, B)}."""
    ks = range(step * batches_per_step, (step + 1) * batches_per_step)
    return {self.dataset.key: np.stack([self.batch(k, part) for k in ks]),
            'label': np.stack([self.labels(k, part) for k in ks])}
