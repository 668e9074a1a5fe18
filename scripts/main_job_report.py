"""Runs the main job (`make train`'s command) in a fresh workdir and documents it.

Writes docs/main_job.md (machine, wall time, steps/s, final losses, which digit classes the final
samples show) and docs/dcgan_mnist_samples.png (the final grid: 8x8, or a row per class for a
conditional G), and refreshes the block of README.md between the `main-job` markers. Every
number comes from this run.

  .venv/bin/python scripts/main_job_report.py [--workdir=runs/main_job_report]

Digit classes of the samples are read by a classifier that knows nothing of the GAN: scikit-learn
logistic regression on mnist5k's 4500 training digits, its accuracy measured on the 500 held out.
"""
import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

CONFIG = 'experiments/dcgan_mnist.py'
NUM_SAMPLES = 1000


def cpu_model() -> str:
  try:
    for line in open('/proc/cpuinfo'):
      if line.startswith('model name'):
        return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or 'unknown CPU'


def digit_classifier():
  from sklearn.linear_model import LogisticRegression
  from gan_jax.data import offline
  splits = offline.load_mnist5k()
  (xtr, ytr), (xte, yte) = splits['train'], splits['test']
  flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 127.5 - 1.0
  clf = LogisticRegression(max_iter=2000, C=0.05).fit(flat(xtr), ytr)
  return clf, float(clf.score(flat(xte), yte)), lambda x: x.reshape(len(x), -1)


def generate(workdir: str, num: int) -> tuple:
  """Final-checkpoint samples (G as it samples: eval mode, its sampling parameters and
  statistics): the run's picture grid (the same latents, and for a conditional G the same row
  per class) and `num` fresh ones (uniform labels when conditional); the grid's (rows, cols);
  whether G is conditional."""
  import jax
  from gan_jax import checkpoint as checkpoint_lib
  from gan_jax import configs
  from gan_jax import sampling
  from gan_jax import state as state_lib
  from gan_jax.experiment import Experiment
  config = configs.load_experiment(os.path.join(REPO, CONFIG))
  exp = Experiment(config)
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  state = ckpt.restore(exp.init_state())
  g_params, g_vars = state_lib.replica((exp.sampling_params(state), exp.sampling_vars(state)),
                                      0)
  pictures = sampling.SamplePictures(exp.generator, config.model, exp.num_classes, 'image',
                                     [config.seed])
  sample = sampling.make_eval_sampler(exp.generator)
  m = config.model
  grid = sample(g_params, g_vars, pictures.z[0], pictures.labels)
  key = jax.random.PRNGKey(12345)
  z = state_lib.sample_latent(key, num, m.latent_dim, m.latent_dist)
  labels = state_lib.sample_labels(jax.random.fold_in(key, 1), num, exp.num_classes)
  return (np.asarray(grid), np.asarray(sample(g_params, g_vars, z, labels)), pictures.grid_shape,
          labels is not None)


def run_logged(cmd) -> str:
  """Runs `cmd`, passing its log through, and returns the log."""
  proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
  lines = []
  for line in proc.stderr:
    sys.stderr.write(line)
    lines.append(line)
  if proc.wait():
    raise SystemExit(f'{" ".join(cmd)} failed with exit status {proc.returncode}.')
  return ''.join(lines)


def eval_summary(workdir: str, log: str) -> tuple:
  """(the run's own final evaluation (eval.json's mean), the seconds it took, per the log)."""
  import json
  with open(os.path.join(workdir, 'eval.json')) as f:
    mean = json.load(f)['mean']
  took = re.findall(r'eval at step \d+ \(.*?, ([\d.]+)s\)', log)
  return mean, float(took[-1]) if took else None


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--workdir', default=os.path.join(REPO, 'runs', 'main_job_report'))
  parser.add_argument('--dry_report', default='', help='LOG,SECONDS: write nothing, print the '
                      'report of a finished --workdir (a check of this script, not a result).')
  args = parser.parse_args()
  cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={CONFIG}', f'--workdir={args.workdir}']
  if args.dry_report:
    log_path, wall = args.dry_report.split(',')
    log, wall = open(log_path).read(), float(wall)
  else:
    if os.path.exists(args.workdir):
      shutil.rmtree(args.workdir)
    start = time.time()
    log = run_logged(cmd)
    wall = time.time() - start
  ev, eval_s = eval_summary(args.workdir, log)
  took = f' ({eval_s:.0f} s)' if eval_s is not None else ''

  from gan_jax import writers
  records = [r for r in writers.read_jsonl(os.path.join(args.workdir, 'metrics.jsonl'))
             if 'd_loss' in r]  # Training lines (evaluation lines carry eval/* only).
  last = records[-1]
  steady = float(np.median([r['steps_per_s'] for r in records[1:]]))
  samples = sorted(os.listdir(os.path.join(args.workdir, 'samples')))
  if not args.dry_report:
    shutil.copy(os.path.join(args.workdir, 'samples', samples[-1]),
                os.path.join(REPO, 'docs', 'dcgan_mnist_samples.png'))

  clf, accuracy, flat = digit_classifier()
  grid, fresh, (rows, cols), per_class = generate(args.workdir, NUM_SAMPLES)
  grid_classes = np.bincount(clf.predict(flat(grid)), minlength=10)
  fresh_classes = np.bincount(clf.predict(flat(fresh)), minlength=10)

  machine = f'{cpu_model()}, {os.cpu_count()} cores, no GPU (JAX on the CPU)'
  from gan_jax import configs
  batch = configs.load_experiment(os.path.join(REPO, CONFIG)).data.batch_size
  summary = (f'The training command of `make train` (experiments/dcgan_mnist.py, {last["step"]} '
             f'steps at batch {batch} on mnist5k) took **{wall / 60:.1f} minutes** of wall time, '
             f'compilation and its final evaluation{took} included, on {machine}; '
             f'`make train` adds the one-time install of .venv before it. Its own evaluation '
             f'(5,000 samples against the 4,500 training digits, mnist_classifier features): FID '
             f'{ev["fid"]:.1f}, precision {ev["precision"]:.2f}, recall {ev["recall"]:.2f}, '
             f'density {ev["density"]:.2f}, coverage {ev["coverage"]:.2f}; '
             f'{ev["confident_percent"]:.1f}% of samples labelled with confidence >= 0.9, '
             f'{ev["classes_present"]:.0f} of 10 classes present.')
  lines = [
      '# The main job: DCGAN on mnist5k', '',
      'Generated by `.venv/bin/python scripts/main_job_report.py` (runs the command of '
      '`make train` in a fresh workdir).', '',
      summary, '',
      '![final samples](dcgan_mnist_samples.png)', '',
      f'Final grid: {samples[-1]} ({rows}x{cols}, the run\'s fixed latent batch' +
      (', a row per class' if per_class else '') + ').', '',
      '| measure | value |', '|---|---|',
      f'| machine | {machine} |',
      f'| command | `{" ".join(["python", *cmd[1:4]])} --workdir=...` |',
      f'| wall time (process start to exit) | {wall:.0f} s |',
      f'| steps/s (median of logged intervals after the first) | {steady:.2f} |',
      f'| final d_loss / g_loss (mean of last {records[-1]["step"] - records[-2]["step"]} steps) | '
      f'{last["d_loss"]:.3f} / {last["g_loss"]:.3f} |',
      f'| final D(x) / D(G(z)) | {last["d_real"]:.3f} / {last["d_fake"]:.3f} |',
      f'| digit classifier held-out accuracy (logistic regression, mnist5k test) | '
      f'{accuracy:.3f} |',
      f'| classes in the {len(grid)}-sample grid (per that classifier), counts 0..9 | '
      f'{(grid_classes > 0).sum()} of 10: {grid_classes.tolist()} |',
      f'| classes in {NUM_SAMPLES} fresh samples, counts 0..9 | '
      f'{(fresh_classes > 0).sum()} of 10: {fresh_classes.tolist()} |',
      '',
  ]
  if args.dry_report:
    print('\n'.join(lines))
    return
  with open(os.path.join(REPO, 'docs', 'main_job.md'), 'w') as f:
    f.write('\n'.join(lines))

  readme_path = os.path.join(REPO, 'README.md')
  readme = open(readme_path).read()
  block = ('<!-- main-job:start (scripts/main_job_report.py writes this block) -->\n'
           f'![DCGAN samples after make train](docs/dcgan_mnist_samples.png)\n\n{summary} '
           'Details: [docs/main_job.md](docs/main_job.md).\n<!-- main-job:end -->')
  readme = re.sub(r'<!-- main-job:start.*?<!-- main-job:end -->', lambda _: block, readme,
                  flags=re.S)
  with open(readme_path, 'w') as f:
    f.write(readme)
  print('\n'.join(lines))


if __name__ == '__main__':
  main()
