"""R3GAN's recipe on mnist5k, unconditional, sized for a 2-core CPU: a starting point, untuned.

The pieces of R3GAN (Huang et al., NeurIPS 2024; brownvc/R3GAN; experiments/r3gan_cifar10.py):
RpGAN + R1 + R2 (gamma / 2 each), Adam with beta1 0, the normalisation-free ConvNet of
gan_jax/models/r3gan.py, and the cosine burn-in of the learning rate (2e-4 -> 5e-5), gamma
(0.05 -> 0.005), beta2 (0.9 -> 0.99) and G's EMA half-life (0 -> 200 steps), here over the first
half of the run (900 of 1,800 steps; R3GAN's burn-in is 2e7 images). Narrow networks for
28x28x1 (7, 14, 28): G 32, 24, 16 channels, D 16, 24, 32, one residual block a stage, 4 groups,
expansion 2; a 64-d latent; batch 32. Sized by time: one update took 0.33 s on a 2-core Intel
Xeon (the jitted update alone, 8 steps after compiling; 0.28 s without R1 and R2), so 1,800 steps
take about 10 minutes; at G 64, 48, 32 / D 32, 48, 64 with 8 groups a step took 0.93 s (and
14 s with XLA:CPU's grouped convolutions: the blocks use models/r3gan.py's block_diagonal form).
No labels (issue 29's unconditional goal: FID <= 60, >= 90% confident, class KL <= 0.02 within
10 minutes on 2 cores); what it reaches is not measured yet (the study of issue 29 measures it).

  python -m gan_jax.main --config=experiments/r3gan_mnist.py --workdir=runs/r3gan_mnist
"""
import os

from gan_jax import configs

BATCH = 32
STEPS = 1800
EMA_HALF_LIFE = 200  # Steps, after the burn-in.


def get_config(arg=None):
  recipe = configs.load_module(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            'r3gan_cifar10.py'))
  config = configs.base_config()
  config.data.source = 'mnist5k'
  config.model.generator = config.model.discriminator = 'r3gan'
  config.model.latent_dim = 64
  config.model.g_kwargs.r3gan.features = (32, 24, 16)
  config.model.d_kwargs.r3gan.features = (16, 24, 32)
  for kwargs in (config.model.g_kwargs.r3gan, config.model.d_kwargs.r3gan):
    kwargs.blocks, kwargs.groups, kwargs.expansion, kwargs.kernel_size = 1, 4, 2, 3
    kwargs.grouped_conv = 'block_diagonal'  # The CPU's fast form (models/r3gan.py).
  recipe.r3gan_schedules(config, BATCH, burnin_images=BATCH * STEPS / 2,
                         ema_images=BATCH * EMA_HALF_LIFE, gamma=recipe.GAMMA)
  config.train.num_steps = STEPS
  config.train.log_every = 100
  config.train.sample_every = config.train.ckpt_every = 300
  config = configs.experiment_arg(config, arg)
  if arg == 'runlocal':
    config.optim.burnin.steps = 2
  return config
