"""Data augmentation on mnist5k: does a class-conditional GAN trained on N labelled digits per class
make a classifier better than the N digits alone (or than shifts and rotations)?

The protocol (gan_jax/applications/augmentation/, docs/augmentation.md) runs, for every N in
protocol.per_class and every seed (the subset, the GAN and the classifiers' seeds varied together):
a class-conditional GAN trained on the subset (this config with data.per_class=N), then the
downstream classifier (gan_jax/classifier.py, the `classifier` section) trained on real, real +
classical augmentation, real + GAN samples at each of protocol.ratios generated images per real
image (with and without classical augmentation), and GAN samples only (CAS / GAN-train), each
scored on the 500 test digits, which neither the GAN nor any classifier sees; GAN-test scores the
generated images with a classifier trained on every real training digit.

The GAN, chosen from what the low-data literature uses and fixed before any result was seen:
experiments/dcgan_mnist.py's class-conditional DCGAN (the TensorFlow tutorial's DCGAN of
gan_jax/models/dcgan.py at widths G 128, D 32, conditional batch norm in G, the projection
discriminator of Miyato & Koyama 2018; batch 32, beta1 0.5) at Adam 2e-4 (pinned here: the
default's own rate became 5e-4 after these results), 2,000 steps of the non-saturating loss,
DiffAugment (translation, cutout; Zhao et al. 2020) on D's inputs, and an EMA of G (decay 0.99
from step 1000) for sampling. Any of it can be swapped by override, e.g. --config.model.d_conditioning=acgan
--config.loss.acgan_weight=1.0, or --config.augment.policy=''.

  python -m gan_jax.main --mode=augment --config=experiments/augment_mnist.py \
      --workdir=runs/augment_mnist
  python -m gan_jax.study experiments/studies/augmentation.py  # docs/augmentation.md (both data sets)
  python -m gan_jax.main --mode=augment --config=experiments/augment_mnist.py:runlocal \
      --workdir=/tmp/augment_smoke  # seconds: the smoke test
"""
import os

from gan_jax import classifier
from gan_jax import configs
from gan_jax.applications.augmentation import protocol


def get_config(arg=None):
  config = configs.load_experiment(os.path.join(os.path.dirname(__file__), 'dcgan_mnist.py'))
  config.model.conditional = True
  config.model.d_conditioning = 'projection'
  config.model.g_kwargs.dcgan.base_features = 128
  config.model.d_kwargs.dcgan.base_features = 32
  config.loss.name = 'non_saturating'
  config.optim.g_lr = 2e-4  # As the results of docs/augmentation.md were made (DCGAN's rate).
  config.optim.d_lr = 2e-4
  # EMA of G scaled to a 2,000-step run (BigGAN averages from step 20k of 100k+ with a window
  # of ~1k steps): averaging from step 1000 over a window of ~100 steps (decay 0.99), so that no
  # weight of the random initialisation is left in it and batch norm's running statistics
  # (momentum 0.99) describe about the same span of training.
  config.optim.ema_decay = 0.99
  config.optim.ema_start = 1000
  config.augment.policy = 'translation,cutout'
  config.eval.bn_stats = 'running'  # As the results of docs/augmentation.md were made.
  config.train.num_steps = 2000
  config.train.log_every = 100
  config.train.ckpt_every = 500
  config.train.sample_every = 1000
  config.eval.evaluators = ()  # The protocol measures the GAN by its classifiers.
  config.protocol = protocol.defaults()
  config.protocol.per_class = (10, 25, 50, 100, 0)  # 0: every training digit (450 a class).
  config.protocol.seeds = (0, 1, 2)
  config.protocol.ratios = (1.0, 4.0)
  config.classifier = classifier.defaults()
  return protocol.experiment_arg(config, arg)
