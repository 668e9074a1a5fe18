import atexit
import os
import shutil
import tempfile

# Tests run on the CPU, whatever the machine has, with gan_jax's XLA defaults (as its entry
# points apply them), set before JAX opens a backend.
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
# One persistent compilation cache for the session, its tests and the processes they start (the
# chaos tests set their own): the many runs of the same tiny configs compile once. Created fresh
# and removed at the end, so no entry outlives the code that compiled it. A cached executable is
# the one the compiler made, so results are bit for bit those of a fresh compilation.
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
  _cache = tempfile.mkdtemp(prefix='gan_jax_test_xla_cache_')
  atexit.register(shutil.rmtree, _cache, ignore_errors=True)
  os.environ['JAX_COMPILATION_CACHE_DIR'] = _cache
  os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0.5')
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


# Tests that train, start processes or compile large models: `make test-fast` (-m 'not slow')
# leaves them out with the modules marked slow as a whole (pytestmark). Measured with
# `pytest -m 'not slow' --durations=25`: each of these took over 10 s on the 2-core CPU.
SLOW_TESTS = (
    'test_evaluation.py::test_eval_in_training_and_mode_eval_agree',
    'test_evaluation.py::test_stacked_mnist_pacgan2_trains_and_evaluates',
    'test_evaluators.py::test_stacked_mnist_source_and_protocol_on_real_data',
    'test_evaluators.py::test_feature_protocol_separates_real_from_noise',
    'test_sweep.py::test_sweep_trains_tabulates_and_resumes',
    'test_augment.py::test_training_with_diffaugment_and_bad_policies',
    'test_inception.py::',
    'test_conditional.py::test_conditional_run_trains_and_draws_a_row_per_class',
    'test_models.py::test_spectral_norm_estimates_the_largest_singular_value',
    'test_models.py::test_generator_spectral_norm_estimates_sigma',
    'test_models.py::test_resnet32_shapes_and_blocks',
    'test_models.py::test_generator_normalisation_choices',
    'test_models.py::test_subpixel_conv_transpose_equals_flax',
    'test_experiment.py::',
    'test_step.py::test_bfloat16_update_stays_close_to_float32',
    'test_step.py::test_saturating_loss_gives_weaker_g_gradient_when_d_wins',
    'test_checkpoint.py::',
    'test_space_to_depth.py::test_discriminator_choices_',
    'test_models_sequence.py::test_cold_gumbel_rows_are_one_hot_samples_of_the_softmax',
)


def pytest_collection_modifyitems(config, items):
  for item in items:
    nodeid = item.nodeid.split('tests/', 1)[-1]
    if any(nodeid.startswith(s) for s in SLOW_TESTS):
      item.add_marker(pytest.mark.slow)
