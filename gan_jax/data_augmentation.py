"""The data-augmentation protocol: does a class-conditional GAN trained on N labelled examples per
class make a classifier better than the N examples alone, or than classical augmentation?

  python -m gan_jax.data_augmentation --config=experiments/augment_mnist.py \
      --workdir=runs/augment_mnist [--shard=0/2]

An experiment file gives the GAN's config plus two sections: `protocol` (this module's
`defaults()`: the values of N, the seeds, the ratios of generated to real images) and `classifier`
(gan_jax/classifier.py: the downstream classifier's fixed recipe). For every cell (N, seed), with
the subset, the GAN and the classifiers all seeded by `seed`:

1. The GAN trains on the subset (`data.per_class=N`, `data.subset_seed=seed`, `seed=seed`) in
   workdir/n=<N>,seed=<seed>/gan, resuming from its checkpoint if stopped.
2. Its sampling generator (the EMA's, if kept) draws labelled images, the classes in turn.
3. The classifier trains (same seed for every method, so methods differ only by their data) on
   METHODS: real; real + classical augmentation (shifts, rotations); real + r generated images
   per real image, for r in protocol.ratios, without and with classical augmentation; generated
   images only (max ratio; the Classification Accuracy Score, or GAN-train). Each is scored on
   the test split (protocol.test_split), which the GAN never trains on and no classifier sees.
4. GAN-test (Shmelkov et al. 2018): a reference classifier, trained with classical augmentation on
   every real example of the training split (seed `seed`), scores generated images by the class
   they were drawn for.

Each cell writes its results.json as every method finishes, so a stopped protocol resumes with
the next unfinished method; `--shard=i/n` takes the cells i, i+n, ... so processes sharing the
workdir split the table. Whoever finishes writes workdir/results.json, results.md (mean ± sample
std over seeds, and the seed count, for every method and N) and results.png (accuracy against N).
No setting is chosen on the test split: the recipes are fixed in the experiment files (the
classifier's alternatives were compared on validation data from the training split,
docs/classifier_recipe.md) and every ratio is reported. The workdir keeps the config it ran
(protocol_config.json) and refuses another, more N or seeds excepted.
"""
import copy
import dataclasses
import json
import os
import time

import jax
import ml_collections
import numpy as np
from absl import logging

from gan_jax import atomic_files
from gan_jax import classifier as classifier_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import sampling
from gan_jax.evaluation import mean_std
from gan_jax import state as state_lib
from gan_jax.validation import failed, is_int, is_real

ALL = 0  # protocol.per_class entry meaning every example of the training split.
STREAM_AUGMENT_Z = 0xA06  # Latents of the generated training images (state.STREAM_* are 1-5).
GENERATE_CHUNK = 500  # Latents are drawn per chunk of this many: fixed, so no field moves them.
CONFIG_FILE = 'protocol_config.json'
# Fields a protocol's workdir may change: more N or seeds only add cells.
GROWING_FIELDS = ('protocol.per_class', 'protocol.seeds')


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


def generate(exp, state, seed: int, num: int) -> tuple[np.ndarray, np.ndarray]:
  """`num` labelled images of the run's sampling generator (the EMA's if kept): the classes in
  turn (0, 1, ..., C-1, 0, ...), latents from the seed's own stream."""
  sample = sampling.make_eval_sampler(exp.generator)
  params, g_vars = state_lib.replica((exp.sampling_params(state), exp.sampling_vars(state)), 0)
  m, chunk = exp.config.model, GENERATE_CHUNK
  key = jax.random.fold_in(jax.random.PRNGKey(seed), STREAM_AUGMENT_Z)
  labels = (np.arange(num) % exp.num_classes).astype(np.int32)
  images = []
  for i, start in enumerate(range(0, num, chunk)):
    z = state_lib.sample_latent(jax.random.fold_in(key, i), chunk, m.latent_dim, m.latent_dist)
    part = np.zeros(chunk, np.int32)
    part[:len(labels[start:start + chunk])] = labels[start:start + chunk]
    images.append(np.asarray(sample(params, g_vars, z, part)))
  return np.concatenate(images)[:num], labels


def _read_json(path: str) -> dict:
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def reference_classifier(config, data: Data, seed: int, workdir: str) -> tuple:
  """GAN-test's classifier: trained with classical augmentation on every real training example
  (seed `seed`; the `real+classical` classifier of the cell N = all); kept as
  workdir/reference/seed=<seed>.npz, its test accuracy beside it. Returns (params, accuracy)."""
  path = os.path.join(workdir, 'reference', f'seed={seed}.npz')
  info = _read_json(path[:-len('.npz')] + '.json')
  if os.path.exists(path) and info:
    return classifier_lib.load_params(path), info['test_accuracy']
  start = time.time()
  images, labels = labelled_arrays(data.train)
  params = classifier_lib.train(config.classifier, images, labels, data.num_classes, seed,
                                augment=True)
  test_acc = classifier_lib.accuracy(config.classifier, params, *data.test_arrays())
  os.makedirs(os.path.dirname(path), exist_ok=True)
  classifier_lib.save_params(params, path)
  atomic_files.write_json(path[:-len('.npz')] + '.json',
                          {'seed': seed, 'test_accuracy': test_acc, 'train_examples': len(images),
                           'seconds': time.time() - start})
  logging.info('GAN-test reference classifier (seed %d, %d real examples): test accuracy %.4f',
               seed, len(images), test_acc)
  return params, test_acc


def training_sets(real, generated, ratios) -> dict:
  """{method: (images, labels, classical augmentation)} of one cell (`methods` order)."""
  (xr, yr), (xg, yg) = real, generated  # generated: at least max(ratios) * len(xr).
  mix = lambda r: (np.concatenate([xr, xg[:n_generated(r, len(xr))]]),
                   np.concatenate([yr, yg[:n_generated(r, len(xr))]]))
  sets = {'real': (xr, yr, False), 'real+classical': (xr, yr, True)}
  sets.update({f'real+gan_x{r:g}': (*mix(r), False) for r in ratios})
  sets.update({f'real+gan_x{r:g}+classical': (*mix(r), True) for r in ratios})
  n = n_generated(max(ratios), len(xr))
  sets['gan_only'] = (xg[:n], yg[:n], False)
  return sets


def train_gan(config, cell: Cell, cell_dir: str):
  """The cell's GAN, trained (or resumed, or read when finished): (experiment, state)."""
  from gan_jax import experiment as experiment_lib
  from gan_jax import train
  gan = gan_config(config, cell)
  state = train.train_and_evaluate(gan, os.path.join(cell_dir, 'gan'))
  return experiment_lib.Experiment(gan), state


def run_cell(config, data: Data, cell: Cell, workdir: str) -> dict:
  """Every method of one cell, resuming after the last finished one; returns results.json.
  `wall_seconds` and `gan_seconds` add up the time of every call that worked on the cell."""
  path = os.path.join(workdir, cell.name, 'results.json')
  result = _read_json(path) or {'per_class': cell.per_class, 'seed': cell.seed, 'methods': {},
                                'wall_seconds': 0.0, 'gan_seconds': 0.0}
  if 'gan_test' in result:
    return result
  start = time.time()
  exp, state = train_gan(config, cell, os.path.dirname(path))
  result['gan_seconds'] += time.time() - start
  real, test = data.real(cell), data.test_arrays()
  result['real_examples'] = n_real = len(real[0])
  n_gen = n_generated(max(config.protocol.ratios), n_real)
  generated = generate(exp, state, cell.seed, max(n_gen, config.protocol.gan_test_samples))
  sets = training_sets(real, (generated[0][:n_gen], generated[1][:n_gen]),
                       config.protocol.ratios)
  for name, (x, y, augment) in sets.items():
    if name in result['methods']:
      continue
    t = time.time()
    if name == 'real+classical' and cell.per_class == ALL:  # The very same classifier.
      acc = reference_classifier(config, data, cell.seed, workdir)[1]
    else:
      params = classifier_lib.train(config.classifier, x, y, data.num_classes, cell.seed, augment)
      acc = classifier_lib.accuracy(config.classifier, params, *test)
    result['methods'][name] = {'accuracy': acc, 'train_examples': len(x),
                               'seconds': time.time() - t}
    atomic_files.write_json(path, result, indent=1)
    logging.info('%s %s: test accuracy %.4f (%d training images, %.1fs)', cell.name, name, acc,
                 len(x), time.time() - t)
  reference, _ = reference_classifier(config, data, cell.seed, workdir)
  k = config.protocol.gan_test_samples
  result['gan_test'] = classifier_lib.accuracy(config.classifier, reference,
                                               generated[0][:k], generated[1][:k])
  result['wall_seconds'] += time.time() - start
  atomic_files.write_json(path, result, indent=1)
  logging.info('%s GAN-test: %.4f', cell.name, result['gan_test'])
  return result


def finished(config, workdir: str) -> list:
  """results.json of every finished cell of the config, in `cells` order."""
  return [r for c in cells(config)
          if 'gan_test' in (r := _read_json(os.path.join(workdir, c.name, 'results.json')))]


def check_workdir(config, workdir: str) -> None:
  """Records the config in workdir/protocol_config.json, or refuses a workdir that holds a
  protocol of another config (more N or seeds excepted), so that no table mixes two."""
  path = os.path.join(workdir, CONFIG_FILE)
  saved = _read_json(path)
  current = json.loads(config.to_json())
  if saved:  # Every field counts (a longer GAN run changes the cells), growing ones aside.
    diffs = configs.changed(saved, current, lambda k: k in GROWING_FIELDS)
    if diffs:
      raise configs.ConfigError(
          f'--workdir={workdir} holds a protocol of another config; use a new --workdir, or '
          'the same config. Differences: ' + '; '.join(diffs))
  os.makedirs(workdir, exist_ok=True)
  atomic_files.write_json(path, current, indent=1)


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a protocol's workdir was run with (protocol_config.json)."""
  saved = _read_json(os.path.join(workdir, CONFIG_FILE))
  if not saved:
    raise configs.ConfigError(f'{workdir} holds no {CONFIG_FILE}: not a protocol\'s workdir.')
  return ml_collections.ConfigDict(saved)


def summarize(config, results: list) -> dict:
  """{'rows': [{per_class, method, mean, std, seeds}], ...}: every finished cell's numbers, by N
  and method, over seeds."""
  rows = []
  for n in config.protocol.per_class:
    done = [r for r in results if r['per_class'] == n]
    for name in methods(config.protocol.ratios) + ['gan_test']:
      values = [r['gan_test'] if name == 'gan_test' else r['methods'][name]['accuracy']
                for r in done if (name == 'gan_test' and 'gan_test' in r) or
                name in r.get('methods', {})]
      if values:
        mean, std, count = mean_std(values)
        rows.append({'per_class': n, 'method': name, 'mean': mean, 'std': std, 'seeds': count})
  return {'rows': rows, 'cells': results}


def table_markdown(summary: dict, ratios) -> str:
  """Test accuracy (%) per method (rows) and N (columns): mean ± sample std (seeds)."""
  ns = list(dict.fromkeys(r['per_class'] for r in summary['rows']))
  head = [n_label(n) for n in ns]
  lines = ['| method | ' + ' | '.join(f'N = {h}' for h in head) + ' |',
           '|---|' + '---|' * len(ns)]
  cell = {(r['per_class'], r['method']): r for r in summary['rows']}
  for name in methods(ratios) + ['gan_test']:
    values = [cell.get((n, name)) for n in ns]
    lines.append(f'| {name} | ' + ' | '.join(
        '—' if v is None else f'{100 * v["mean"]:.1f} ± {100 * v["std"]:.1f} ({v["seeds"]})'
        for v in values) + ' |')
  return '\n'.join(lines)


COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def plot_png(f, summary: dict, ratios, title: str) -> None:
  """Test accuracy against N (evenly spaced, in protocol order), a line per method with the
  seeds' std as error bars; drawn with PIL into the binary file f."""
  from PIL import Image, ImageDraw
  rows = [r for r in summary['rows'] if r['method'] != 'gan_test']
  ns = list(dict.fromkeys(r['per_class'] for r in rows))
  names = [m for m in methods(ratios) if any(r['method'] == m for r in rows)]
  left, top, width, height, legend = 60, 30, 460, 300, 200
  img = Image.new('RGB', (left + width + legend, top + height + 50), 'white')
  draw = ImageDraw.Draw(img)
  draw.text((left, 8), title, fill='black')
  lows = [r['mean'] - r['std'] for r in rows] or [0.0]
  lo = max(0.0, np.floor(min(lows) * 20) / 20)  # Down to a multiple of 5%.
  y = lambda v: top + height - (v - lo) / (1.0 - lo) * height
  x = lambda i: left + (i + 0.5) * width / max(len(ns), 1)
  draw.rectangle([left, top, left + width, top + height], outline='black')
  for k in range(int(round((1.0 - lo) * 20)) + 1):
    v = lo + k * 0.05
    draw.line([left - 4, y(v), left, y(v)], fill='black')
    draw.text((6, y(v) - 6), f'{100 * v:.0f}%', fill='black')
  for i, n in enumerate(ns):
    draw.text((x(i) - 12, top + height + 6), f'N={n_label(n)}', fill='black')
  draw.text((left + width // 2 - 80, top + height + 26), 'labelled examples per class',
            fill='black')
  for j, name in enumerate(names):
    color = COLORS[j % len(COLORS)]
    pts = [(i, r) for i, n in enumerate(ns) for r in rows
           if r['per_class'] == n and r['method'] == name]
    for (i0, a), (i1, b) in zip(pts, pts[1:]):
      draw.line([x(i0) + j, y(a['mean']), x(i1) + j, y(b['mean'])], fill=color, width=2)
    for i, r in pts:
      draw.line([x(i) + j, y(r['mean'] - r['std']), x(i) + j, y(min(1.0, r['mean'] + r['std']))],
                fill=color)
      draw.ellipse([x(i) + j - 3, y(r['mean']) - 3, x(i) + j + 3, y(r['mean']) + 3], fill=color)
    draw.line([left + width + 12, top + 8 + 18 * j, left + width + 32, top + 8 + 18 * j],
              fill=color, width=3)
    draw.text((left + width + 38, top + 2 + 18 * j), name, fill='black')
  img.save(f, format='PNG')


def plot_title(config) -> str:
  return f'{config.data.source}: test accuracy, mean ± std over seeds'


def write_results(config, workdir: str, results: list) -> dict:
  """workdir/results.json, results.md and results.png from the finished cells."""
  summary = summarize(config, results)
  ratios = config.protocol.ratios
  title = plot_title(config)
  atomic_files.write_json(os.path.join(workdir, 'results.json'), summary, indent=1)
  atomic_files.write_text(os.path.join(workdir, 'results.md'), '\n'.join([
      f'Test accuracy (%) on {config.data.source}\'s {config.protocol.test_split} split: mean ± '
      'sample std (seeds).', '', table_markdown(summary, ratios), '']))
  atomic_files.write_atomically(os.path.join(workdir, 'results.png'),
                                lambda f: plot_png(f, summary, ratios, title), 'wb')
  return summary


def run(config, workdir: str, shard: tuple = (0, 1)) -> dict:
  """The protocol: this shard's cells (resuming), then the table of every finished cell."""
  workdir = os.path.abspath(workdir)
  data = check(config)
  check_workdir(config, workdir)
  todo = cells(config)
  index, count = shard
  mine = [c for i, c in enumerate(todo) if i % count == index]
  logging.info('Data-augmentation protocol: %d cells (N in %s, seeds %s) in %s; this process: '
               '%d', len(todo), list(config.protocol.per_class), list(config.protocol.seeds),
               workdir, len(mine))
  start = time.time()
  for i, cell in enumerate(mine):
    run_cell(config, data, cell, workdir)
    elapsed = time.time() - start
    logging.info('Cell %d/%d (%s) done; %.0fs elapsed, about %.0fs to go', i + 1, len(mine),
                 cell.name, elapsed, elapsed / (i + 1) * (len(mine) - i - 1))
  results = finished(config, workdir)
  summary = write_results(config, workdir, results)
  logging.info('%d/%d cells finished; table in %s', len(results), len(todo),
               os.path.join(workdir, 'results.md'))
  return summary


def main(argv):
  """`python -m gan_jax.data_augmentation ...`: the same as `gan_jax.main --mode=augment`."""
  from gan_jax import main as main_lib
  main_lib.FLAGS.mode = 'augment'
  main_lib.main(argv)


if __name__ == '__main__':
  from absl import app
  from gan_jax import cli
  from gan_jax import main as main_lib  # noqa: F401 -- defines the flags.
  app.run(main, flags_parser=cli.parse_flags)
