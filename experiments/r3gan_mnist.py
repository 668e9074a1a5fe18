"""R3GAN's recipe on mnist5k, unconditional, sized for a 2-core CPU: a starting point, untuned.

The pieces of R3GAN (Huang et al., NeurIPS 2024; brownvc/R3GAN; experiments/r3gan_cifar10.py):
RpGAN + R1 + R2 (gamma / 2 each), Adam with beta1 0, the normalisation-free ConvNet of
gan_jax/models/r3gan.py, and the cosine burn-in of the learning rate (2e-4 -> 5e-5), gamma
(0.05 -> 0.005), beta2 (0.9 -> 0.99) and G's EMA half-life (0 -> 500 steps), here over the first
half of the run (2,000 of 4,000 steps; R3GAN's burn-in is 2e7 images). Narrow networks for
28x28x1 (7, 14, 28): G 64, 48, 32 channels, D 32, 48, 64, one residual block a stage, 8 groups,
expansion 2; a 64-d latent; batch 32. No labels (issue 29's unconditional goal: FID <= 60, >= 90%
confident, class KL <= 0.02 within 10 minutes on 2 cores); what it reaches, and in how many
minutes, is not measured yet (the study of issue 29 measures it).

  python -m gan_jax.main --config=experiments/r3gan_mnist.py --workdir=runs/r3gan_mnist
"""
import os

from gan_jax import configs

BATCH = 32
STEPS = 4000
EMA_HALF_LIFE = 500  # Steps, after the burn-in.


def get_config(arg=None):
  recipe = configs.load_module(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            'r3gan_cifar10.py'))
  config = configs.base_config()
  config.data.source = 'mnist5k'
  config.model.generator = config.model.discriminator = 'r3gan'
  config.model.latent_dim = 64
  config.model.g_kwargs.r3gan.features = (64, 48, 32)
  config.model.d_kwargs.r3gan.features = (32, 48, 64)
  for kwargs in (config.model.g_kwargs.r3gan, config.model.d_kwargs.r3gan):
    kwargs.blocks, kwargs.groups, kwargs.expansion, kwargs.kernel_size = 1, 8, 2, 3
  recipe.r3gan_schedules(config, BATCH, burnin_images=BATCH * STEPS / 2,
                         ema_images=BATCH * EMA_HALF_LIFE, gamma=recipe.GAMMA)
  config.train.num_steps = STEPS
  config.train.log_every = 100
  config.train.sample_every = config.train.ckpt_every = 500
  config = configs.experiment_arg(config, arg)
  if arg == 'runlocal':
    config.optim.burnin.steps = 2
  return config
