"""Sweeps: every point of an experiment's `get_sweep()` trained in its own workdir, then tabulated.

  python -m gan_jax.sweep --config=experiments/loss_ablation.py --workdir=runs/ablation
  make sweep CONFIG=experiments/loss_ablation.py WORKDIR=runs/ablation

An experiment file may define `get_sweep(arg=None)` returning the points as override dicts
({'loss.name': 'hinge', 'model.d_kwargs.mlp.spectral_norm': True}); `product` and `zip_points`
build them, and `cross` combines lists of points. Each point trains in `workdir/<its overrides>` with the experiment's `num_seeds`
seeds together, evaluating at the end (gan_jax/evaluation.py). The sweep is resumable: a point whose
eval.json is at its final step is read, not retrained; a stopped one resumes from its checkpoint.
`--shard=i/n` trains only the points whose index is i mod n, so n processes or machines sharing the
workdir split a sweep (each tabulates every finished point; the last to finish writes the full table).
It writes workdir/results.csv and results.md (a row per point: its overrides, then each final
metric as mean ± std over seeds) and results.png (the chosen --metric across points, with its
std over seeds as error bars). The sweep owns one cache of reference features that all its points
share (their data and extractor are mostly the same), dropped when the sweep ends.
"""
import csv
import itertools
import json
import os
import re

from absl import app
from absl import flags
from absl import logging
from gan_jax import atomic_files
from gan_jax import cli
from gan_jax import configs

FLAGS = flags.FLAGS


def product(axes: dict) -> list[dict]:
  """Every combination: product({'a': [1, 2], 'b': ['x', 'y']}) has 4 points."""
  keys = list(axes)
  return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def zip_points(axes: dict) -> list[dict]:
  """Values taken together: zip_points({'a': [1, 2], 'b': ['x', 'y']}) has 2 points."""
  lengths = {k: len(v) for k, v in axes.items()}
  if len(set(lengths.values())) > 1:
    raise configs.ConfigError(f'zip_points needs lists of one length; got {lengths}.')
  keys = list(axes)
  return [dict(zip(keys, values)) for values in zip(*(axes[k] for k in keys))]


def cross(*point_lists: list) -> list[dict]:
  """Every combination of points from several lists, merged: cross(losses, product(...))."""
  return [dict(kv for point in combo for kv in point.items())
          for combo in itertools.product(*point_lists)]


def point_name(overrides: dict) -> str:
  """A directory name from a point's overrides (last field name = value, joined by ',')."""
  parts = [f'{key.split(".")[-1]}={value}' for key, value in overrides.items()]
  name = ','.join(parts) or 'base'
  return re.sub(r'[^A-Za-z0-9_.,=+-]', '_', name)


def apply_overrides(config, overrides: dict):
  """Sets dotted fields; an unknown field or a value of another type fails naming both."""
  for key, value in overrides.items():
    *parents, leaf = key.split('.')
    node = config
    for p in parents:
      if p not in node:
        raise configs.ConfigError(f'Sweep override {key}={value!r}: the config has no field '
                                  f'{key!r}.')
      node = node[p]
    if leaf not in node:
      raise configs.ConfigError(f'Sweep override {key}={value!r}: the config has no field {key!r}.')
    try:
      node[leaf] = value
    except (TypeError, ValueError) as e:
      raise configs.ConfigError(f'Sweep override {key}={value!r}: {e}') from e
  return config


def load_sweep(path: str, arg=None) -> list[dict]:
  """The points of an experiment file's `get_sweep(arg)`, checked: a non-empty list of override
  dicts with distinct names."""
  module = configs.load_module(path)
  if not hasattr(module, 'get_sweep'):
    raise configs.ConfigError(f'{path} defines no get_sweep(arg=None); add one returning a list of '
                              'override dicts (gan_jax.sweep.product / zip_points).')
  points = module.get_sweep(arg)
  if not points or not all(isinstance(p, dict) for p in points):
    raise configs.ConfigError(f'{path}: get_sweep must return a non-empty list of dicts.')
  names = [point_name(p) for p in points]
  if len(set(names)) != len(names):
    raise configs.ConfigError(f'{path}: two sweep points have the same overrides: {names}.')
  return points


def plan(path: str, arg, workdir: str) -> list[tuple]:
  """[(overrides, config, point workdir)]: every point's config built and validated up front."""
  out = []
  for overrides in load_sweep(path, arg):
    config = apply_overrides(configs.load_experiment(path, arg), overrides)
    configs.validate(config)
    out.append((overrides, config, os.path.join(workdir, point_name(overrides))))
  return out


def finished(config, point_dir: str):
  """The point's eval.json when it is at the config's final step, else None."""
  path = os.path.join(point_dir, 'eval.json')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    result = json.load(f)
  return result if result['step'] == config.train.num_steps else None


def _fmt(mean, std):
  return '—' if mean is None else f'{mean:.4g} ± {std:.2g}'


def write_results(workdir: str, rows: list, metric: str) -> list[str]:
  """results.csv, results.md and results.png from [(overrides, eval.json)]; returns the paths.

  Each is written under a temporary name and renamed, so shards finishing together never mix
  two tables."""
  fields = list(dict.fromkeys(k for overrides, _ in rows for k in overrides))
  metrics = list(dict.fromkeys(m for _, r in rows for m in r['mean']))

  def write_csv(f):
    w = csv.writer(f)
    w.writerow(fields + ['num_seeds'] + [c for m in metrics for c in (f'{m}_mean', f'{m}_std')])
    for overrides, r in rows:
      w.writerow([overrides.get(k, '') for k in fields] + [r['num_seeds']] +
                 [v for m in metrics for v in (r['mean'].get(m), r['std'].get(m))])

  md = ['| ' + ' | '.join(fields + ['seeds'] + metrics) + ' |',
        '|' + '---|' * (len(fields) + 1 + len(metrics))]
  for overrides, r in rows:
    md.append('| ' + ' | '.join([str(overrides.get(k, '')) for k in fields] + [str(r['num_seeds'])]
                                + [_fmt(r['mean'].get(m), r['std'].get(m)) for m in metrics]) + ' |')
  protocol = rows[0][1]['protocol'] if rows else {}
  md += ['', f'Mean ± sample std over seeds at the final step; protocol: {json.dumps(protocol)}.',
         '']
  paths = [os.path.join(workdir, f'results.{ext}') for ext in ('csv', 'md', 'png')]
  atomic_files.write_atomically(paths[0], write_csv, 'w', newline='')
  atomic_files.write_text(paths[1], '\n'.join(md))
  atomic_files.write_atomically(
      paths[2], lambda f: _plot(f, [point_name(o) for o, _ in rows],
                                [r['mean'].get(metric) for _, r in rows],
                                [r['std'].get(metric) for _, r in rows], metric), 'wb')
  return paths


def _plot(f, labels, means, stds, metric):
  """A horizontal bar chart with error bars, drawn with PIL (no plotting dependency), as PNG into
  the binary file f."""
  from PIL import Image, ImageDraw
  row, left, width = 22, 330, 360
  img = Image.new('RGB', (left + width + 90, row * (len(labels) + 2)), 'white')
  draw = ImageDraw.Draw(img)
  draw.text((4, 4), f'{metric}: mean ± std over seeds', fill='black')
  valid = [(m, s) for m, s in zip(means, stds) if m is not None]
  hi = max([m + s for m, s in valid] + [1e-12])
  lo = min([0.0] + [m - s for m, s in valid])
  x = lambda v: left + (v - lo) / (hi - lo) * width
  for i, (label, m, s) in enumerate(zip(labels, means, stds)):
    y = row * (i + 1) + 4
    draw.text((4, y + 4), label[:52], fill='black')
    if m is None:
      draw.text((left, y + 4), 'undefined', fill='gray')
      continue
    draw.rectangle([x(min(0.0, m)), y + 3, x(max(0.0, m)), y + row - 5], fill=(90, 130, 200))
    draw.line([x(m - s), y + row // 2, x(m + s), y + row // 2], fill='black', width=2)
    draw.text((left + width + 6, y + 4), f'{m:.3g}', fill='black')
  img.save(f, format='PNG')


def parse_shard(text: str) -> tuple[int, int]:
  """'i/n' -> (i, n) with 0 <= i < n; anything else fails naming the expected form."""
  m = re.fullmatch(r'\s*(\d+)\s*/\s*(\d+)\s*', text or '')
  if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
    raise configs.ConfigError(f'--shard={text!r}: expected i/n with 0 <= i < n, e.g. --shard=0/2 '
                              'and --shard=1/2 for two processes sharing the workdir.')
  return int(m.group(1)), int(m.group(2))


def run_sweep(path: str, arg, workdir: str, metric=None, dry_run: bool = False,
              shard: tuple[int, int] = (0, 1)) -> list:
  from gan_jax import train
  workdir = os.path.abspath(workdir)
  points = plan(path, arg, workdir)  # Every point's config is checked before any trains.
  eval_cache = {}  # Reference features, shared by the points (train.train_and_evaluate).
  index, count = shard
  logging.info('Sweep of %d points in %s%s', len(points), workdir,
               f' (shard {index}/{count}: points {index + 1}, {index + 1 + count}, ...)'
               if count > 1 else '')
  for i, (overrides, config, point_dir) in enumerate(points):
    result = finished(config, point_dir)
    if result is None and i % count != index:
      logging.info('Point %d/%d %s: another shard\'s, not finished yet', i + 1, len(points),
                   overrides)
    elif result is None and not dry_run:
      logging.info('Point %d/%d %s: training in %s', i + 1, len(points), overrides, point_dir)
      if config.eval.features == 'none' or not config.eval.get('evaluators', True):
        raise configs.ConfigError('A sweep tabulates eval.json; set eval.features (not none) '
                                  'and eval.evaluators (not empty).')
      train.train_and_evaluate(config, point_dir, eval_cache=eval_cache)
    elif result is not None:
      logging.info('Point %d/%d %s: finished, read from %s', i + 1, len(points), overrides,
                   point_dir)
    else:
      logging.info('Point %d/%d %s: not trained (dry run), %s', i + 1, len(points), overrides,
                   point_dir)
  # Read every point again: other shards may have finished theirs while this one trained.
  rows = [(overrides, result) for overrides, config, point_dir in points
          if (result := finished(config, point_dir)) is not None]
  if rows:
    metric = metric or next(iter(rows[0][1]['mean']))
    paths = write_results(workdir, rows, metric)
    logging.info('Results of %d/%d points: %s', len(rows), len(points), ', '.join(paths))
  return rows


def _define_flags():
  # Defined only when run as a program: experiment files import this module for its helpers.
  flags.DEFINE_string('config', None, 'Experiment file with get_sweep (path[:arg]).')
  flags.DEFINE_string('workdir', None, 'Directory of the sweep; one subdirectory per point.')
  flags.DEFINE_string('metric', None, 'Metric of results.png (default: the first of eval.json).')
  flags.DEFINE_bool('dry_run', False, 'List the points and tabulate finished ones; train nothing.')
  flags.DEFINE_string('shard', '0/1', 'i/n: train only points i, i+n, i+2n, ... (0-based), so n '
                      'processes sharing --workdir split the sweep.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not FLAGS.config or not FLAGS.workdir:
    raise app.UsageError('--config and --workdir are required.')
  path, _, arg = FLAGS.config.partition(':')
  cli.prepare()
  cli.report_user_errors(lambda: run_sweep(path, arg or None, FLAGS.workdir, FLAGS.metric,
                                           FLAGS.dry_run, parse_shard(FLAGS.shard)))


if __name__ == '__main__':
  _define_flags()
  app.run(main)
