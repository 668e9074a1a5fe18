"""Launches an experiment: python -m gan_jax.main --config=experiments/dcgan_mnist.py --workdir=runs/x

--mode=eval evaluates the latest checkpoint of --workdir and writes workdir/eval.json.
--mode=augment runs the data-augmentation protocol of an experiment that has one
(experiments/augment_mnist.py; gan_jax/data_augmentation.py), --shard=i/n splitting its cells.
--mode=lm trains and evaluates the likelihood baseline of the text application (an MLE language
model sampled at temperatures; gan_jax/text_lm.py) of an experiment with an lm section.

Any config field can be overridden: --config.optim.g_lr=1e-4; a config argument follows a colon:
--config=experiments/dcgan_mnist.py:runlocal.
"""
from absl import app
from absl import flags
from ml_collections import config_flags

from gan_jax import cli
from gan_jax import evaluation
from gan_jax import parallel
from gan_jax import train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Experiment config file (path[:arg]).',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, metrics and samples.')
flags.DEFINE_enum('mode', 'train', ['train', 'eval', 'augment', 'lm'],
                  'train: train (and evaluate every train.eval_every steps and at the end); '
                  'eval: evaluate the latest checkpoint of --workdir into workdir/eval.json; '
                  'augment: the data-augmentation protocol (gan_jax/data_augmentation.py); '
                  'lm: the language-model baseline of the text application (gan_jax/text_lm.py).')
flags.DEFINE_string('shard', '0/1', '--mode=augment: i/n runs only cells i, i+n, ... so n '
                    'processes sharing --workdir split the protocol.')
flags.DEFINE_string('coordinator_address', None, 'Multi-process: host:port of process 0.')
flags.DEFINE_integer('num_processes', None, 'Multi-process: how many processes.')
flags.DEFINE_integer('process_id', None, 'Multi-process: this process, 0..num_processes-1.')
flags.DEFINE_bool('distributed', False, 'Multi-process by JAX\'s cluster auto-detection.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  cli.prepare()
  parallel.initialize_distributed(FLAGS.coordinator_address, FLAGS.num_processes,
                                  FLAGS.process_id, FLAGS.distributed)
  if FLAGS.mode == 'augment':
    from gan_jax import data_augmentation
    from gan_jax import sweep
    cli.report_user_errors(lambda: data_augmentation.run(FLAGS.config, FLAGS.workdir,
                                                         sweep.parse_shard(FLAGS.shard)))
    return
  if FLAGS.mode == 'lm':
    from gan_jax import text_lm
    cli.report_user_errors(text_lm.run, FLAGS.config, FLAGS.workdir)
    return
  run = evaluation.evaluate_checkpoint if FLAGS.mode == 'eval' else train.train_and_evaluate
  cli.report_user_errors(run, FLAGS.config, FLAGS.workdir)


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags)
