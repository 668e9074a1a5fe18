"""The data-augmentation protocol's config and cells: the `protocol` section, its checks, each
cell's GAN config and the real examples a cell trains on (gan_jax/applications/augmentation)."""
import copy
import dataclasses

import jax
import ml_collections
import numpy as np

from gan_jax import classifier as classifier_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax.validation import failed, is_int, is_real

ALL = 0  # protocol.per_class entry meaning every example of the training split.


def defaults() -> ml_collections.ConfigDict:
  """The protocol section, with small defaults (experiments set the real sweep)."""
  p = ml_collections.ConfigDict()
  p.per_class = (10,)  # Labelled examples per class; 0: all of the training split.
  p.seeds = (0,)  # Each seeds the subset, the GAN and the classifiers of its cells.
  p.ratios = (1.0,)  # Generated images per real image (real + GAN rows); the max for GAN only.
  p.test_split = 'test'
  p.gan_test_samples = 1000  # Generated images that GAN-test scores (the classes in turn).
  return p


def problems(config: ml_collections.ConfigDict) -> list[str]:
  """Every problem of the protocol section (and that the GAN is conditional)."""
  if 'protocol' not in config or 'classifier' not in config:
    return ['The config has no protocol or classifier section: --config must be an experiment '
            'of the data-augmentation protocol, e.g. experiments/augment_mnist.py.']
  p = config.protocol
  ints = lambda v, lo: isinstance(v, (tuple, list)) and v and all(
      is_int(x) and x >= lo for x in v) and len(set(v)) == len(v)
  ratios_ok = isinstance(p.ratios, (tuple, list)) and p.ratios and all(
      is_real(r) and r >= 0 for r in p.ratios)
  return failed([
      (ints(p.per_class, 0), 'protocol.per_class must be a non-empty tuple of distinct '
       f'integers >= 0 (examples per class; 0: all), got {p.per_class!r}.'),
      (ints(p.seeds, 0),
       f'protocol.seeds must be a non-empty tuple of distinct integers >= 0, got {p.seeds!r}.'),
      (ratios_ok and len({f'{r:g}' for r in p.ratios}) == len(p.ratios),
       'protocol.ratios must be a non-empty tuple of distinct numbers >= 0 (generated images '
       f'per real image), got {p.ratios!r}.'),
      (not ratios_ok or max(p.ratios) > 0,
       f'protocol.ratios needs a ratio above 0 (the GAN-only row uses the largest), got '
       f'{p.ratios!r}.'),
      (p.test_split != config.data.split, f'protocol.test_split={p.test_split!r} is the '
       'training split (data.split); the test split must be held out.'),
      (is_int(p.gan_test_samples) and p.gan_test_samples > 0,
       f'protocol.gan_test_samples must be a positive integer, got {p.gan_test_samples!r}.'),
      (config.model.conditional is True, 'The protocol needs labelled generated images: set '
       'model.conditional=True.')])


def experiment_arg(config: ml_collections.ConfigDict, arg) -> ml_collections.ConfigDict:
  """`:runlocal`: the GAN's runlocal, one small cell, one ratio and a short classifier recipe."""
  config = configs.experiment_arg(config, arg)
  if arg == 'runlocal':
    config.protocol.per_class = (5,)
    config.protocol.seeds = (0,)
    config.protocol.ratios = (1.0,)
    config.protocol.gan_test_samples = 100
    config.classifier.steps = 40
    config.classifier.warmup_steps = 5
  return config


def methods(ratios) -> list[str]:
  """The table's rows in order (GAN-test is reported beside them)."""
  names = ['real', 'real+classical']
  names += [f'real+gan_x{r:g}' for r in ratios]
  names += [f'real+gan_x{r:g}+classical' for r in ratios]
  return names + ['gan_only']


def n_label(per_class: int) -> str:
  return 'all' if per_class == ALL else str(per_class)


def n_generated(ratio: float, num_real: int) -> int:
  """Generated images beside `num_real` real ones at `ratio` per real image."""
  return int(round(ratio * num_real))


@dataclasses.dataclass(frozen=True)
class Cell:
  per_class: int  # ALL (0): the whole training split.
  seed: int

  @property
  def name(self) -> str:
    return f'n={n_label(self.per_class)},seed={self.seed}'


def cells(config) -> list[Cell]:
  return [Cell(n, s) for n in config.protocol.per_class for s in config.protocol.seeds]


def gan_config(config, cell: Cell) -> ml_collections.ConfigDict:
  """The cell's GAN config: the experiment's without the protocol's sections, on the subset."""
  gan = copy.deepcopy(config)
  with gan.unlocked():
    for section in ('protocol', 'classifier'):
      if section in gan:
        del gan[section]
  gan.seed = cell.seed
  gan.num_seeds = 1
  gan.data.per_class = None if cell.per_class == ALL else cell.per_class
  gan.data.subset_seed = cell.seed
  return gan


def labelled_arrays(dataset: data_lib.Dataset) -> tuple[np.ndarray, np.ndarray]:
  """(images float32 in [-1, 1], labels int32) of a whole dataset."""
  idx = np.arange(dataset.size)
  return dataset.get(idx), dataset.labels_of(idx)


class Data:
  """The source's training and test splits, and each cell's real training examples."""

  def __init__(self, config):
    self.config = config
    self.source = data_lib.get_source(config.data)
    self.train = data_lib.get_split(self.source, config.data.split)
    self.test = data_lib.get_split(self.source, config.protocol.test_split)
    if not self.train.has_labels or not self.test.has_labels or not self.source.num_classes:
      raise data_lib.DataError(f'The protocol trains classifiers; data.source='
                               f'{config.data.source!r} has no class labels.')
    self.num_classes = int(self.source.num_classes)

  def real(self, cell: Cell) -> tuple[np.ndarray, np.ndarray]:
    """The cell's real training examples: exactly the GAN's (data.class_subset)."""
    n = None if cell.per_class == ALL else cell.per_class
    return labelled_arrays(data_lib.class_subset(self.train, n, cell.seed,
                                                 repr(self.config.data.source)))

  def test_arrays(self) -> tuple[np.ndarray, np.ndarray]:
    return labelled_arrays(self.test)


def check(config) -> Data:
  """Every problem found before anything trains: the protocol, the classifier, each cell's GAN
  config, each subset (N larger than a class has), and the classifier against the data's shape."""
  found = problems(config)
  found += classifier_lib.problems(config) if 'classifier' in config else []
  if found:
    raise configs.ConfigError('Invalid config:\n  - ' + '\n  - '.join(found))
  for cell in cells(config):
    configs.validate(gan_config(config, cell))
  from gan_jax import experiment as experiment_lib
  experiment_lib.Experiment(gan_config(config, cells(config)[0]))  # G and D fit the data.
  data = Data(config)
  for n in sorted(set(config.protocol.per_class) - {ALL}):
    try:
      data_lib.class_subset(data.train, n, 0, repr(config.data.source))
    except data_lib.DataError as e:
      raise configs.ConfigError(f'protocol.per_class has {n}: {e}') from e
  fewest = min(n * data.num_classes if n != ALL else data.train.size
               for n in config.protocol.per_class)
  if n_generated(max(config.protocol.ratios), fewest) < 1:
    raise configs.ConfigError(
        f'protocol.ratios={tuple(config.protocol.ratios)} gives no generated image beside the '
        f'{fewest} real ones of the smallest cell; raise the largest ratio.')
  _check_classifier(config.classifier, data.train.element_shape, data.num_classes)
  return data


def _check_classifier(cfg, element_shape: tuple, num_classes: int) -> None:
  """Traces (compiles nothing) the classifier on the data's shape; a failure names the fields."""
  if len(element_shape) != 3:
    raise configs.ConfigError(f'The classifier takes images; the data are of shape '
                              f'{element_shape}. Choose an image data.source.')
  model = classifier_lib.Classifier(tuple(cfg.conv_features), cfg.dense_features, num_classes)
  try:
    jax.eval_shape(model.init, jax.random.PRNGKey(0),
                   jax.ShapeDtypeStruct((1, *element_shape), np.float32))
  except Exception as e:  # noqa: BLE001 -- flax raises many kinds.
    raise configs.ConfigError(f'The classifier (classifier.conv_features={cfg.conv_features}, '
                              f'dense_features={cfg.dense_features}) cannot run on images of '
                              f'shape {element_shape}: {type(e).__name__}: {e}') from e


