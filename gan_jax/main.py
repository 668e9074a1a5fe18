"""Launches an experiment: python -m gan_jax.main --config=experiments/dcgan_mnist.py --workdir=runs/x

--mode picks what runs, from one table (MODES): train (gan_jax/train.py), eval (the latest
checkpoint of --workdir into workdir/eval.json; gan_jax/evaluation.py), lm (the likelihood
baseline of the text application, an MLE language model sampled at temperatures, of an experiment
with an lm section; gan_jax/applications/text) and augment (the data-augmentation protocol of an
experiment that has one, every cell in this process; gan_jax/applications/augmentation; many
processes split its cells through the study experiments/studies/augmentation.py). A mode's
module is imported when the mode runs, so this module imports none of them.

Any config field can be overridden: --config.optim.g_lr=1e-4; a config argument follows a colon:
--config=experiments/dcgan_mnist.py:runlocal.
"""
import dataclasses
import importlib

from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax import parallel


@dataclasses.dataclass(frozen=True)
class Mode:
  """A mode: `module.function(config, workdir)`, and its help text."""
  module: str
  function: str
  help: str


MODES = {
    'train': Mode('gan_jax.train', 'train_and_evaluate',
                  'train (and evaluate every train.eval_every steps and at the end)'),
    'eval': Mode('gan_jax.evaluation', 'evaluate_checkpoint',
                 'evaluate the latest checkpoint of --workdir into workdir/eval.json'),
    'lm': Mode('gan_jax.applications.text', 'run',
               'the language-model baseline of the text application (gan_jax/applications/text)'),
    'augment': Mode('gan_jax.applications.augmentation', 'run',
                    'the data-augmentation protocol (gan_jax/applications/augmentation)'),
}

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file (path[:arg]).',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, metrics and samples.')
flags.DEFINE_enum('mode', 'train', list(MODES),
                  '; '.join(f'{name}: {mode.help}' for name, mode in MODES.items()) + '.')
flags.DEFINE_string('coordinator_address', None, 'Multi-process: host:port of process 0.')
flags.DEFINE_integer('num_processes', None, 'Multi-process: how many processes.')
flags.DEFINE_integer('process_id', None, 'Multi-process: this process, 0..num_processes-1.')
flags.DEFINE_bool('distributed', False, 'Multi-process by JAX\'s cluster auto-detection.')
flags.mark_flags_as_required(['config', 'workdir'])


def run_mode(name: str, config, workdir: str):
  """The mode `name` on (config, workdir): its module imported now, its function called."""
  mode = MODES[name]
  return getattr(importlib.import_module(mode.module), mode.function)(config, workdir)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  cli.prepare()
  parallel.initialize_distributed(FLAGS.coordinator_address, FLAGS.num_processes,
                                  FLAGS.process_id, FLAGS.distributed)
  cli.report_user_errors(run_mode, FLAGS.mode, FLAGS.config, FLAGS.workdir)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
