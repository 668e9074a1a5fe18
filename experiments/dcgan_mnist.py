"""DCGAN on the 4500 training digits of mnist5k, minimax objective: the default experiment.

Architecture of the TensorFlow DCGAN tutorial (gan_jax/models/dcgan.py; D without the tutorial's
dropout). Optimiser of Radford et al. (2016), DCGAN: Adam, lr 2e-4, beta1 0.5. The tutorial
trains 50 epochs of 60k digits at batch 256; this run has a budget of about 10 minutes on a 2-core
CPU, so it takes 3500 steps at batch 32 (112k images): on that CPU a batch-32 step runs in about
half the time of a batch-64 step, so the same images/s buys twice the updates.

  python -m gan_jax.main --config=experiments/dcgan_mnist.py --workdir=runs/dcgan_mnist
  python -m gan_jax.main --config=experiments/dcgan_mnist.py:runlocal --workdir=/tmp/smoke
"""
from gan_jax import configs


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'mnist5k'
  config.data.batch_size = 32
  config.model.generator = 'dcgan'
  config.model.discriminator = 'dcgan'
  config.model.latent_dim = 100
  config.loss.name = 'minimax'
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.train.num_steps = 3500
  config.train.log_every = 100
  config.train.sample_every = 500
  config.train.ckpt_every = 500
  config.model.d_kwargs.dcgan.dropout = 0.0
  return configs.experiment_arg(config, arg)
