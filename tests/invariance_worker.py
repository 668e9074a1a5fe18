"""Trains every experiment's `:runlocal` for a few steps on meshes of several sizes and writes
each step's metrics (tests/test_invariance.py; a process of its own: the device count is fixed when
JAX starts).

  python tests/invariance_worker.py OUT.json DEVICES [COORDINATOR NUM_PROCESSES PROCESS_ID]

DEVICES: comma-separated mesh sizes (1,8: the first device alone, then all eight), each a run of
every entry of RUNS. With a coordinator, the process joins a multi-process run and trains on the
mesh of every process's devices (DEVICES is then 'all').
"""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from gan_jax import xla_defaults  # noqa: E402

xla_defaults.apply()  # As gan_jax's entry points do, before JAX opens a backend.

STEPS = 3
# Every image run adds every DiffAugment op to its own features (dropout in mlp_mnist's D, the
# gradient penalty of WGAN-GP and text, Gumbel noise, packing, class conditioning).
FULL_AUGMENT = 'color,translation,cutout'
ADA_DIGITS = 'xint,scale,rotate,aniso,xfrac,brightness,contrast'
# D steps a step, at most (issue 26): each D step is the same code, so 2 keeps what n_critic > 1
# adds (a D step on the state the previous one left) while the unrolled D steps of the
# n_critic = 5 recipes (SN-GAN, WGAN-GP, projection cGAN, the losses study) made their programs
# the slowest to compile: measured serially, 250 of the check's 540 seconds.
MAX_N_CRITIC = 2
# name -> (experiment file, its argument, overrides). Every file of experiments/ but text_lm.py (a
# language model trained by its own loop, not by the GAN update).
RUNS = {
    'dcgan_mnist': ('dcgan_mnist', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'mlp_mnist': ('mlp_mnist', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'ring8': ('ring8', 'runlocal', {}),
    'ring8_pacgan2': ('ring8', 'runlocal', {'model.pack': 2}),
    'grid25': ('grid25', 'runlocal', {}),
    'loss_ablation': ('loss_ablation', 'runlocal', {}),
    'mnist_losses': ('mnist_losses', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'augment_mnist': ('augment_mnist', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    # ADA (its own augmentation, exclusive with DiffAugment) at a p that moves every step.
    'augment_digits': ('augment_digits', 'runlocal',
                       {'augment.policy': '', 'ada.mode': 'adaptive', 'ada.p': 0.5,
                        'ada.interval': 1, 'ada.kimg': 0.1,
                        'ada.transforms': 'xflip,rotate90,' + ADA_DIGITS}),
    'stacked_mnist': ('stacked_mnist', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'dcgan_cifar10': ('dcgan_cifar10', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'sngan_cnn_cifar10': ('sngan_cnn_cifar10', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'sngan_resnet_cifar10': ('sngan_resnet_cifar10', 'runlocal',
                             {'augment.policy': FULL_AUGMENT}),
    'cgan_projection_cifar10': ('cgan_projection_cifar10', 'runlocal',
                                {'augment.policy': FULL_AUGMENT}),
    'wgan_gp_cifar10': ('wgan_gp_cifar10', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'r3gan_mnist': ('r3gan_mnist', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'r3gan_stacked_mnist': ('r3gan_stacked_mnist', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'r3gan_cifar10': ('r3gan_cifar10', 'runlocal', {'augment.policy': FULL_AUGMENT}),
    'text_gan_softmax': ('text_gan', 'runlocal', {}),
    'text_gan_gumbel': ('text_gan', 'gumbel,runlocal', {}),
}


def config_of(name: str):
  """The run's config; its batch a multiple of 8 devices x the pack (16 at least), at most
  MAX_N_CRITIC D steps a step."""
  from gan_jax import configs
  from gan_jax import sweep
  experiment, arg, overrides = RUNS[name]
  config = sweep.apply_overrides(configs.load_experiment(
      os.path.join(REPO, 'experiments', experiment + '.py'), arg), overrides)
  config.optim.n_critic = min(config.optim.n_critic, MAX_N_CRITIC)
  unit = 8 * config.model.pack
  config.data.batch_size = max(16, -(-config.data.batch_size // unit) * unit)
  return config


def train(name: str, mesh) -> list:
  """STEPS updates of run `name` on `mesh`: each step's metrics, as floats."""
  import jax
  import numpy as np
  from gan_jax import parallel
  from gan_jax.experiment import Experiment
  exp = Experiment(config_of(name), mesh=mesh)
  update = jax.jit(exp.update_fn(), donate_argnums=0)
  state = exp.place(exp.init_state())
  out = []
  for t in range(STEPS):
    state, metrics = update(state, exp.device_batch(t))
    out.append({k: float(np.asarray(v).reshape(-1)[0])
                for k, v in parallel.to_host(metrics).items()})
  return out


def main():
  out_path, devices = sys.argv[1], sys.argv[2]
  if len(sys.argv) > 3:
    from gan_jax import parallel
    parallel.initialize_distributed(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
  import jax
  from gan_jax import parallel
  sizes = [jax.device_count()] if devices == 'all' else [int(n) for n in devices.split(',')]
  names = os.environ.get('INVARIANCE_RUNS', ','.join(RUNS)).split(',')
  results = {name: {str(n): train(name, parallel.make_mesh(jax.devices()[:n])) for n in sizes}
             for name in names}
  if jax.process_index() == 0:
    with open(out_path, 'w') as f:
      json.dump({'processes': jax.process_count(), 'devices': jax.device_count(),
                 'results': results}, f)


if __name__ == '__main__':
  main()
