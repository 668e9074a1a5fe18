"""`--mode=lm`: the language-model baseline trained through the shared loop, then evaluated.

  python -m gan_jax.main --mode=lm --config=experiments/text_lm.py:words --workdir=runs/lm

`train` trains (resuming from the workdir's latest checkpoint) through gan_jax/train.py, so the
language model has the GAN's resume, non-finite check, checkpoints (orbax, digests), workdir lock,
config.json and vocab.json checks; `run` also evaluates at the end (evaluation.py: eval.json).
"""
import ml_collections

from gan_jax import train as train_lib
from gan_jax import workdir as workdir_lib
from gan_jax import writers
from gan_jax.applications.text import config as config_lib
from gan_jax.applications.text import evaluation
from gan_jax.applications.text import scratchgan_task
from gan_jax.applications.text import task as task_lib


def build_task(config: ml_collections.ConfigDict, evaluating: bool, eval_cache: dict = None):
  """The task of lm.objective: the MLE model (task.LMTask) or ScratchGAN (scratchgan_task)."""
  if config.lm.objective == 'scratchgan':
    return scratchgan_task.ScratchGanTask(config, evaluating, eval_cache)
  return task_lib.LMTask(config, evaluating, eval_cache)


def train(config: ml_collections.ConfigDict, workdir: str):
  """Trains (resuming from the workdir's latest checkpoint) to train.num_steps; no evaluation."""
  config_lib.validate(config)  # Before the workdir is looked at.
  return train_lib.run(config, workdir, lambda: build_task(config, evaluating=False))[1]


def run(config: ml_collections.ConfigDict, workdir: str, eval_cache: dict = None) -> dict:
  """Trains (resuming), evaluating every temperature into eval.json at the end; returns its
  content. A run restored finished trains nothing and is evaluated again.

  `eval_cache`: a dict the caller owns, handed to the Text evaluator (reference n-grams kept
  between runs on the same data); None keeps nothing."""
  config_lib.validate(config)
  task, state = train_lib.run(config, workdir,
                              lambda: build_task(config, True, eval_cache))
  if task.record is None:  # Restored at train.num_steps: no step ran, so none evaluated.
    task.record = _evaluate_finished(config, task, state, workdir)
  return task.record


def _evaluate_finished(config, task, state, workdir: str) -> dict:
  """The evaluation of a finished run's restored state, with the workdir taken (its lock)."""
  workdir = workdir_lib.check_workdir(config, workdir)
  lock = workdir_lib.claim(workdir, config, is_writer=True)
  try:
    writer = writers.MetricWriter(workdir)
    try:
      return evaluation.evaluate(task, state.params, int(state.step), workdir, writer)
    finally:
      writer.close()
  finally:
    lock.release()
