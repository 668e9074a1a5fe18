"""Every loss on mnist5k with the default DCGAN: a sweep (python -m gan_jax.sweep).

dcgan_mnist's settings (the default experiment, whatever it is: see that file; since issue 16 a
class-conditional DCGAN at Adam 5e-4, so every loss here runs with the labels), 3 seeds a point,
with each loss of gan_jax/losses.py; WGAN-GP adds its gradient penalty (weight 10) and the Adam settings of
Gulrajani et al. (beta1 0, beta2 0.9) with 5 critic steps; R3GAN's RpGAN adds R1 and R2 at
gamma / 2 = 0.025 (its CIFAR-10 preset's final gamma 0.05; no burn-in here). Evaluated with the mnist_classifier
(FID, KID, IS, precision/recall, density/coverage).

  python -m gan_jax.sweep --config=experiments/mnist_losses.py --workdir=runs/mnist_losses
"""
import os

from gan_jax import configs


def get_config(arg=None):
  config = configs.load_experiment(os.path.join(os.path.dirname(__file__), 'dcgan_mnist.py'),
                                   arg)
  config.num_seeds = 3
  return config


def get_sweep(arg=None):
  del arg
  return [
      {'loss.name': 'minimax'},
      {'loss.name': 'non_saturating'},
      {'loss.name': 'wasserstein', 'loss.penalties.gradient_penalty': 10.0, 'optim.b1': 0.0,
       'optim.b2': 0.9, 'optim.n_critic': 5},
      {'loss.name': 'least_squares'},
      {'loss.name': 'hinge'},
      {'loss.name': 'relativistic_average'},
      # R3GAN's relativistic pairing loss with its R1 and R2 (gamma 0.05, halved as in its code).
      {'loss.name': 'rpgan', 'loss.penalties.r1': 0.025, 'loss.penalties.r2': 0.025},
  ]
