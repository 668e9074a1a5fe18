"""Which digit classes a trained G's samples show, read by a classifier that knows nothing of GANs.

The reader is scikit-learn's logistic regression (C 0.05, up to 2000 iterations) on the raw
pixels of mnist5k's 4,500 training digits, its accuracy measured on the 500 held out: independent
of the evaluation classifier (gan_jax/metrics/mnist_classifier.py) that the run's own FID and
class numbers use. The samples are those of the run's final checkpoint as G samples (evaluation
mode, its sampling parameters and statistics): the run's picture grid (its fixed latents; a row per
class for a conditional G) and fresh latents. The main job's study reads them
(gan_jax/study/kind_main_job.py, docs/main_job.md).
"""
import os

import numpy as np

FRESH_KEY = 12345  # jax.random.PRNGKey of the fresh samples' latents (fold_in 1: their labels).


def flat(images_NxHxWxC) -> np.ndarray:
  """(N, H * W * C) float32 rows of images."""
  images = np.asarray(images_NxHxWxC, np.float32)
  return images.reshape(len(images), -1)


def digit_classifier(max_iter: int = 2000, c: float = 0.05) -> tuple:
  """(fitted logistic regression on mnist5k's training digits in [-1, 1], its accuracy on the
  test digits)."""
  from sklearn.linear_model import LogisticRegression
  from gan_jax import data as data_lib
  from gan_jax.data import offline
  splits = offline.load_mnist5k()
  (x_train, y_train), (x_test, y_test) = splits['train'], splits['test']
  clf = LogisticRegression(max_iter=max_iter, C=c).fit(flat(data_lib.uint8_to_float(x_train)),
                                                       y_train)
  return clf, float(clf.score(flat(data_lib.uint8_to_float(x_test)), y_test))


def class_counts(clf, images_NxHxWxC, num_classes: int = 10) -> list:
  """How many of the images `clf` reads as each class 0..num_classes-1."""
  if not len(images_NxHxWxC):
    return [0] * num_classes
  return np.bincount(clf.predict(flat(images_NxHxWxC)), minlength=num_classes).tolist()


def final_samples(config, workdir: str, num: int) -> dict:
  """The final checkpoint's samples of the run in `workdir` (trained under `config`, one seed):
  {'grid': the picture grid's images, 'grid_shape': (rows, cols), 'fresh': `num` samples of
  fresh latents (uniform labels when conditional), 'conditional': whether G takes labels}."""
  import jax
  from gan_jax import checkpoint as checkpoint_lib
  from gan_jax import sampling
  from gan_jax import state as state_lib
  from gan_jax.experiment import Experiment
  exp = Experiment(config)
  state = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints')).restore(
      exp.init_state())
  g_params, g_vars = state_lib.replica((exp.sampling_params(state), exp.sampling_vars(state)), 0)
  pictures = sampling.SamplePictures(exp.generator, config.model, exp.num_classes, 'image',
                                     [config.seed])
  sample = sampling.make_eval_sampler(exp.generator)
  m, key = config.model, jax.random.PRNGKey(FRESH_KEY)
  z = state_lib.sample_latent(key, num, m.latent_dim, m.latent_dist)
  labels = state_lib.sample_labels(jax.random.fold_in(key, 1), num, exp.num_classes)
  return {'grid': np.asarray(sample(g_params, g_vars, pictures.z[0], pictures.labels)),
          'grid_shape': tuple(pictures.grid_shape),
          'fresh': np.asarray(sample(g_params, g_vars, z, labels)),
          'conditional': labels is not None}
