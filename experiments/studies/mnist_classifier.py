"""The evaluation classifier (gan_jax/metrics/mnist_classifier.py): its training and accuracy.

  python -m gan_jax.study experiments/studies/mnist_classifier.py [--report_only]
  python -m gan_jax.study experiments/studies/mnist_classifier.py:runlocal   (the smoke test)

One run of kind 'mnist_classifier' (gan_jax/mnist_classifier_training.py): seed 0, 30 epochs of
mnist5k's 4,500 training digits, batch 64, Adam lr 0.002 with cosine decay, random shifts of up to
2 pixels; about 8 minutes on 2 cores. It installs its weights where every evaluation loads them,
gan_jax/metrics/weights/mnist_classifier.npz (seeded: the same software gives the same weights),
and the page states their held-out accuracy on mnist5k's 500 test digits, per class.
While docs/mnist_classifier.json records the run, the study trains nothing; to train and install
the weights again (e.g. when the file is missing), give the page another directory, which holds
no record: `python -m gan_jax.study experiments/studies/mnist_classifier.py --docs_dir=/tmp/mc`.
"""
import os

from gan_jax import configs
from gan_jax.metrics import mnist_classifier as mc
from gan_jax.study import Run, Study, kinds, spec

COMMAND = 'python -m gan_jax.study experiments/studies/mnist_classifier.py'
RECIPE = {'seed': 0, 'epochs': 30, 'batch_size': 64, 'lr': 2e-3, 'max_shift': 2,
          'train_size': None}
INSTALL = os.path.relpath(mc.WEIGHTS, kinds.ROOT)  # Where the committed weights are.


def make_report(command: str):
  def report(results: spec.Results) -> spec.Page:
    run = results.runs[0]
    a, r = run.args, results.result(run)
    lines = [
        '# The evaluation classifier (mnist_classifier)', '',
        f'Made by `{command}` (seed {a["seed"]}, {a["epochs"]} epochs, batch {a["batch_size"]}, '
        f'Adam lr {a["lr"]} with cosine decay, random shifts of up to {a["max_shift"]} pixels; '
        'gan_jax/mnist_classifier_training.py); do not edit by hand.', '']
    if r is None:
      return spec.Page(lines=lines + ['Not trained yet.'])
    weights = r['weights'] or f'{run.name}/mnist_classifier.npz in the study\'s workdir'
    lines += [
        f'- Trained on mnist5k train ({r["train_digits"]:,} digits); weights {weights} '
        f'({r["params"]:,} parameters, {r["bytes"] / 1e6:.2f} MB, sha256 prefix {r["digest"]}).',
        f'- **Held-out accuracy on mnist5k test ({r["test_digits"]:,} digits): '
        f'{100 * r["accuracy"]:.1f}%**.',
        '- Per class: ' + ', '.join(f'{c}: {100 * x:.0f}%' for c, x in enumerate(r['per_class'])
                                    if x is not None) + '.',
        f'- Training took {r["seconds"]:.0f} s ({r["platform"]}).']
    summary = {k: r[k] for k in ('accuracy', 'per_class', 'digest')}
    return spec.Page(lines=lines, summary=summary)
  return report


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # Seconds: one epoch of 256 digits (4 steps), weights not installed.
    args = {**RECIPE, 'epochs': 1, 'train_size': 256, 'install': None}
    return Study(name='mnist_classifier_runlocal', command=f'{COMMAND}:runlocal',
                 runs=[Run(name='seed0', kind='mnist_classifier', seed=0, args=args)],
                 report=make_report(f'{COMMAND}:runlocal'))
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='mnist_classifier', command=COMMAND,
               runs=[Run(name='seed0', kind='mnist_classifier', seed=0,
                         args={**RECIPE, 'install': INSTALL})],
               report=make_report(COMMAND))
