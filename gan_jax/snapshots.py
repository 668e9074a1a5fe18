"""Scores of snapshots by an experiment's evaluation protocol, outside its training loop.

A snapshot is what a generator had made by some moment: a checkpoint of a gan_jax run, or images
another program's generator drew (the PyTorch reference), or, as a yardstick, real images of a
split. Each is scored by the evaluators `config.eval` selects (gan_jax/evaluators; for images,
the feature protocol: FID, precision / recall, density / coverage, confident_percent,
classes_present, ...) against the reference split, exactly as eval.json would score them.
`newest_within` is the rule of a wall-clock budget: the newest snapshot saved within it.
"""
from typing import Optional

import numpy as np

from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import evaluation
from gan_jax import evaluators as evaluators_lib
from gan_jax import experiment as experiment_lib


def newest_within(times: dict, seconds: float) -> Optional[int]:
  """The newest (largest) step of {step: seconds since launch} saved within `seconds`, or None."""
  steps = [int(s) for s, t in times.items() if t <= seconds]
  return max(steps) if steps else None


def _data(config) -> tuple:
  """(source, one element's shape) of config.data."""
  source = data_lib.get_source(config.data)
  return source, data_lib.get_split(source, config.data.split).element_shape


def num_samples(config) -> int:
  """How many generated samples a snapshot needs: the most any selected evaluator takes (0 when
  evaluation is off)."""
  classes = evaluators_lib.select(config, _data(config)[1])
  return max((config.eval.num_samples or c.default_num_samples for c in classes), default=0)


def _require_evaluation(config, what: str) -> None:
  if not num_samples(config):
    raise configs.ConfigError('Evaluation is off (eval.features=none or eval.evaluators=()): '
                              f'{what} cannot be scored; set eval.features.')


def score_images(config, images, cache: Optional[dict] = None) -> dict:
  """The protocol's numbers of images (N, H, W, C) in [-1, 1], each evaluator reading the first
  of them it takes (all of them when there are fewer)."""
  _require_evaluation(config, 'a snapshot')
  images = np.asarray(images, np.float32)
  built = evaluators_lib.build(config, *_data(config), 0, cache)
  return evaluation.merge_metrics([(ev, ev.metrics_of_samples(images[:ev.num_samples]))
                                   for ev in built])


def score_split(config, split: str, cache: Optional[dict] = None) -> tuple:
  """(numbers, how many images) of every real image of a split of config.data (e.g. the test
  digits: what real images unseen by the reference score under the protocol)."""
  dataset = data_lib.get_split(data_lib.get_source(config.data), split)
  images = dataset.get(np.arange(dataset.size))
  return score_images(config, images, cache), int(dataset.size)


def score_checkpoints(config, checkpoint_dir: str, steps: list,
                      cache: Optional[dict] = None) -> dict:
  """{step: {seed: numbers}} of a run's checkpoints at `steps`, sampled as its evaluation samples
  (gan_jax.evaluation.EvalRunner: the EMA of G where kept, eval.bn_stats, fixed latents)."""
  _require_evaluation(config, 'a checkpoint')
  exp = experiment_lib.Experiment(config)
  runner = evaluation.EvalRunner(config, exp.source, exp.dataset.element_shape,
                                 exp.num_classes, exp.generator, exp.seeds, cache)
  ckpt = checkpoint_lib.Checkpointer(checkpoint_dir, None)
  out = {}
  try:
    for step in steps:
      state = ckpt.restore(exp.place(exp.init_state()), int(step))
      out[int(step)] = runner.evaluate(exp.sampling_params(state), exp.sampling_vars(state))
  finally:
    ckpt.close()
  return out
