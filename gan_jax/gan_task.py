"""The GAN as a task of the training loop (train.py): the Experiment's state, update and batches,
the sample pictures of each seed's G, and the evaluators.

`GANTask(config)` builds the Experiment (the config and the data validated before anything
compiles) and the EvalRunner (extractors loaded now: a missing file fails early).
"""
from absl import logging
import jax

from gan_jax import evaluation
from gan_jax import experiment as experiment_lib
from gan_jax import logbook
from gan_jax import sampling
from gan_jax import step as step_lib


class GANTask:
  """G and D trained by the update spec of the config (see train.Task for the interface)."""

  def __init__(self, config, eval_cache: dict = None):
    """`eval_cache`: a dict the caller owns, where evaluators keep reference features between
    runs on the same data; None keeps nothing."""
    self.exp = exp = experiment_lib.Experiment(config)
    self.seeds, self.steps_per_call = exp.seeds, config.train.steps_per_call
    self.vocab_json = exp.source.vocab.to_json() if exp.source.vocab is not None else None
    self.evaluator = evaluation.EvalRunner(
        config, exp.source, exp.dataset.element_shape, exp.num_classes, exp.generator, exp.seeds,
        cache=eval_cache)
    self.evaluating = self.evaluator.enabled
    self.nonfinite_fix = logbook.GAN_FIX
    self._pictures = None  # Built at the first samples (fixed latents per seed).

  def initial_state(self):
    return self.exp.place(self.exp.init_state())

  def update_fn(self):
    return step_lib.jit_update(self.exp.update_fn())

  def device_batch(self, step: int):
    return self.exp.device_batch(step)

  def log_start(self, start: int, workdir: str) -> None:
    config, exp = self.exp.config, self.exp
    logging.info('Training %s on %s (%d examples; batch %d over %d devices, %d processes; %d '
                 'seeds; %d steps per call) from step %d to %d; outputs in %s',
                 config.model.generator, config.data.source, exp.train_sets[0].size,
                 config.data.batch_size, exp.mesh.size, jax.process_count(), len(exp.seeds),
                 config.train.steps_per_call, start, config.train.num_steps, workdir)

  def log(self, out, step: int, summaries: dict, rate: float, state) -> None:
    out.scalars(step, summaries, rate)
    logbook.log_progress(step, self.exp.config.train.num_steps, summaries, rate)

  def samples(self, out, step: int, state) -> None:
    """Each seed's G on its fixed latents: an image grid, a scatter of points or decoded text."""
    exp = self.exp
    if self._pictures is None:
      self._pictures = sampling.SamplePictures(exp.generator, exp.config.model, exp.num_classes,
                                               exp.kind, exp.seeds, exp.samples_to_text)
    per_seed = self._pictures.samples(exp.sampling_params(state), exp.sampling_vars(state))
    if not out.is_writer:
      return
    for seed, samples in zip(exp.seeds, per_seed):
      out.sample(step, seed, self._pictures.picture(samples))

  def evaluate(self, out, step: int, state) -> dict:
    return self.evaluator.run(self.exp.sampling_params(state), self.exp.sampling_vars(state),
                              step, out.workdir, out.writer, out.is_writer)
