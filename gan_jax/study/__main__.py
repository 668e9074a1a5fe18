"""python -m gan_jax.study experiments/studies/NAME.py[:arg] [--shard i/n] [--report_only]

Trains the study's unfinished runs (resuming stopped ones) in --workdir (default
runs/studies/NAME), then writes docs/NAME.md, .json and .png from every finished run.
--shard i/n: this process takes every n-th run from the i-th first, then any run no other
process holds; it writes the page only when every run is finished (e.g. two single-core shards:
  XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c i python -m gan_jax.study S --shard i/2
or a SLURM array with --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT).
--report_only: trains nothing and reads no run directory: the page is rewritten from its
committed .json alone (byte for byte when nothing changed).
--collect_only: trains nothing; the page is written from the runs finished so far (in --workdir,
or recorded in the committed .json), e.g. after a partial sharded session.
--only NAMES: trains only the runs whose names match these comma-separated shell patterns
(e.g. --only 'lr5e-4*,ada'), then writes the page from every run finished so far, as
--collect_only does.
"""
import argparse
import os
import shutil
import sys

from absl import logging

from gan_jax import configs
from gan_jax import errors
from gan_jax.reports import pages
from gan_jax.study import engine
from gan_jax.study import spec


def parse_args(argv):
  parser = argparse.ArgumentParser(prog='python -m gan_jax.study',
                                   description=__doc__.split('\n')[0])
  parser.add_argument('study', help='A study file, experiments/studies/NAME.py[:arg].')
  parser.add_argument('--shard', default=None, help='i/n: split the runs over n processes.')
  parser.add_argument('--report_only', action='store_true',
                      help='Only rewrite the page from its committed .json.')
  parser.add_argument('--collect_only', action='store_true',
                      help='Train nothing; write the page from the runs finished so far.')
  parser.add_argument('--only', default=None,
                      help='Comma-separated run names or shell patterns: train only those.')
  parser.add_argument('--workdir', default=None, help='Run directories (runs/studies/NAME).')
  parser.add_argument('--docs_dir', default=None, help='Where the page goes (docs/).')
  args = parser.parse_args(argv)
  for flag in ('shard', 'only'):
    if getattr(args, flag) is not None and (args.report_only or args.collect_only):
      parser.error(f'--{flag} and --report_only / --collect_only do not go together: they train '
                   'nothing.')
  try:
    engine.parse_shard(args.shard)
  except configs.ConfigError as e:
    parser.error(str(e))
  return args


def report(study: spec.Study, records: dict, docs_dir: str) -> list:
  results = spec.Results(runs=list(study.runs), records=records)
  page = study.report(results)
  header = {'study': study.name, 'command': study.command}
  return pages.write(docs_dir, study.name, header, records, page)


def saved_for_report(study: spec.Study, saved: dict) -> dict:
  """--report_only's records: the committed .json's, each made under the run's declared config
  (a record of another config would put old numbers under today's declaration)."""
  if not saved:
    raise engine.StudyError(f'docs/{study.name}.json holds no runs: nothing to report from (run '
                            'the study, or --collect_only after a partial run).')
  stale = [r.name for r in study.runs
           if r.name in saved and saved[r.name]['config_hash'] != engine.config_hash(r)]
  if stale:
    raise engine.StudyError(
        f'{len(stale)} records of docs/{study.name}.json were made under another config than the '
        f'study now declares ({", ".join(stale[:5])}{", ..." if len(stale) > 5 else ""}): rerun '
        'those runs (the study without --report_only), or restore the declaration.')
  return {r.name: saved.get(r.name) for r in study.runs}


def run(args) -> int:
  path, _, arg = args.study.partition(':')
  study = engine.load(path, arg or None)
  if args.shard is not None and not study.shardable:
    raise configs.ConfigError(f'Study {study.name} times its runs alone on the machine: run it '
                              'without --shard.')
  docs_dir = args.docs_dir or os.path.join(engine.kinds.ROOT, 'docs')
  saved = pages.saved_records(pages.read(docs_dir, study.name))
  if args.report_only:
    records = saved_for_report(study, saved)
  else:
    workdir = os.path.abspath(args.workdir or os.path.join('runs', 'studies', study.name))
    if not args.collect_only:
      engine.work(study, workdir, args.shard, saved, args.only)
    records = engine.collect(study, workdir, saved)
    if (args.shard is not None and args.only is None and
        any(v is None for v in records.values())):
      print('Not every run is finished: the page is written by the last shard, or by a run '
            'without --shard.', flush=True)
      return 0
    copy_assets(study, workdir, docs_dir)
  for p in report(study, records, docs_dir):
    print(f'wrote {p}', flush=True)
  return 0


def main(argv=None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  try:
    return run(args)
  except configs.ConfigError as e:
    print(f'Error: {e}', file=sys.stderr)
    return 2
  except errors.UserError as e:
    print(f'Error: {e}', file=sys.stderr)
    return 1


def copy_assets(study: spec.Study, workdir: str, docs_dir: str) -> None:
  """The study's pictures from its run directories into docs/ (those that exist)."""
  for dest, source in (study.assets(workdir) if study.assets else {}).items():
    if os.path.exists(source):
      os.makedirs(os.path.dirname(os.path.join(docs_dir, dest)), exist_ok=True)
      shutil.copyfile(source, os.path.join(docs_dir, dest))
      print(f'copied {source} to {os.path.join(docs_dir, dest)}', flush=True)


if __name__ == '__main__':
  logging.use_absl_handler()  # The engine's progress lines, as gan_jax.main shows its own.
  logging.set_verbosity(logging.INFO)
  sys.exit(main())
