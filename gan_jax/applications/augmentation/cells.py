"""One cell of the protocol (N, seed): its GAN, generated images, the classifiers of every method
and GAN-test, resumable method by method (results.json in the cell's directory)."""
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
from gan_jax import sampling
from gan_jax import state as state_lib
from gan_jax.applications.augmentation.protocol import (ALL, Cell, Data, cells, gan_config,
                                                        labelled_arrays, n_generated)

STREAM_AUGMENT_Z = 0xA06  # Latents of the generated training images (state.STREAM_* are 1-5).
GENERATE_CHUNK = 500  # Latents are drawn per chunk of this many: fixed, so no field moves them.
CONFIG_FILE = 'protocol_config.json'
# Fields a protocol's workdir may change: more N or seeds only add cells.
GROWING_FIELDS = ('protocol.per_class', 'protocol.seeds')


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


