"""The fully connected GAN of Goodfellow et al. (2014) on mnist5k, minimax objective.

G: two 1200-unit ReLU layers; D: two 240-unit maxout layers (5 pieces) with dropout; uniform
latents in [-1, 1]^100 and batch 100, as in the paper's MNIST model (goodfeli/adversarial,
mnist.yaml). Adam (lr 2e-4, beta1 0.5) replaces the paper's SGD with momentum.
"""
from gan_jax import configs


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'mnist5k'
  config.data.batch_size = 100
  config.model.generator = 'mlp'
  config.model.discriminator = 'mlp'
  config.model.latent_dim = 100
  config.model.latent_dist = 'uniform'
  config.loss.name = 'minimax'
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.train.num_steps = 5000
  config.train.log_every = 250
  config.train.sample_every = 1000
  config.train.ckpt_every = 1000
  return configs.experiment_arg(config, arg)
