"""Run kind 'main_job': `make train`'s command, timed, and what its final samples show.

A run is `python -m gan_jax.main --config=<run.config> --workdir=<run dir>` exactly as `make
train` runs it (no overrides; run.seed is the experiment's own seed), in a fresh run directory
(a stopped run is started again, not resumed: its wall time is the number), timed from process
start to exit. Then the digit classes of its final samples are read by an independent classifier
(gan_jax/digit_reading.py). run.args:
  fresh_samples  how many samples of fresh latents are read (1000);
  samples_png    a path from the repository root where the run's final sample grid is copied
                 once it has trained (docs/dcgan_mnist_samples.png), or None.
Result: 'seconds' (wall), 'eval_seconds' (its final evaluation, from its log), 'machine',
'step', 'batch_size', 'data', 'eval' (eval.json's numbers) and 'eval_protocol' (samples,
reference digits, features), 'steps_per_s' (median of the logged intervals after the first),
'last' (d_loss, g_loss, d_real, d_fake of the last logged interval) and 'log_interval' (its
steps), 'final_grid' (its file), 'grid_shape', 'row_per_class', 'digit_accuracy' (the reader's
held-out accuracy), 'grid_classes' and 'fresh_classes' (counts of each digit read).
"""
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Optional

import numpy as np

from absl import logging

from gan_jax import configs
from gan_jax.study import kinds
from gan_jax.study import result_files

EVAL_TOOK = re.compile(r'eval at step \d+ \(.*?, ([\d.]+)s\)')  # evaluation.py's log line.
LAST = ('d_loss', 'g_loss', 'd_real', 'd_fake')


def config(run):
  """The experiment as `make train` trains it: run.config with no overrides."""
  cfg = configs.load_experiment(*kinds.experiment_path(run.config))
  if run.overrides or run.seed != cfg.seed:
    raise configs.ConfigError(f'Run {run.name}: a main_job run trains {run.config} as it is '
                              f'(seed {cfg.seed}, no overrides), got seed {run.seed} and '
                              f'overrides {run.overrides}.')
  return cfg


def command(run, run_dir: str) -> list:
  return [sys.executable, '-m', 'gan_jax.main', f'--config={run.config}', f'--workdir={run_dir}']


def run_logged(cmd: list) -> tuple:
  """Runs cmd from the repository root, passing its log (stderr) through; (log, wall seconds)."""
  logging.info('%s', ' '.join(cmd))
  start = time.time()
  proc = subprocess.Popen(cmd, cwd=kinds.ROOT, stderr=subprocess.PIPE, text=True)
  lines = []
  for line in proc.stderr:
    sys.stderr.write(line)
    lines.append(line)
  if proc.wait():
    raise RuntimeError(f'{" ".join(cmd)} failed with exit status {proc.returncode}.')
  return ''.join(lines), time.time() - start


def eval_seconds(log: str) -> Optional[float]:
  """Seconds of the last evaluation the log reports, None if it reports none."""
  took = EVAL_TOOK.findall(log)
  return float(took[-1]) if took else None


def training_numbers(records: list) -> dict:
  """From a run's training lines (metrics.jsonl without evaluation lines): 'step', 'steps_per_s'
  (median of the intervals after the first, which compiles; the first if it is the only one),
  'last' (LAST of the last line) and 'log_interval' (the steps that line averages)."""
  if not records:
    raise ValueError('The run logged no training line.')
  rates = [r['steps_per_s'] for r in (records[1:] or records)]
  last = records[-1]
  interval = last['step'] - (records[-2]['step'] if len(records) > 1 else 0)
  return {'step': last['step'], 'steps_per_s': float(np.median(rates)),
          'last': {k: last[k] for k in LAST}, 'log_interval': interval}


def machine(platform: str) -> str:
  """The machine as the page names it: CPU, cores and accelerators, and JAX's platform."""
  from gan_jax import provenance
  return provenance.machine() + (', no GPU (JAX on the CPU)' if platform == 'cpu' else
                                 f', JAX on the {platform.upper()}')


def read_samples(run, run_dir: str, cfg) -> dict:
  """The digit reading of the run's final samples (gan_jax/digit_reading.py)."""
  from gan_jax import digit_reading
  clf, accuracy = digit_reading.digit_classifier()
  s = digit_reading.final_samples(cfg, run_dir, run.args['fresh_samples'])
  return {'digit_accuracy': accuracy, 'grid_shape': list(s['grid_shape']),
          'row_per_class': s['conditional'],
          'grid_classes': digit_reading.class_counts(clf, s['grid']),
          'fresh_classes': digit_reading.class_counts(clf, s['fresh'])}


def measure(run, run_dir: str, log: str, wall: float) -> dict:
  """The run's result (see the module's docstring) from its directory and log."""
  import jax
  from gan_jax import writers
  cfg = config(run)
  e = kinds.read_json(os.path.join(run_dir, 'eval.json'))
  records = [r for r in writers.read_jsonl(os.path.join(run_dir, 'metrics.jsonl'))
             if 'd_loss' in r]  # Training lines (evaluation lines carry eval/* only).
  p = e['protocol']
  return {'seconds': round(wall, 1), 'eval_seconds': eval_seconds(log),
          'machine': machine(jax.devices()[0].platform), 'batch_size': cfg.data.batch_size,
          'data': cfg.data.source, **training_numbers(records), 'eval': e['mean'],
          'eval_protocol': {k: p[k] for k in ('num_generated', 'num_reference', 'features')},
          'final_grid': sorted(os.listdir(os.path.join(run_dir, 'samples')))[-1],
          **read_samples(run, run_dir, cfg)}


def train(run, run_dir: str) -> None:
  from gan_jax import xla_defaults
  xla_defaults.apply()  # For the sampling in this process, as gan_jax's entry points.
  run_dir = os.path.abspath(run_dir)
  if os.path.exists(run_dir):  # A stopped run starts afresh: its wall time is the result.
    shutil.rmtree(run_dir)
  log, wall = run_logged(command(run, run_dir))
  result = measure(run, run_dir, log, wall)
  if run.args.get('samples_png'):
    shutil.copyfile(os.path.join(run_dir, 'samples', result['final_grid']),
                    os.path.join(kinds.ROOT, run.args['samples_png']))
  result_files.save(run, run_dir, result)


def result(run, run_dir: str):
  """The saved result when the run directory trained today's experiment (cadences aside)."""
  saved = kinds.read_json(os.path.join(run_dir, 'config.json'))
  if not configs.trained_under(saved or {}, config(run)):
    return None
  return result_files.load(run, run_dir)


KIND = kinds.Kind(config=config, train=train, result=result)
