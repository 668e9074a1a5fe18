"""Class-conditional DCGAN on the 4500 training digits of mnist5k: the default (`make train`).

Architecture of the TensorFlow DCGAN tutorial (gan_jax/models/dcgan.py; D without the tutorial's
dropout) at half width in G (dense 7x7x128, transposed convolutions 64, 32, 1) and D (32, 64),
made class-conditional on the digits' labels: conditional batch norm in G (de Vries et al. 2017,
Miyato & Koyama 2018) and a projection discriminator (Miyato & Koyama 2018); G draws each
sample's digit uniformly over the ten classes, so every class is drawn. Adam with beta1 0.5
(Radford et al. 2016) at lr 5e-4 for both players, batches of 32. The recipe was chosen by the
screen and the time-to-quality benchmark (experiments/studies/ttq_screen.py, experiments/studies/ttq.py;
docs/ttq_screen.md and docs/ttq.md: every recipe tried, with its numbers); what it adds to the
tutorial:
- the labels (conditional G, projection D): at equal steps FID 41 against the unconditional
  default's 315 at step 6000 (of the three first-round candidates screened, the largest gain);
- learning rates 5e-4 rather than DCGAN's 2e-4: on this budget the same steps learn more;
- the non-saturating G loss (Goodfellow et al. 2014's practical variant; the minimax G loss
  saturates while D wins);
- an EMA of G's parameters (decay 0.999 from step 1000: Karras et al. 2018, Brock et al. 2019)
  for sampling, with standing batch-norm statistics (eval.bn_stats, BigGAN), so the averaged
  parameters sample with statistics of their own rather than those of the live G;
- DiffAugment translation on D's inputs (Zhao et al. 2020: 4500 digits are little data);
- half width: at batch 32 a step takes about a third of the full-width step's time, so the same
  minutes buy about three times the updates.
The unconditional recipe it replaces is `--config.model.conditional=False --config.optim.g_lr=2e-4
--config.optim.d_lr=2e-4 --config.train.num_steps=5750` (docs/ttq.md's ema999).

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
  config.model.conditional = True
  config.model.latent_dim = 100
  config.model.g_kwargs.dcgan.base_features = 128
  config.model.d_kwargs.dcgan.base_features = 32
  config.model.d_kwargs.dcgan.dropout = 0.0
  config.loss.name = 'non_saturating'
  config.optim.g_lr = 5e-4
  config.optim.d_lr = 5e-4
  config.optim.b1 = 0.5
  config.optim.ema_decay = 0.999
  config.optim.ema_start = 1000
  config.augment.policy = 'translation'
  config.eval.bn_stats = 'standing'
  config.train.num_steps = 5000
  config.train.log_every = 100
  config.train.sample_every = 500
  config.train.ckpt_every = 500
  return configs.experiment_arg(config, arg)
