"""The golden runs: short runs whose every logged number is pinned (tests/golden/golden.json).

Recorded once on the code before the shape redesign (issue 11) by `scripts/record_golden.py`;
tests/test_golden.py reruns them and compares every metrics.jsonl value and eval.json exactly,
so any change to the numerics (random-stream tags, update order, the seed and step axes, the
evaluation protocol) fails it. `steps_per_s` (a timing) is the only value left out.

Each run is an experiment file, its config argument and overrides, and how many CPU devices the
process has: runs with more than one device run in a subprocess of `python -m gan_jax.main`.
"""
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_PATH = os.path.join(REPO, 'tests', 'golden', 'golden.json')

# experiments/dcgan_mnist.py's recipe before issue 16 changed the default (the fields its
# `:runlocal` keeps; widths and cadences are runlocal's own): the golden runs stay those runs.
DCGAN_MNIST_BEFORE_ISSUE_16 = {
    'model.conditional': False, 'optim.g_lr': 2e-4, 'optim.d_lr': 2e-4,
    'loss.name': 'minimax', 'optim.ema_decay': 0.0, 'optim.ema_start': 0,
    'augment.policy': '', 'eval.bn_stats': 'running'}
_OLD = DCGAN_MNIST_BEFORE_ISSUE_16
# experiments/ring8.py before issue 16 gave it PacGAN's N(0, 0.02) initial weights.
RING8_BEFORE_ISSUE_16 = {'model.init_std': 0.0}

RUNS = {
    'dcgan_mnist': ('dcgan_mnist', 'runlocal', {**_OLD}, 1),
    'ring8': ('ring8', 'runlocal', {**RING8_BEFORE_ISSUE_16}, 1),
    'conditional_acgan': ('dcgan_mnist', 'runlocal', {
        **_OLD, 'model.conditional': True, 'model.d_conditioning': 'acgan'}, 1),
    'two_seeds_two_steps_per_call': ('dcgan_mnist', 'runlocal', {
        **_OLD, 'num_seeds': 2, 'train.steps_per_call': 2}, 1),
    'wgan_gp_ema_diffaugment': ('dcgan_mnist', 'runlocal', {
        **_OLD, 'loss.name': 'wasserstein', 'loss.penalties.gradient_penalty': 10.0,
        'optim.n_critic': 2, 'optim.ema_decay': 0.9, 'optim.ema_start': 1,
        'augment.policy': 'color,translation,cutout'}, 1),
    'eight_devices': ('dcgan_mnist', 'runlocal', {**_OLD}, 8),
}
TIMING_KEYS = ('steps_per_s',)


def _flag(key, value):
  if isinstance(value, str):
    return f'--config.{key}={value}'
  return f'--config.{key}={json.dumps(value)}'


def outputs(workdir: str) -> dict:
  """Every logged number of a finished run: metrics.jsonl (timings dropped) and eval.json."""
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    records = [json.loads(line) for line in f if line.strip()]
  with open(os.path.join(workdir, 'eval.json')) as f:
    eval_json = json.load(f)
  return {'metrics': [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in records],
          'eval': eval_json}


def run(name: str, workdir: str) -> dict:
  """Trains golden run `name` into `workdir` (must not exist yet) and returns its outputs."""
  experiment, arg, overrides, devices = RUNS[name]
  path = os.path.join(REPO, 'experiments', experiment + '.py')
  if devices == 1:
    from gan_jax import configs
    from gan_jax import train
    config = configs.load_experiment(path, arg)
    for key, value in overrides.items():
      node = config
      *parents, leaf = key.split('.')
      for p in parents:
        node = node[p]
      node[leaf] = value
    train.train_and_evaluate(config, workdir)
  else:
    env = dict(os.environ, JAX_PLATFORMS='cpu',
               XLA_FLAGS=(os.environ.get('XLA_FLAGS', '') +
                          f' --xla_force_host_platform_device_count={devices}').strip())
    cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={path}:{arg}', f'--workdir={workdir}',
           *[_flag(k, v) for k, v in overrides.items()]]
    subprocess.run(cmd, check=True, cwd=REPO, env=env, capture_output=True)
  return outputs(workdir)


def run_all(names=None) -> dict:
  with tempfile.TemporaryDirectory() as tmp:
    return {n: run(n, os.path.join(tmp, n)) for n in (names or RUNS)}
