"""DiffAugment: each op against a numpy reference, gradients through it, and training with it."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import augment
from gan_jax import configs
from gan_jax import streams
from gan_jax import train
from gan_jax.experiment import Experiment
from tests.conftest import load_experiment

X = np.random.default_rng(0).uniform(-1, 1, size=(3, 8, 6, 2)).astype(np.float32)


def test_translate_shifts_with_zero_fill():
  dy, dx = np.array([0, 2, -1]), np.array([1, -3, 0])
  got = np.asarray(augment.translate(jnp.asarray(X), jnp.asarray(dy), jnp.asarray(dx)))
  want = np.zeros_like(X)
  for b in range(3):
    for i in range(8):
      for j in range(6):
        if 0 <= i + dy[b] < 8 and 0 <= j + dx[b] < 6:
          want[b, i, j] = X[b, i + dy[b], j + dx[b]]
  np.testing.assert_array_equal(got, want)


def test_cutout_mask_zeroes_one_square():
  mask = np.asarray(augment.cutout_mask(8, 6, jnp.array([0, 4, 7]), jnp.array([3, 0, 5]), 4, 3))
  for b, (cy, cx) in enumerate([(0, 3), (4, 0), (7, 5)]):
    want = np.ones((8, 6))
    want[max(cy - 2, 0):cy - 2 + 4, max(cx - 1, 0):cx - 1 + 3] = 0
    np.testing.assert_array_equal(mask[b, ..., 0], want)


def _keys(seed, n=3):
  return streams.example_keys(jax.random.PRNGKey(seed), n, None)


def test_color_follows_diffaugment_formulas():
  keys = _keys(5)
  got = np.asarray(augment.color(jnp.asarray(X), keys))
  # Example b's three factors are the uniforms of its own key.
  u = np.stack([np.asarray(jax.random.uniform(k, (3,)), np.float64) for k in keys])
  u1, u2, u3 = (u[:, i].reshape(3, 1, 1, 1) for i in range(3))
  x = X.astype(np.float64) + (u1 - 0.5)
  m = x.mean(axis=-1, keepdims=True)
  x = (x - m) * (2 * u2) + m
  m = x.mean(axis=(1, 2, 3), keepdims=True)
  np.testing.assert_allclose(got, (x - m) * (u3 + 0.5) + m, rtol=1e-5, atol=1e-6)


def test_gradients_flow_through_the_full_policy():
  aug = augment.make_augment('color,translation,cutout')
  key = _keys(1)
  w = jnp.asarray(np.random.default_rng(2).normal(size=X.shape), jnp.float32)
  f = lambda x: jnp.sum(w * aug(x, key))
  g = np.asarray(jax.grad(f)(jnp.asarray(X)))
  assert np.all(np.isfinite(g)) and np.abs(g).sum() > 0
  # The augmentation is affine in x for fixed random draws: f(x + e) - f(x) = <grad, e>.
  e = np.random.default_rng(3).normal(size=X.shape).astype(np.float32) * 1e-2
  np.testing.assert_allclose(float(f(jnp.asarray(X + e)) - f(jnp.asarray(X))),
                             float(np.sum(g * e)), rtol=2e-3)
  # Same key, same augmentation (real and fake see the same kind of op, different draws by key).
  np.testing.assert_array_equal(np.asarray(aug(X, key)), np.asarray(aug(X, key)))
  assert not np.array_equal(np.asarray(aug(X, key)), np.asarray(aug(X, _keys(9))))


@pytest.mark.slow
def test_an_example_is_augmented_alike_however_the_batch_is_split():
  # Data parallel over 2 devices, each augments its half with the keys of its global rows:
  # together they give the one-device batch exactly (issue 27: no draw depends on the device).
  aug = augment.make_augment('color,translation,cutout')
  x = np.random.default_rng(4).uniform(-1, 1, size=(8, 8, 8, 3)).astype(np.float32)
  key = jax.random.PRNGKey(7)
  whole = np.asarray(aug(x, streams.example_keys(key, 8, None)))
  halves = jax.shard_map(lambda xs: aug(xs, streams.example_keys(key, xs.shape[0], 'data')),
                         mesh=jax.make_mesh((1,), ('data',),
                                            axis_types=(jax.sharding.AxisType.Auto,)),
                         in_specs=jax.P('data'), out_specs=jax.P('data'))
  np.testing.assert_array_equal(np.asarray(halves(x)), whole)
  # Rows 4..7 drawn on their own (a second device's slice, offset 4) are rows 4..7 of the whole.
  offset_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(4, 8))
  np.testing.assert_array_equal(np.asarray(aug(x[4:], offset_keys)), whole[4:])
  # And a different split of the draws (the old per-device key) would not give them.
  assert not np.array_equal(np.asarray(aug(x[4:], streams.example_keys(key, 4, None))), whole[4:])


@pytest.mark.slow
def test_training_with_diffaugment_and_bad_policies(tiny_config, tmp_path):
  tiny_config.augment.policy = 'color,translation,cutout'
  tiny_config.eval.features = 'none'
  state = train.train_and_evaluate(tiny_config, str(tmp_path / 'run'))
  assert all(np.isfinite(np.asarray(p)).all() for p in jax.tree.leaves(state.g_params))
  tiny_config.augment.policy = 'color,flip'
  with pytest.raises(configs.ConfigError, match=r"augment.policy entries \['flip'\]"):
    configs.validate(tiny_config)
  points = load_experiment('ring8', 'runlocal')
  points.augment.policy = 'translation'
  with pytest.raises(configs.ConfigError, match='is not images'):
    Experiment(points)


def test_augment_section_defaults_and_problems():
  assert augment.defaults().to_dict() == {'policy': '', 'translation_ratio': 0.125,
                                          'cutout_ratio': 0.5}
  assert augment.policy_entries(' color, ,cutout') == ['color', 'cutout']
  config = configs.base_config()
  assert augment.problems(config) == []
  config.augment.policy = 'color,flip,zoom'
  config.augment.translation_ratio = -0.1
  assert augment.problems(config) == [
      "Unknown augment.policy entries ['flip', 'zoom']; valid: ['color', 'translation', 'cutout'] "
      '(comma-separated, e.g. color,translation,cutout).',
      'augment.translation_ratio must be in [0, 1], got -0.1.']


def test_empty_policy_is_the_identity():
  np.testing.assert_array_equal(np.asarray(augment.make_augment('')(X, _keys(0))), X)
