"""Run kind 'augmentation': one cell (N, seed) of the data-augmentation protocol
(gan_jax/applications/augmentation): its GAN, the classifiers of every method and GAN-test.

The run's overrides set protocol.per_class = (N,) and protocol.seeds = (seed,); its directory is
<protocol workdir>/n=<N>,seed=<seed>, so that cells of one experiment share the workdir's GAN-test
reference classifiers and its protocol_config.json, as `python -m gan_jax.main --mode=augment`
lays them out. Its result is the cell's results.json (every method's test accuracy, GAN-test,
the cell's wall and GAN seconds) and the reference classifier's own test accuracy.
"""
import os

from gan_jax import configs
from gan_jax.study import kinds


def cell_config(run):
  """The experiment with the run's overrides (config.seed is the protocol's, not the cell's)."""
  path, arg = kinds.experiment_path(run.config)
  config = configs.apply_overrides(configs.load_experiment(path, arg), dict(run.overrides))
  if len(config.protocol.per_class) != 1 or tuple(config.protocol.seeds) != (run.seed,):
    raise configs.ConfigError(
        f'Run {run.name}: an augmentation run is one cell; set overrides protocol.per_class=(N,) '
        f'and protocol.seeds=({run.seed},), got {tuple(config.protocol.per_class)} and '
        f'{tuple(config.protocol.seeds)}.')
  return config


def _cell(run, run_dir: str):
  from gan_jax.applications.augmentation import protocol
  config = cell_config(run)
  cell = protocol.Cell(config.protocol.per_class[0], run.seed)
  if os.path.basename(os.path.normpath(run_dir)) != cell.name:
    raise configs.ConfigError(f'Run {run.name}: an augmentation run\'s name must end in its '
                              f'cell\'s directory {cell.name!r}.')
  return config, cell


def train(run, run_dir: str) -> None:
  from gan_jax.applications.augmentation import cells, protocol
  config, cell = _cell(run, run_dir)
  data = protocol.check(config)
  workdir = os.path.dirname(os.path.abspath(run_dir))
  cells.check_workdir(config, workdir)
  cells.run_cell(config, data, cell, workdir)


def result(run, run_dir: str):
  """The cell's numbers when it finished under the run's config (the protocol workdir's
  protocol_config.json equal to it, more N or seeds aside), else None."""
  import json
  from gan_jax.applications.augmentation import cells
  r = kinds.read_json(os.path.join(run_dir, 'results.json'))
  if not r or 'gan_test' not in r:
    return None
  workdir = os.path.dirname(os.path.abspath(run_dir))
  saved = kinds.read_json(os.path.join(workdir, cells.CONFIG_FILE)) or {}
  if configs.changed(saved, json.loads(cell_config(run).to_json()),
                     lambda k: k in cells.GROWING_FIELDS):
    return None
  reference = kinds.read_json(os.path.join(os.path.dirname(os.path.abspath(run_dir)),
                                           'reference', f'seed={run.seed}.json')) or {}
  return {'accuracy': {m: v['accuracy'] for m, v in r['methods'].items()},
          'train_examples': {m: v['train_examples'] for m, v in r['methods'].items()},
          'gan_test': r['gan_test'], 'real_examples': r['real_examples'],
          'reference_accuracy': reference.get('test_accuracy'),
          'seconds': round(r['wall_seconds'], 1), 'gan_seconds': round(r['gan_seconds'], 1)}


KIND = kinds.Kind(config=cell_config, train=train, result=result)
