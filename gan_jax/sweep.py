"""Sweeps: every point of an experiment's `get_sweep()` trained as a run of the study engine,
then tabulated.

  python -m gan_jax.sweep --config=experiments/loss_ablation.py --workdir=runs/ablation
  make sweep CONFIG=experiments/loss_ablation.py WORKDIR=runs/ablation [SHARD=i/n]

An experiment file may define `get_sweep(arg=None)` returning the points as override dicts
({'loss.name': 'hinge', 'model.d_kwargs.mlp.spectral_norm': True}); `product` and `zip_points`
build them, and `cross` combines lists of points. Each point is a 'gan' run of the study engine
(gan_jax/study/engine.py; `runs` makes them): `python -m gan_jax.main` in a process of its own
trains it in `workdir/<point name>` with the experiment's `num_seeds` seeds together, evaluating
at the end, under the point's lock. A finished point is read, not retrained; a stopped one resumes
from its checkpoint. `--shard=i/n` takes every n-th point from the i-th first, then any point no
other process holds, so n processes or machines sharing the workdir split a sweep and take over
each other's remainders. Every finished point is tabulated in workdir/results.csv and results.md
(a row per point: its overrides, then each final metric as mean ± std over seeds) and
results.png (the chosen --metric across points, with its std over seeds as error bars; matplotlib).
A sweep has no results page: a sweep that makes one is a study (experiments/studies/), which may
take its runs from `runs`.
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
  """Sets dotted fields (configs.apply_overrides, which the study engine also uses)."""
  return configs.apply_overrides(config, overrides)


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


def runs(config: str) -> list:
  """The points of the sweep of experiment file `config` ('path[:arg]') as study runs ('gan'
  kind): each named point_name(overrides) (its directory), of the point's config.seed, labelled
  by its overrides. Every point's config is built and validated first."""
  from gan_jax.study import kinds
  path, arg = kinds.experiment_path(config)
  return _as_runs(config, plan(path, arg, ''))


def _as_runs(config: str, planned: list) -> list:
  from gan_jax.study import spec
  return [spec.Run(name=point_name(overrides), config=config, overrides=dict(overrides),
                   seed=point_config.seed, labels=dict(overrides))
          for overrides, point_config, _ in planned]


def parse_shard(text: str) -> tuple[int, int]:
  """'i/n' -> (i, n) with 0 <= i < n (configs.parse_shard)."""
  return configs.parse_shard(text)


def per_seed(run, result: dict) -> dict:
  """{str(seed): final numbers} of a 'gan' run's result (several seeds: its 'seeds'; one: its
  'metrics', under the run's seed)."""
  return result['seeds'] if 'seeds' in result else {str(run.seed): result['metrics']}


def summarize(run, record: dict) -> dict:
  """A finished point's row: its overrides, its seed count, each metric's mean and sample std
  over seeds (None where no seed defines it)."""
  from gan_jax.reports import stats
  seeds = per_seed(run, record['result'])
  metrics = list(dict.fromkeys(m for numbers in seeds.values() for m in numbers))
  ms = {m: stats.mean_std([numbers.get(m) for numbers in seeds.values()]) for m in metrics}
  return {'overrides': run.overrides, 'num_seeds': len(seeds),
          'mean': {m: v[0] for m, v in ms.items()}, 'std': {m: v[1] for m, v in ms.items()}}


def _fmt(mean, std):
  return '—' if mean is None else f'{mean:.4g} ± {std:.2g}'


def _csv_writer(fields: list, metrics: list, rows: list):
  def write(f):
    w = csv.writer(f)
    w.writerow(fields + ['num_seeds'] + [c for m in metrics for c in (f'{m}_mean', f'{m}_std')])
    for r in rows:
      w.writerow([r['overrides'].get(k, '') for k in fields] + [r['num_seeds']] +
                 [v for m in metrics for v in (r['mean'].get(m), r['std'].get(m))])
  return write


def write_results(workdir: str, rows: list, metric: str, protocol: dict) -> list[str]:
  """results.csv, results.md and results.png from the finished points' rows (`summarize`);
  returns the paths. Each is written under a temporary name and renamed, so shards finishing
  together never mix two tables."""
  fields = list(dict.fromkeys(k for r in rows for k in r['overrides']))
  metrics = list(dict.fromkeys(m for r in rows for m in r['mean']))
  md = ['| ' + ' | '.join(fields + ['seeds'] + metrics) + ' |',
        '|' + '---|' * (len(fields) + 1 + len(metrics))]
  for r in rows:
    md.append('| ' + ' | '.join([str(r['overrides'].get(k, '')) for k in fields]
                                + [str(r['num_seeds'])]
                                + [_fmt(r['mean'].get(m), r['std'].get(m)) for m in metrics])
              + ' |')
  md += ['', f'Mean ± sample std over seeds at the final step; protocol: {json.dumps(protocol)}.',
         '']
  paths = [os.path.join(workdir, f'results.{ext}') for ext in ('csv', 'md', 'png')]
  atomic_files.write_atomically(paths[0], _csv_writer(fields, metrics, rows), 'w', newline='')
  atomic_files.write_text(paths[1], '\n'.join(md))
  png = plot_png([point_name(r['overrides']) for r in rows], [r['mean'].get(metric) for r in rows],
                 [r['std'].get(metric) for r in rows], metric)
  atomic_files.write_atomically(paths[2], lambda f: f.write(png), 'wb')
  return paths


def plot_png(labels: list, means: list, stds: list, metric: str) -> bytes:
  """A horizontal bar per point, its std over seeds as an error bar ('undefined' where no seed
  defines the metric), as PNG bytes (gan_jax/reports/plots.py's style)."""
  from gan_jax.reports import plots
  fig, (ax,) = plots.figure(width=8.0, height=1.0 + 0.3 * len(labels))
  ys = list(range(len(labels)))
  at = [i for i, m in enumerate(means) if m is not None]
  ax.barh([ys[i] for i in at], [means[i] for i in at], xerr=[stds[i] or 0.0 for i in at],
          capsize=3, color='C0')
  for i in ys:
    if means[i] is None:
      ax.text(0.0, i, ' undefined', va='center', color='gray')
  ax.set_yticks(ys, labels)
  ax.invert_yaxis()
  ax.set(xlabel=metric, title=f'{metric}: mean ± std over seeds')
  return plots.png_bytes(fig)


def _protocol(workdir: str, name: str) -> dict:
  from gan_jax.study import kinds
  return (kinds.read_json(os.path.join(workdir, name, 'eval.json')) or {}).get('protocol', {})


def run_sweep(path: str, arg, workdir: str, metric=None, dry_run: bool = False,
              shard=None) -> list:
  """Trains the sweep's unfinished points through the study engine (none with dry_run), then
  tabulates every finished one; returns their rows (`summarize`), in the sweep's order.
  `shard`: 'i/n' (or (i, n)), None for all."""
  from gan_jax.study import engine
  from gan_jax.study import spec
  shard = '/'.join(map(str, shard)) if isinstance(shard, tuple) else shard
  if shard is not None:
    parse_shard(shard)
  workdir = os.path.abspath(workdir)
  config = os.path.abspath(path) + (f':{arg}' if arg else '')
  planned = plan(path, arg, workdir)  # Every point's config is checked before any trains.
  points = _as_runs(config, planned)
  for overrides, point_config, _ in planned:
    if point_config.eval.features == 'none' or not point_config.eval.get('evaluators', True):
      raise configs.ConfigError(f'Sweep point {overrides}: a sweep tabulates eval.json; set '
                                'eval.features (not none) and eval.evaluators (not empty).')
  study = spec.Study(name=os.path.basename(workdir), runs=points, report=None,
                     command=f'python -m gan_jax.sweep --config={config}')
  logging.info('Sweep of %d points in %s%s', len(points), workdir,
               f' (shard {shard})' if shard else '')
  if not dry_run:
    engine.work(study, workdir, shard, {})
  records = engine.collect(study, workdir, {})  # Other shards may have finished theirs.
  rows = [summarize(r, records[r.name]) for r in points if records[r.name] is not None]
  if rows:
    metric = metric or next(iter(rows[0]['mean']))
    first = next(r.name for r in points if records[r.name] is not None)
    paths = write_results(workdir, rows, metric, _protocol(workdir, first))
    logging.info('Results of %d/%d points: %s', len(rows), len(points), ', '.join(paths))
  return rows


def _define_flags():
  # Defined only when run as a program: experiment files import this module for its helpers.
  flags.DEFINE_string('config', None, 'Experiment file with get_sweep (path[:arg]).')
  flags.DEFINE_string('workdir', None, 'Directory of the sweep; one subdirectory per point.')
  flags.DEFINE_string('metric', None, 'Metric of results.png (default: the first of eval.json).')
  flags.DEFINE_bool('dry_run', False, 'List the points and tabulate finished ones; train nothing.')
  flags.DEFINE_string('shard', None, 'i/n: train points i, i+n, i+2n, ... (0-based) first, then '
                      'any point no other process holds, so n processes sharing --workdir split '
                      'the sweep.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not FLAGS.config or not FLAGS.workdir:
    raise app.UsageError('--config and --workdir are required.')
  path, _, arg = FLAGS.config.partition(':')
  cli.prepare()
  cli.report_user_errors(lambda: run_sweep(path, arg or None, FLAGS.workdir, FLAGS.metric,
                                           FLAGS.dry_run, FLAGS.shard))


if __name__ == '__main__':
  _define_flags()
  app.run(main)
