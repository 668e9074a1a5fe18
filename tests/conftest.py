import os

# Tests run on the CPU, whatever the machine has, with gan_jax's XLA defaults (as its entry
# points apply them), set before JAX opens a backend.
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
# JAX's persistent compilation cache, kept between test sessions under .pytest_cache (unbounded:
# `make clean` removes it) and shared by the session's pytest workers and the processes they start
# (the chaos tests set their own): the many runs of the same tiny configs compile once, and an
# unchanged program is not compiled again in the next session. Measured on a subset of 57
# compile-heavy tests, serial, 2 cores (issue 26; scripts/bench_compile_cache.sh): no cache 145 s,
# a fresh cache 130 s, the cache warm from a previous session 35 s. A cached executable is the one
# the compiler made (its key holds the program, jaxlib's version and the XLA flags), so results
# are bit for bit a fresh compilation's.
CACHE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         '.pytest_cache', 'jax_compilation_cache')
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
  os.environ['JAX_COMPILATION_CACHE_DIR'] = CACHE_DIR
  os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
from gan_jax import xla_defaults  # noqa: E402

xla_defaults.apply()

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_experiment(name: str, arg=None):
  from gan_jax import configs
  return configs.load_experiment(os.path.join(REPO, 'experiments', name + '.py'), arg)


@pytest.fixture
def tiny_config():
  """dcgan_mnist:runlocal, unlocked: a few steps of a narrow DCGAN at batch 8, with the recipe
  the tests were written for (the default's before issue 16: minimax, no EMA, no DiffAugment,
  running batch-norm statistics; tests/golden_runs.py)."""
  from tests.golden_runs import DCGAN_MNIST_BEFORE_ISSUE_16
  from gan_jax import sweep
  return sweep.apply_overrides(load_experiment('dcgan_mnist', 'runlocal'),
                               DCGAN_MNIST_BEFORE_ISSUE_16)


def train_records(path: str) -> list:
  """The training lines of a metrics.jsonl (evaluation lines, with eval/* keys, left out)."""
  from gan_jax import writers
  return [r for r in writers.read_jsonl(path) if 'd_loss' in r]


def eval_records(path: str) -> list:
  from gan_jax import writers
  return [r for r in writers.read_jsonl(path) if any(k.startswith('eval/') for k in r)]


# A slow test is marked one way: @pytest.mark.slow on the test function (`make test` leaves it out,
# `make test-all` runs it): training runs beyond the one end-to-end run of each entry point,
# processes, large compilations. A test left in `make test` that takes over SLOW_SECONDS is named
# at the end of the session: mark it slow or make it faster.
SLOW_SECONDS = 10.0
_OVER = []


def pytest_runtest_logreport(report):
  if (report.when == 'call' and report.duration > SLOW_SECONDS and
      'slow' not in report.keywords):
    _OVER.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter):
  if _OVER:
    terminalreporter.write_sep('-', f'not marked slow, over {SLOW_SECONDS:.0f} s (mark them or '
                               'make them faster)')
    for seconds, nodeid in sorted(_OVER, reverse=True):
      terminalreporter.write_line(f'{seconds:6.1f} s  {nodeid}')


# The files that take minutes go first: pytest-xdist hands out files in collection order (with
# --no-loadscope-reorder; by default it starts the files of most tests first), and the longest
# started last kept one worker busy alone at the end of `make test-all` (measured: the invariance
# file, about 9 minutes, started 21 minutes in). The order of the rest is unchanged.
LONG_FILES = ('test_invariance.py', 'test_gpu_check.py', 'test_chaos.py', 'test_parallel.py',
              'test_golden.py')


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(LONG_FILES)}
  items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))
