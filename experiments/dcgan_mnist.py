"""DCGAN on the 4500 training digits of mnist5k, minimax objective: the default experiment.

Architecture of the TensorFlow DCGAN tutorial (gan_jax/models/dcgan.py). Optimiser settings of
Radford et al. (2016), DCGAN: Adam, lr 2e-4, beta1 0.5, batch 64 (the tutorial uses lr 1e-4 and
batch 256 for 50 epochs of 60k digits; this run has a 2-core CPU budget of about 10 minutes).

  python -m gan_jax.main --config=experiments/dcgan_mnist.py --workdir=runs/dcgan_mnist
  python -m gan_jax.main --config=experiments/dcgan_mnist.py:runlocal --workdir=/tmp/smoke
"""
from gan_jax import configs


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'mnist5k'
  config.data.batch_size = 64
  config.model.generator = 'dcgan'
  config.model.discriminator = 'dcgan'
  config.model.latent_dim = 100
  config.loss.name = 'minimax'
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.train.num_steps = 2000
  config.train.log_every = 100
  config.train.sample_every = 500
  config.train.ckpt_every = 500
  if arg == 'runlocal':
    runlocal(config)
  elif arg:
    raise ValueError(f'Unknown config argument {arg!r}; valid: runlocal.')
  return config


def runlocal(config):
  """Tiny batch, few steps and narrow models: a smoke test that compiles in seconds."""
  config.data.batch_size = 8
  config.model.latent_dim = 16
  config.model.g_kwargs.dcgan.base_features = 16
  config.model.d_kwargs.dcgan.base_features = 8
  config.train.num_steps = 4
  config.train.log_every = 2
  config.train.sample_every = 2
  config.train.ckpt_every = 2
