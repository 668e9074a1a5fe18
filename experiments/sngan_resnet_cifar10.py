"""SN-GAN with the CIFAR ResNet and the hinge loss on CIFAR-10 (unconditional).

Miyato et al. (2018), "Spectral Normalization for GANs", Table 4 ResNet, with the settings of the
official code's configs/sn_cifar10_unconditional.yml (pfnet-research/sngan_projection): G resnet32
at 256 channels, D at 128 with spectral norm on every layer, a 128-d normal latent, hinge loss,
Adam lr 2e-4 beta1 0 beta2 0.9, n_dis 5, batch 64, 50,000 generator steps with the learning rate
decayed linearly to 0. (The official updater draws 128 samples for G's update; here G's batch is
D's.) Needs CIFAR-10 prepared for tfds (data.data_dir); `:runlocal` trains on an offline stand-in.
"""
from gan_jax import configs


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'tfds:cifar10'
  config.data.batch_size = 64
  config.model.generator = config.model.discriminator = 'resnet32'
  config.model.g_kwargs.resnet32.features = 256
  config.model.d_kwargs.resnet32.features = 128
  config.model.d_kwargs.resnet32.spectral_norm = True
  config.model.latent_dim = 128
  config.loss.name = 'hinge'
  config.optim.g_lr = config.optim.d_lr = 2e-4
  config.optim.b1, config.optim.b2 = 0.0, 0.9
  config.optim.n_critic = 5
  config.optim.schedule = 'linear'
  config.optim.decay_steps = 50_000
  config.train.num_steps = 50_000
  config.train.log_every = 500
  config.train.sample_every = config.train.ckpt_every = 5000
  config.train.eval_every = 10_000
  return configs.experiment_arg(config, arg)
