"""GAN on grid25 (25 Gaussians at {-4,-2,0,2,4}^2, std 0.05): ring8's PacGAN settings."""
import os

from gan_jax import configs


def get_config(arg=None):
  config = configs.load_experiment(os.path.join(os.path.dirname(__file__), 'ring8.py'), arg)
  config.data.source = 'grid25'
  return config
