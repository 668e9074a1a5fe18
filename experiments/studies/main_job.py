"""The main job: `make train`'s run (DCGAN on mnist5k), its wall time and its own evaluation.

  python -m gan_jax.study experiments/studies/main_job.py [--report_only]
  python -m gan_jax.study experiments/studies/main_job.py:runlocal   (the smoke test)

One run of kind 'main_job' (gan_jax/study/kind_main_job.py): the command of `make train`,
`python -m gan_jax.main --config=experiments/dcgan_mnist.py --workdir=<run dir>`, in a fresh run
directory, timed from process start to exit (about 8 minutes on 2 cores); then the digit classes
of its final samples, read by scikit-learn's logistic regression on mnist5k's pixels (a reader
that knows nothing of the GAN: gan_jax/digit_reading.py). When it trains, the run copies its final
sample grid to docs/dcgan_mnist_samples.png, the picture of the page and of the README.
"""
import os

from gan_jax import configs
from gan_jax.study import Run, Study, spec

COMMAND = 'python -m gan_jax.study experiments/studies/main_job.py'
CONFIG = 'experiments/dcgan_mnist.py'
FRESH_SAMPLES = 1000
SAMPLES_PNG = 'docs/dcgan_mnist_samples.png'


def summary_text(run: Run, r: dict) -> str:
  """The paragraph the page (and the README's main-job block) states."""
  ev, p = r['eval'], r['eval_protocol']
  took = '' if r['eval_seconds'] is None else f' ({r["eval_seconds"]:.0f} s)'
  return (f'The training command of `make train` ({run.config.partition(":")[0]}, {r["step"]} '
          f'steps at batch {r["batch_size"]} on {r["data"]}) took **{r["seconds"] / 60:.1f} '
          f'minutes** of wall time, compilation and its final evaluation{took} included, on '
          f'{r["machine"]}; `make train` adds the one-time install of .venv before it. Its own '
          f'evaluation ({p["num_generated"]:,} samples against the {p["num_reference"]:,} '
          f'training digits, {p["features"]} features): FID {ev["fid"]:.1f}, precision '
          f'{ev["precision"]:.2f}, recall {ev["recall"]:.2f}, density {ev["density"]:.2f}, '
          f'coverage {ev["coverage"]:.2f}; {ev["confident_percent"]:.1f}% of samples labelled '
          f'with confidence >= 0.9, {ev["classes_present"]:.0f} of 10 classes present.')


def _classes(counts: list) -> str:
  return f'{sum(c > 0 for c in counts)} of {len(counts)}: {counts}'


def table(run: Run, r: dict) -> list:
  """The page's table of measures (markdown lines)."""
  last = r['last']
  return [
      '| measure | value |', '|---|---|',
      f'| machine | {r["machine"]} |',
      f'| command | `python -m gan_jax.main --config={run.config} --workdir=...` |',
      f'| wall time (process start to exit) | {r["seconds"]:.0f} s |',
      f'| steps/s (median of logged intervals after the first) | {r["steps_per_s"]:.2f} |',
      f'| final d_loss / g_loss (mean of last {r["log_interval"]} steps) | '
      f'{last["d_loss"]:.3f} / {last["g_loss"]:.3f} |',
      f'| final D(x) / D(G(z)) | {last["d_real"]:.3f} / {last["d_fake"]:.3f} |',
      f'| digit classifier held-out accuracy (logistic regression, mnist5k test) | '
      f'{r["digit_accuracy"]:.3f} |',
      f'| classes in the {sum(r["grid_classes"])}-sample grid (per that classifier), counts '
      f'0..9 | {_classes(r["grid_classes"])} |',
      f'| classes in {sum(r["fresh_classes"])} fresh samples, counts 0..9 | '
      f'{_classes(r["fresh_classes"])} |']


def make_report(command: str):
  def report(results: spec.Results) -> spec.Page:
    run = results.runs[0]
    r = results.result(run)
    lines = ['# The main job: DCGAN on mnist5k', '',
             f'Made by `{command}` (runs the command of `make train` in a fresh run directory); '
             'do not edit by hand.', '']
    if r is None:
      return spec.Page(lines=lines + ['Not run yet.'])
    picture = run.args.get('samples_png')
    rows, cols = r['grid_shape']
    lines += [summary_text(run, r), '']
    if picture:
      lines += [f'![final samples]({os.path.relpath(picture, "docs")})', '']
    lines += [f'Final grid: {r["final_grid"]} ({rows}x{cols}, the run\'s fixed latent batch' +
              (', a row per class' if r['row_per_class'] else '') + ').', '', *table(run, r)]
    summary = {'text': summary_text(run, r), 'minutes': r['seconds'] / 60,
               'fid': r['eval']['fid'], 'fresh_classes': r['fresh_classes']}
    return spec.Page(lines=lines, summary=summary)
  return report


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # A minute or two: 4 steps of the :runlocal variant, no picture copied.
    run = Run(name='main_job', kind='main_job', config=f'{CONFIG}:runlocal',
              args={'fresh_samples': 100, 'samples_png': None})
    return Study(name='main_job_runlocal', runs=[run], command=f'{COMMAND}:runlocal',
                 report=make_report(f'{COMMAND}:runlocal'))
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  run = Run(name='main_job', kind='main_job', config=CONFIG,
            args={'fresh_samples': FRESH_SAMPLES, 'samples_png': SAMPLES_PNG})
  return Study(name='main_job', runs=[run], command=COMMAND, report=make_report(COMMAND))
