"""R3GAN on Stacked MNIST (1,000 modes), unconditional, with PacGAN's evaluation protocol.

Huang et al. (NeurIPS 2024), "The GAN is dead; long live the GAN! A Modern GAN Baseline" (arXiv
2501.05441): on Stacked MNIST R3GAN reports all 1,000 modes with KL 0.029 (against StyleGAN2's
940 / 0.42 and PacGAN's 992 / 0.28, as issue 29 quotes the paper); in its ablation RpGAN + R1 +
R2 reaches 1,000 modes / KL 0.078 where the plain GAN with R1 + R2 reaches 693 / 0.93.
The official code (brownvc/R3GAN train.py) has no Stacked MNIST preset, and we could not read the
paper's appendix from this machine: this config takes the CIFAR10 preset's recipe (RpGAN + R1 +
R2, Adam beta1 0, the cosine burn-in of lr 2e-4 -> 5e-5, gamma 0.05 -> 0.005, beta2 0.9 -> 0.99
and the EMA half-life 0 -> 5e6 images over 2e7 images; see experiments/r3gan_cifar10.py) with
its network at 3 stages for 28x28 (7, 14, 28), unconditional, at batch 64 (PacGAN's; the preset
uses 512): an assumption, not the paper's stated setting. Stages' widths are the preset's 768 (an
accelerator's job: hours a thousand images on a 2-core CPU). Evaluated as experiments/
stacked_mnist.py: 26,000 samples, each channel labelled by gan_jax's mnist_classifier, modes
captured (of 1,000) and KL(histogram || uniform); the digits are mnist5k's (not MNIST's 60,000).
`:runlocal` is the smoke test.

  python -m gan_jax.main --config=experiments/r3gan_stacked_mnist.py --workdir=runs/r3gan_smnist
"""
import os

from gan_jax import configs

BATCH = 64


def r3gan_recipe():
  """experiments/r3gan_cifar10.py as a module: R3GAN's recipe (r3gan_schedules) and constants."""
  return configs.load_module(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          'r3gan_cifar10.py'))


def get_config(arg=None):
  r3gan_cifar10 = r3gan_recipe()
  config = configs.base_config()
  config.data.source = 'stacked_mnist'
  config.model.generator = config.model.discriminator = 'r3gan'
  config.model.latent_dim = 64
  for kwargs in (config.model.g_kwargs.r3gan, config.model.d_kwargs.r3gan):
    kwargs.features = (768, 768, 768)
    kwargs.blocks, kwargs.groups, kwargs.expansion, kwargs.kernel_size = 2, 96, 2, 3
  r3gan_cifar10.r3gan_schedules(config, BATCH, r3gan_cifar10.BURNIN_IMAGES,
                                r3gan_cifar10.EMA_IMAGES, r3gan_cifar10.GAMMA)
  config.train.num_steps = 2 * config.optim.burnin.steps
  config.train.log_every = 500
  config.train.sample_every = config.train.ckpt_every = 5000
  config.train.eval_every = 25_000
  config.eval.num_samples = 26_000
  config = configs.experiment_arg(config, arg)
  if arg == 'runlocal':
    config.optim.burnin.steps = 2
  return config
