"""DCGAN on the 4500 training digits of mnist5k: the default experiment (`make train`).

Architecture of the TensorFlow DCGAN tutorial (gan_jax/models/dcgan.py; D without the tutorial's
dropout) at half width in G (dense 7x7x128, transposed convolutions 64, 32, 1) and D (32, 64),
Adam of Radford et al. (2016), DCGAN: lr 2e-4, beta1 0.5, batches of 32. The recipe was chosen
by the time-to-quality benchmark (scripts/ttq.py, docs/ttq.md: every recipe tried, with its
numbers): on a 2-core CPU it trains for about 8 minutes and, at every wall-clock budget there,
scores better than the tutorial's own recipe (minimax loss, full width, 3500 steps; the
`before` recipe) and than the PyTorch reference. What it adds to the tutorial:
- the non-saturating G loss (Goodfellow et al. 2014's practical variant; the minimax G loss
  saturates while D wins);
- an EMA of G's parameters (decay 0.999 from step 1000: Karras et al. 2018, Brock et al. 2019)
  for sampling, with standing batch-norm statistics (eval.bn_stats, BigGAN), so the averaged
  parameters sample with statistics of their own rather than those of the live G;
- DiffAugment translation on D's inputs (Zhao et al. 2020: 4500 digits are little data);
- half width: at batch 32 a step takes about a third of the full-width step's time, so the same
  minutes buy about three times the updates.

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
  config.model.g_kwargs.dcgan.base_features = 128
  config.model.d_kwargs.dcgan.base_features = 32
  config.model.d_kwargs.dcgan.dropout = 0.0
  config.loss.name = 'non_saturating'
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.optim.ema_decay = 0.999
  config.optim.ema_start = 1000
  config.augment.policy = 'translation'
  config.eval.bn_stats = 'standing'
  config.train.num_steps = 5750
  config.train.log_every = 100
  config.train.sample_every = 500
  config.train.ckpt_every = 500
  return configs.experiment_arg(config, arg)
