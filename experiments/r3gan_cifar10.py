"""R3GAN on CIFAR-10, class-conditional: the official CIFAR10 preset.

Huang, Gokaslan, Kuleshov & Tompkin (NeurIPS 2024), "The GAN is dead; long live the GAN! A Modern
GAN Baseline" (arXiv 2501.05441), config E; settings from brownvc/R3GAN train.py (preset
CIFAR10) and the README's command (`--gpus=8 --batch=512 --mirror=1 --aug=1 --cond=1
--preset=CIFAR10`):
- G and D: gan_jax/models/r3gan.py at 4 stages of 768 channels (3/4 of 1024), 2 residual blocks
  a stage, 96 groups (cardinality), expansion 2, kernel 3; a 64-d normal latent; conditional:
  G's class embedding 64-d, D's projection onto 768 features;
- loss: RpGAN + R1 + R2, each penalty gamma / 2 (loss.penalties.r1 = r2 = 0.025: gamma 0.05);
- Adam with beta1 0, eps 1e-8, lr 2e-4, batch 512;
- burn-in over 2e7 images (39,063 steps of 512), cosine: lr 2e-4 -> 5e-5, gamma 0.05 -> 0.005,
  beta2 0.9 -> 0.99, G's EMA half-life 0 -> 5e6 images (9,765.6 steps: ema_decay
  0.5 ** (1 / 9765.625)).
Differences from the official run:
- no augmentation: R3GAN's run uses StyleGAN2-ADA's pipeline at a probability scheduled 0 ->
  0.55 over the burn-in, and x-flips of the data (`--mirror=1`); gan_jax has neither yet (issue
  29's ADA);
- G's output passes through tanh (models/r3gan.py `output`; R3GAN's is linear):
  `--config.model.g_kwargs.r3gan.output=linear` for theirs;
- G's step reads D on the D step's last real batch (R3GAN draws a second real batch for it);
- the length: the official command sets none (train.py's --kimg default runs until stopped);
  train.num_steps here is 2x the burn-in (40M images), our choice, not the paper's;
- mixed precision: R3GAN runs its three highest-resolution stages in bfloat16; here float32
  (`--config.model.dtype=bfloat16` casts everything).
The paper's CIFAR-10 FID is not quoted here: we could not check the number against the paper
from this machine. Needs CIFAR-10 prepared for tfds (data.data_dir), and accelerators: on a CPU
one step at this width takes far too long; `:runlocal` trains narrow models on an offline
stand-in (stacked_mnist at 32x32).

  python -m gan_jax.main --config=experiments/r3gan_cifar10.py --workdir=runs/r3gan_cifar10
"""
from gan_jax import configs

BATCH = 512
BURNIN_IMAGES = 2e7  # R3GAN's decay_nimg.
EMA_IMAGES = 5e6  # R3GAN's ema_nimg: the EMA's half-life after the burn-in.
GAMMA = 0.05  # R3GAN's gamma_scheduler base_value (final 0.005).


def r3gan_schedules(config, batch_size: int, burnin_images: float, ema_images: float,
                    gamma: float) -> None:
  """R3GAN's loss, optimiser and burn-in (train.py's presets) on `config`, in steps of
  `batch_size` images."""
  config.data.batch_size = batch_size
  config.loss.name = 'rpgan'
  config.loss.penalties.r1 = config.loss.penalties.r2 = gamma / 2
  config.optim.g_lr = config.optim.d_lr = 2e-4
  config.optim.b1, config.optim.b2 = 0.0, 0.99
  config.optim.ema_decay = 0.5 ** (batch_size / ema_images)
  b = config.optim.burnin
  b.steps = int(round(burnin_images / batch_size))
  b.shape = 'cosine'
  b.lr_factor = 0.25  # 2e-4 -> 5e-5.
  b.b2_start = 0.9
  b.gamma_factor = 0.1
  b.ema = True


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'tfds:cifar10'
  config.model.generator = config.model.discriminator = 'r3gan'
  config.model.conditional = True
  config.model.latent_dim = 64
  for kwargs in (config.model.g_kwargs.r3gan, config.model.d_kwargs.r3gan):
    kwargs.features = (768, 768, 768, 768)
    kwargs.blocks, kwargs.groups, kwargs.expansion, kwargs.kernel_size = 2, 96, 2, 3
  config.model.g_kwargs.r3gan.class_embed_dim = 64
  config.model.d_kwargs.r3gan.class_embed_dim = 768
  r3gan_schedules(config, BATCH, BURNIN_IMAGES, EMA_IMAGES, GAMMA)
  config.train.num_steps = 2 * config.optim.burnin.steps
  config.train.log_every = 500
  config.train.sample_every = config.train.ckpt_every = 5000
  config.train.eval_every = 10_000
  config = configs.experiment_arg(config, arg)
  if arg == 'runlocal':  # A few steps: the burn-in within them, so that every schedule moves.
    config.optim.burnin.steps = 2
  return config
