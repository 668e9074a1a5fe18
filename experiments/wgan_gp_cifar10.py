"""WGAN-GP with the CIFAR ResNet on CIFAR-10.

Gulrajani et al. (2017), "Improved Training of Wasserstein GANs", CIFAR-10 ResNet (their code
gan_cifar_resnet.py): G and D residual networks at 128 channels (no batch norm in the critic; no
spectral norm), a 128-d normal latent, the Wasserstein loss with gradient penalty weight 10, Adam
lr 2e-4 beta1 0 beta2 0.9, 5 critic steps per generator step, batch 64, 100,000 generator steps
with the learning rate decayed linearly to 0. Needs CIFAR-10 prepared for tfds; `:runlocal` trains
on an offline stand-in.
"""
import os

from gan_jax import configs


def get_config(arg=None):
  config = configs.load_experiment(
      os.path.join(os.path.dirname(__file__), 'sngan_resnet_cifar10.py'))
  config.model.g_kwargs.resnet32.features = 128
  config.model.d_kwargs.resnet32.spectral_norm = False
  config.loss.name = 'wasserstein'
  config.loss.penalties.gradient_penalty = 10.0
  config.optim.decay_steps = config.train.num_steps = 100_000
  return configs.experiment_arg(config, arg)
