"""The one way gan_jax runs many runs: a study's runs trained, resumed, split over processes and
reported.

Each run trains in <workdir>/<run name> under an exclusive lock on '<run dir>.lock' (flock:
released when its process ends, even killed). `--shard i/n` gives a process every n-th run from
the i-th first; once those are done it takes any run that no process holds, so shards that
finish early take over the others' remainders and no run trains twice at once. The same split
serves a SLURM array (i = $SLURM_ARRAY_TASK_ID) or any launcher.

A finished run leaves a record: its kind's numbers, its config hash, the machine and the package
versions. Records go into docs/NAME.json with the page, so a run recorded there (with the same
config hash) is not trained again on another machine, and `--report_only` rewrites the page from
the .json alone.
"""
import contextlib
import fcntl
import fnmatch
import hashlib
import json
import os
import time
from typing import Optional

from absl import logging

from gan_jax import atomic_files
from gan_jax import configs
from gan_jax import errors
from gan_jax import provenance
from gan_jax.study import kinds
from gan_jax.study import spec


def load(path: str, arg: Optional[str] = None) -> spec.Study:
  """The Study of a study file (its get_study(arg)); errors name the file and the problem."""
  if not os.path.exists(path):
    raise configs.ConfigError(f'No study file {path!r} (studies are in experiments/studies/).')
  module = configs.load_module(path)
  if not hasattr(module, 'get_study'):
    raise configs.ConfigError(f'{path} defines no get_study(arg=None).')
  study = module.get_study(arg)
  check(study)
  return study


def check(study: spec.Study) -> None:
  """Unique run names, known kinds and measures, loadable configs, before anything trains."""
  from gan_jax.study import measures
  names = [r.name for r in study.runs]
  twice = sorted({n for n in names if names.count(n) > 1})
  if twice:
    raise configs.ConfigError(f'Study {study.name}: run names used twice: {twice}.')
  for run in study.runs:
    kinds.get(run.kind).config(run)
    for name in run.args.get('measures', ()):
      measures.get(name)


def config_hash(run: spec.Run) -> str:
  """sha256 (16 hex digits) of what the run trains: its kind, its resolved config without the
  output cadences, and its kind's args."""
  config = kinds.get(run.kind).config(run)
  fields = {} if config is None else _training_fields(config)
  blob = json.dumps({'kind': run.kind, 'config': run.config, 'fields': fields,
                     'args': run.args}, sort_keys=True, default=str)
  return hashlib.sha256(blob.encode()).hexdigest()[:16]


# How often a run logs, samples and saves: not what it trains or what its record holds.
OUTPUT_CADENCES = ('train.log_every', 'train.sample_every', 'train.ckpt_every', 'train.ckpt_keep')


def _training_fields(config) -> dict:
  """The config's fields that change what a run trains or evaluates: not the output cadences,
  and not a field at the value base_config gives it (so a field a newer gan_jax adds at its
  default hashes as before)."""
  base = configs.flatten(configs.base_config().to_dict())
  return {k: v for k, v in configs.flatten(json.loads(config.to_json())).items()
          if k not in OUTPUT_CADENCES and not (k in base and base[k] == v)}


def run_dir(workdir: str, run: spec.Run) -> str:
  return os.path.join(workdir, run.name)


PROVENANCE = 'study_provenance.json'  # The machine and versions of the process that trained it.


class StudyError(errors.UserError):
  """Runs of a study failed, or its page cannot be written as asked."""


def record_of(run: spec.Run, result: dict, digest: str, directory: str) -> dict:
  """A finished run as the page's .json keeps it: where it trained (the process that trained it
  wrote its machine and versions into its directory; else this process's)."""
  made = kinds.read_json(os.path.join(directory, PROVENANCE)) or {
      'machine': provenance.machine(), 'versions': provenance.versions()}
  return {'kind': run.kind, 'config': run.config, 'overrides': run.overrides, 'seed': run.seed,
          'labels': run.labels, 'args': run.args, 'config_hash': digest,
          'machine': made['machine'], 'versions': made['versions'], 'result': result}


def finished(run: spec.Run, workdir: str, saved: dict, digest: str) -> Optional[dict]:
  """The run's record: from its directory when finished there, else from the saved .json when
  recorded there under the same config hash, else None."""
  result = kinds.get(run.kind).result(run, run_dir(workdir, run))
  if result is not None:
    old = saved.get(run.name)
    if old is not None and old['config_hash'] == digest and old['result'] == result:
      return old  # Already recorded (keeps the machine it was made on).
    return record_of(run, result, digest, run_dir(workdir, run))
  old = saved.get(run.name)
  return old if old is not None and old.get('config_hash') == digest else None


@contextlib.contextmanager
def run_lock(directory: str):
  """Yields whether this process now holds the exclusive lock of a run directory (no waiting)."""
  os.makedirs(os.path.dirname(directory.rstrip('/')) or '.', exist_ok=True)
  with open(directory.rstrip('/') + '.lock', 'w') as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
      held = True
    except BlockingIOError:
      held = False
    try:
      yield held
    finally:
      if held:
        fcntl.flock(f, fcntl.LOCK_UN)


def parse_shard(shard: Optional[str]) -> tuple:
  """'i/n' -> (i, n) with 0 <= i < n; None -> (0, 1)."""
  if shard is None:
    return 0, 1
  return configs.parse_shard(shard)


def queue(runs: list, shard: Optional[str]) -> list:
  """This shard's runs first (every n-th from the i-th), then every other run."""
  index, count = parse_shard(shard)
  mine = list(runs[index::count])
  return mine + [r for r in runs if r not in mine]


def selected(runs: list, only: Optional[str]) -> list:
  """The runs whose names match one of `only`'s comma-separated shell patterns ('lr5e-4*,ada');
  every run for None. A pattern that matches no run is a one-line StudyError naming the runs."""
  if only is None:
    return list(runs)
  patterns = [p.strip() for p in only.split(',') if p.strip()]
  unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(r.name, p) for r in runs)]
  if not patterns or unmatched:
    names = ', '.join(r.name for r in runs[:8]) + (', ...' if len(runs) > 8 else '')
    raise StudyError(f'--only {only!r}: {unmatched or "no pattern"} matches no run of the study '
                     f'(its runs: {names}); give comma-separated names or shell patterns.')
  return [r for r in runs if any(fnmatch.fnmatchcase(r.name, p) for p in patterns)]


def _train_one(run, workdir, saved, digest, label) -> Optional[str]:
  """Trains one run under its lock; returns None, or the failure's text."""
  directory = run_dir(workdir, run)
  with run_lock(directory) as held:
    if not held:
      logging.info('%s %s: training in another process, skipped', label, run.name)
      return None
    if finished(run, workdir, saved, digest) is not None:
      return None  # Another process finished it meanwhile.
    logging.info('%s %s: training', label, run.name)
    start = time.time()
    try:
      kinds.get(run.kind).train(run, directory)
    except Exception as e:  # noqa: BLE001 -- reported; the other runs go on.
      return f'{type(e).__name__}: {e}'
    if os.path.isdir(directory):
      atomic_files.write_json(os.path.join(directory, PROVENANCE), {
          'machine': provenance.machine(), 'versions': provenance.versions()}, indent=1)
    if finished(run, workdir, saved, digest) is None:
      return f'it trained without an error but left no result in {directory} (see its output)'
    logging.info('%s %s: done in %.0f s', label, run.name, time.time() - start)
    return None


def work(study: spec.Study, workdir: str, shard: Optional[str], saved: dict,
         only: Optional[str] = None) -> int:
  """Trains the unfinished runs (this shard's first; those `only` selects, see selected());
  returns how many this process trained. A failed run is reported and left for a later
  invocation; the others go on, then StudyError names the failed runs."""
  todo = queue(selected(list(study.runs), only), shard)
  digests = {r.name: config_hash(r) for r in study.runs}
  trained, failed, start = 0, [], time.time()
  for i, run in enumerate(todo):
    if finished(run, workdir, saved, digests[run.name]) is not None:
      continue
    label = f'[{i + 1}/{len(todo)}, {(time.time() - start) / 60:.1f} min]'
    error = _train_one(run, workdir, saved, digests[run.name], label)
    if error:
      logging.error('%s %s: failed: %s', label, run.name, error)
      failed.append(run.name)
    elif finished(run, workdir, saved, digests[run.name]) is not None:
      trained += 1
  done = sum(finished(r, workdir, saved, digests[r.name]) is not None for r in study.runs)
  logging.info('%d runs trained by this process; %d of %d finished.', trained, done,
               len(study.runs))
  if failed:
    raise StudyError(f'{len(failed)} runs failed: {", ".join(failed)} (their errors are above; '
                     'a later invocation retries them).')
  return trained


def collect(study: spec.Study, workdir: str, saved: dict) -> dict:
  """{run name: record or None} for every declared run."""
  return {r.name: finished(r, workdir, saved, config_hash(r)) for r in study.runs}
