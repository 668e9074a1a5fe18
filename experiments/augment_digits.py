"""Data augmentation on scikit-learn's 8x8 digits: the protocol of experiments/augment_mnist.py
(gan_jax/applications/augmentation/) with N in {5, 10, all (about 160 a class)} labelled digits per
class, 3 seeds, scored on the 179 test digits.

The same conditional DCGAN recipe at the digits' native 8x8 (G starts from 2x2), and classical
augmentation of at most 1 pixel of shift (2 would move an 8x8 digit by a quarter of its width;
on validation data from the training split 1 pixel did better, docs/classifier_recipe.md).

  python -m gan_jax.main --mode=augment --config=experiments/augment_digits.py \
      --workdir=runs/augment_digits
"""
import os

from gan_jax import configs


def get_config(arg=None):
  config = configs.load_experiment(os.path.join(os.path.dirname(__file__), 'augment_mnist.py'))
  config.data.source = 'digits'
  config.protocol.per_class = (5, 10, 0)
  config.classifier.max_shift = 1.0
  from gan_jax.applications.augmentation import protocol
  return protocol.experiment_arg(config, arg)
