"""The loss ablation: five GAN losses, with and without spectral norm in D, on ring8 and grid25.

A sweep (gan_jax/sweep.py) over experiments/ring8.py's settings (PacGAN's 2-D models, Adam 1e-4,
beta1 0.8, batch 100), 3 seeds a point trained together (num_seeds), evaluated by mode coverage on
2,500 samples at 2,500 steps and at the end:

  python -m gan_jax.sweep --config=experiments/loss_ablation.py --workdir=runs/loss_ablation
  make sweep CONFIG=experiments/loss_ablation.py WORKDIR=runs/loss_ablation

On a 2-core CPU, two single-core shards sharing the workdir finished sooner than one process
using both cores in a short trial (docs/ablation.md has the commands).

Losses: minimax and non_saturating (Goodfellow et al. 2014), wasserstein with gradient_penalty
10 (WGAN-GP, Gulrajani et al. 2017; their n_critic 5 is not used, to keep one D step per G step
across the losses), least_squares (LSGAN), hinge (SN-GAN). 20 points x 3 seeds x 5,000 steps
(half of docs/pacgan.md's runs, for the CPU budget): just under 2 hours as two single-core shards
on a 2-core CPU (docs/ablation.md); `:runlocal` is the smoke test.

model.init_std stays 0 (Flax's LeCun-normal initial weights), as when docs/ablation.md was made:
ring8.py has since taken PacGAN's N(0, 0.02) (issue 16, docs/precision_ab.md). Override
`model.init_std=0.02` in a new workdir to ablate under PacGAN's initialisation.
"""
import os

from gan_jax import configs
from gan_jax import sweep

LOSSES = [
    {'loss.name': 'minimax'},
    {'loss.name': 'non_saturating'},
    {'loss.name': 'wasserstein', 'loss.penalties.gradient_penalty': 10.0},
    {'loss.name': 'least_squares'},
    {'loss.name': 'hinge'},
]


def get_config(arg=None):
  config = configs.load_experiment(os.path.join(os.path.dirname(__file__), 'ring8.py'), arg)
  config.num_seeds = 3
  config.model.init_std = 0.0  # The initialisation docs/ablation.md was made with.
  if arg != 'runlocal':
    config.train.num_steps = 5_000
    config.train.eval_every = 2_500
  return config


def get_sweep(arg=None):
  del arg
  return sweep.cross(
      sweep.product({'data.source': ['ring8', 'grid25']}),
      LOSSES,
      sweep.product({'model.d_kwargs.mlp.spectral_norm': [False, True]}))
