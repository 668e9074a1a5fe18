"""DCGAN on CIFAR-10.

Radford et al. (2016): Adam lr 2e-4 beta1 0.5, batch 128, the non-saturating loss. The networks
are gan_jax's DCGAN (the TensorFlow tutorial's, here making 32x32x3 images from a 8x8 start)
rather than the paper's 4-layer 64x64 DCGAN. 30,000 steps (about 77 epochs). Needs CIFAR-10
prepared for tfds; `:runlocal` trains on an offline stand-in.
"""
from gan_jax import configs


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'tfds:cifar10'
  config.data.batch_size = 128
  config.model.generator = config.model.discriminator = 'dcgan'
  config.model.d_kwargs.dcgan.dropout = 0.0
  config.loss.name = 'non_saturating'
  config.optim.g_lr = config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.train.num_steps = 30_000
  config.train.log_every = 500
  config.train.sample_every = config.train.ckpt_every = 5000
  config.train.eval_every = 10_000
  return configs.experiment_arg(config, arg)
