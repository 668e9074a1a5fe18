import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import losses
from gan_jax import penalties


def _sigmoid64(x):
  return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _d_loss64(real, fake):
  return -np.mean(np.log(_sigmoid64(real))) - np.mean(np.log(1.0 - _sigmoid64(fake)))


LOGITS_REAL = np.array([-3.0, -0.5, 0.0, 0.7, 2.5, 6.0], np.float32)
LOGITS_FAKE = np.array([-6.0, -2.0, -0.1, 0.0, 1.5, 4.0], np.float32)


@pytest.mark.parametrize('name', ['minimax', 'non_saturating'])
def test_d_loss_matches_float64_formula(name):
  loss = losses.get_loss(name)
  got = float(loss.d_loss(jnp.asarray(LOGITS_REAL), jnp.asarray(LOGITS_FAKE)))
  np.testing.assert_allclose(got, _d_loss64(LOGITS_REAL, LOGITS_FAKE), rtol=1e-6)


def test_minimax_g_loss_is_log_one_minus_d():
  got = float(losses.get_loss('minimax').g_loss(None, jnp.asarray(LOGITS_FAKE)))
  np.testing.assert_allclose(got, np.mean(np.log(1.0 - _sigmoid64(LOGITS_FAKE))), rtol=1e-6)


def test_non_saturating_g_loss_is_minus_log_d():
  got = float(losses.get_loss('non_saturating').g_loss(None, jnp.asarray(LOGITS_FAKE)))
  np.testing.assert_allclose(got, -np.mean(np.log(_sigmoid64(LOGITS_FAKE))), rtol=1e-6)


def test_minimax_value_is_the_game_objective():
  # V(D, G) = E log D(x) + E log(1 - D(G(z))); D minimises -V, G minimises the fake term.
  loss = losses.get_loss('minimax')
  v = np.mean(np.log(_sigmoid64(LOGITS_REAL))) + np.mean(np.log(1 - _sigmoid64(LOGITS_FAKE)))
  np.testing.assert_allclose(float(loss.d_loss(LOGITS_REAL, LOGITS_FAKE)), -v, rtol=1e-6)


def test_losses_finite_for_extreme_logits():
  big = jnp.array([-200.0, -50.0, 50.0, 200.0])
  for name in losses.LOSSES:
    loss = losses.get_loss(name)
    assert np.isfinite(float(loss.d_loss(big, big)))
    assert np.isfinite(float(loss.g_loss(big, big)))
    g = jax.grad(lambda l: loss.g_loss(big, l))(big)
    assert np.all(np.isfinite(g))
  # -log D(G(z)) with D = sigmoid(-200) is 200, not inf: no log of a rounded 0.
  np.testing.assert_allclose(float(losses.get_loss('non_saturating').g_loss(None, jnp.array([-200.0]))),
                             200.0, rtol=1e-6)


def test_saturating_gradient_vanishes_where_d_rejects_fakes():
  # Where D(G(z)) ~ 0 (logit -8), d/dlogit log(1 - sigmoid(l)) = -sigmoid(l) ~ -3.4e-4, while
  # d/dlogit -log sigmoid(l) = -(1 - sigmoid(l)) ~ -1: the reason the non-saturating form exists.
  logits = jnp.array([-8.0])
  g_sat = float(jax.grad(lambda l: losses.get_loss('minimax').g_loss(None, l))(logits)[0])
  g_ns = float(jax.grad(lambda l: losses.get_loss('non_saturating').g_loss(None, l))(logits)[0])
  s = _sigmoid64(-8.0)
  np.testing.assert_allclose(g_sat, -s, rtol=1e-5)
  np.testing.assert_allclose(g_ns, -(1 - s), rtol=1e-6)
  assert abs(g_ns) > 1000 * abs(g_sat)
  # Both push the logit up (descent direction +): the same fixed point.
  assert g_sat < 0 and g_ns < 0


def test_unknown_loss_lists_valid_names():
  """Checked by configs.validate (losses.problems), before anything is built."""
  config = configs.base_config()
  config.loss.name = 'wasserstein_typo'
  with pytest.raises(configs.ConfigError, match='minimax.*non_saturating'):
    configs.validate(config)


def test_loss_section_defaults_and_problems():
  loss = losses.defaults()
  assert loss.to_dict() == {'name': 'minimax', 'penalties': {n: 0.0 for n in penalties.PENALTIES},
                            'lazy_every': 1, 'weight_clip': 0.0, 'acgan_weight': 1.0}
  assert set(loss.penalties) == {'gradient_penalty', 'r1', 'r2', 'dragan'}
  config = configs.base_config()
  assert losses.problems(config) == []
  config.loss.penalties.r3 = 1.0
  config.loss.lazy_every = 0
  assert losses.problems(config) == [
      "Unknown penalty loss.penalties.r3; valid: ['dragan', 'gradient_penalty', 'r1', 'r2'].",
      'loss.lazy_every must be an integer >= 1, got 0.']


def test_penalty_registry_entries_say_how_the_step_applies_them():
  entries = penalties.PENALTIES
  assert {n for n, e in entries.items() if e.lazy} == {'r1', 'r2'}
  assert {n for n, e in entries.items() if e.on_fake_labels} == {'r2'}
  assert all(isinstance(e, penalties.Penalty) and callable(e.fn) for e in entries.values())


def _log_sigmoid64(x):
  return np.log(_sigmoid64(x))


R64, F64 = LOGITS_REAL.astype(np.float64), LOGITS_FAKE.astype(np.float64)
# (name, D's loss, G's loss), written out in float64 from each paper's definition.
REFERENCE = [
    ('wasserstein', F64.mean() - R64.mean(), -F64.mean()),
    ('least_squares', 0.5 * np.mean((R64 - 1) ** 2) + 0.5 * np.mean(F64 ** 2),
     0.5 * np.mean((F64 - 1) ** 2)),
    ('hinge', np.mean(np.maximum(0, 1 - R64)) + np.mean(np.maximum(0, 1 + F64)), -F64.mean()),
    ('relativistic_average',
     -np.mean(_log_sigmoid64(R64 - F64.mean())) - np.mean(np.log(1 - _sigmoid64(F64 - R64.mean()))),
     -np.mean(_log_sigmoid64(F64 - R64.mean())) - np.mean(np.log(1 - _sigmoid64(R64 - F64.mean())))),
]


@pytest.mark.parametrize('name,d_ref,g_ref', REFERENCE, ids=[r[0] for r in REFERENCE])
def test_other_losses_match_float64_definitions(name, d_ref, g_ref):
  loss = losses.get_loss(name)
  real, fake = jnp.asarray(LOGITS_REAL), jnp.asarray(LOGITS_FAKE)
  np.testing.assert_allclose(float(loss.d_loss(real, fake)), d_ref, rtol=1e-5)
  np.testing.assert_allclose(float(loss.g_loss(real, fake)), g_ref, rtol=1e-5)
  assert loss.g_needs_real == (name == 'relativistic_average')
