"""Class-conditional SN-GAN with the projection discriminator on CIFAR-10.

Miyato & Koyama (2018), "cGANs with Projection Discriminator", with the settings of the official
code's configs/sn_cifar10.yml (pfnet-research/sngan_projection): experiments/sngan_resnet_cifar10.py
(ResNet G at 256 channels with conditional batch norm, spectrally normalised ResNet D at 128,
hinge loss, Adam 2e-4 / 0 / 0.9, n_dis 5, batch 64, 50,000 steps, linear decay) with the
10 classes: projection D, labels drawn uniformly for the fakes. Needs CIFAR-10 prepared for tfds;
`:runlocal` trains on an offline stand-in (stacked_mnist's 1,000 classes).
"""
import os

from gan_jax import configs


def get_config(arg=None):
  config = configs.load_experiment(
      os.path.join(os.path.dirname(__file__), 'sngan_resnet_cifar10.py'))
  config.model.conditional = True
  config.model.d_conditioning = 'projection'
  return configs.experiment_arg(config, arg)
