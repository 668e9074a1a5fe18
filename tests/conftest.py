import os

# Tests run on the CPU, whatever the machine has, with gan_jax's XLA defaults (as its entry
# points apply them), set before JAX opens a backend.
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
from gan_jax import xla_defaults  # noqa: E402

xla_defaults.apply()

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_experiment(name: str, arg=None):
  from gan_jax import configs
  return configs.load_experiment(os.path.join(REPO, 'experiments', name + '.py'), arg)


@pytest.fixture
def tiny_config():
  """dcgan_mnist:runlocal, unlocked: a few steps of a narrow DCGAN at batch 8."""
  return load_experiment('dcgan_mnist', 'runlocal')


def train_records(path: str) -> list:
  """The training lines of a metrics.jsonl (evaluation lines, with eval/* keys, left out)."""
  from gan_jax import writers
  return [r for r in writers.read_jsonl(path) if 'd_loss' in r]


def eval_records(path: str) -> list:
  from gan_jax import writers
  return [r for r in writers.read_jsonl(path) if any(k.startswith('eval/') for k in r)]
