"""GAN on ring8 (8 Gaussians on the unit circle, std 0.01), settings of PacGAN's 2-D experiments.

Lin et al. (2018), PacGAN, Sec. 5.1, and their code (fjxmlzn/PacGAN, synthetic_data_experiments,
after VEEGAN's setup): G with four hidden layers of 400 units, batch norm and ReLU, a 2-d standard
normal latent; D with three hidden layers of 200 maxout units (5 pieces), no dropout; the
non-saturating loss; Adam, lr 1e-4, beta1 0.8; batches of 100 (packs, for PacGAN: PacGAN2 is
--config.model.pack=2 --config.data.batch_size=200); PacGAN's initialisation: every dense kernel
N(0, 0.02), every bias 0 (model.init_std). Evaluated by mode coverage on 2,500 samples
(gan_jax/evaluators/mode_coverage.py). Differences: PacGAN trains 400 epochs of 100,000 points
(400,000 steps) and updates G and D simultaneously; here train.num_steps is 20,000 (the CPU
budget; see docs/pacgan.md), and D then G updates. Adam's beta1 is 0.8 as PacGAN's code passes
it, read as momentum 0.8 (Blocks' development version, which PacGAN asks for); Blocks' Adam took
beta1 as 1 - momentum until January 2017, under which the same 0.8 was momentum 0.2 (ALI's
tuning, from which PacGAN copied it). docs/precision_ab.md measures both on grid25, with
gan_jax's earlier initialisation (Flax's LeCun normal: model.init_std=0) beside PacGAN's.
"""
from gan_jax import configs


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'ring8'
  config.data.batch_size = 100
  config.model.generator = 'mlp'
  config.model.discriminator = 'mlp'
  config.model.latent_dim = 2
  config.model.latent_dist = 'normal'
  config.model.init_std = 0.02
  config.model.g_kwargs.mlp.hidden = (400, 400, 400, 400)
  config.model.g_kwargs.mlp.output_activation = 'linear'
  config.model.g_kwargs.mlp.norm = 'batch'
  config.model.d_kwargs.mlp.hidden = (200, 200, 200)
  config.model.d_kwargs.mlp.maxout_pieces = 5
  config.model.d_kwargs.mlp.input_dropout = 0.0
  config.model.d_kwargs.mlp.dropout = 0.0
  config.loss.name = 'non_saturating'
  config.optim.g_lr = 1e-4
  config.optim.d_lr = 1e-4
  config.optim.b1 = 0.8
  config.train.num_steps = 20000
  config.train.log_every = 500
  config.train.sample_every = 5000
  config.train.ckpt_every = 5000
  return configs.experiment_arg(config, arg)
