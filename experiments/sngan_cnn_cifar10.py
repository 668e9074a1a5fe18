"""SN-GAN with the standard CNN and the hinge loss on CIFAR-10.

Miyato et al. (2018), Table 3 (a) standard CNN (gan_jax/models/sngan.py: sngan_cnn32), spectral
norm on every layer of D, a 128-d normal latent, hinge loss. The paper explores several optimiser
settings for this model (its Table 1); this config uses those of the official code's CIFAR-10
configs (Adam lr 2e-4, beta1 0, beta2 0.9, n_dis 5, batch 64, 50,000 generator steps, linear
decay to 0). Needs CIFAR-10 prepared for tfds; `:runlocal` trains on an offline stand-in.
"""
import os

from gan_jax import configs


def get_config(arg=None):
  config = configs.load_experiment(
      os.path.join(os.path.dirname(__file__), 'sngan_resnet_cifar10.py'))
  config.model.generator = config.model.discriminator = 'sngan_cnn32'
  config.model.d_kwargs.sngan_cnn32.spectral_norm = True
  return configs.experiment_arg(config, arg)
