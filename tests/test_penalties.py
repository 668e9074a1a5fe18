"""Penalties, weight clipping and the generator EMA against closed forms."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import penalties
from gan_jax import state as state_lib
from gan_jax import streams
from gan_jax.experiment import Experiment
from tests.conftest import load_experiment

RNG = np.random.default_rng(0)
REAL = jnp.asarray(RNG.normal(size=(6, 3, 2, 2)), jnp.float32)
FAKE = jnp.asarray(RNG.normal(size=(6, 3, 2, 2)), jnp.float32)
W = RNG.normal(size=(3, 2, 2))
KEY = streams.example_keys(jax.random.PRNGKey(3), 6, None)  # One key per example.


def linear_d(x):  # grad_x D = W everywhere: ||grad||^2 = ||W||^2.
  return jnp.sum(x * jnp.asarray(W, jnp.float32), axis=(1, 2, 3)) + 0.3


def quadratic_d(x, a=0.7):  # grad_x D = a x.
  return 0.5 * a * jnp.sum(x ** 2, axis=(1, 2, 3))


def test_penalties_of_a_linear_discriminator():
  w2 = np.sum(W ** 2)
  for name, expected in (('gradient_penalty', (np.sqrt(w2) - 1) ** 2), ('r1', w2), ('r2', w2),
                         ('dragan', (np.sqrt(w2) - 1) ** 2)):
    got = float(penalties.PENALTIES[name](linear_d, REAL, FAKE, KEY))
    np.testing.assert_allclose(got, expected, rtol=1e-5, err_msg=name)


def test_penalties_of_a_quadratic_discriminator():
  a = 0.7
  real, fake = np.asarray(REAL, np.float64), np.asarray(FAKE, np.float64)
  sq = lambda x: np.sum(x ** 2, axis=(1, 2, 3))
  np.testing.assert_allclose(float(penalties.r1(quadratic_d, REAL, FAKE, KEY)),
                             np.mean(a ** 2 * sq(real)), rtol=1e-5)
  np.testing.assert_allclose(float(penalties.r2(quadratic_d, REAL, FAKE, KEY)),
                             np.mean(a ** 2 * sq(fake)), rtol=1e-5)
  # Example b's draws come from its own key (the same numbers on any number of devices).
  eps = np.stack([np.asarray(jax.random.uniform(k, (1, 1, 1)), np.float64) for k in KEY])
  x_hat = eps * real + (1 - eps) * fake
  np.testing.assert_allclose(float(penalties.gradient_penalty(quadratic_d, REAL, FAKE, KEY)),
                             np.mean((a * np.sqrt(sq(x_hat)) - 1) ** 2), rtol=1e-5)
  u = np.stack([np.asarray(jax.random.uniform(k, REAL.shape[1:]), np.float64) for k in KEY])
  x_p = real + 0.5 * real.std() * u
  np.testing.assert_allclose(float(penalties.dragan(quadratic_d, REAL, FAKE, KEY)),
                             np.mean((a * np.sqrt(sq(x_p)) - 1) ** 2), rtol=1e-4)


def _exp(**overrides):
  config = load_experiment('ring8', 'runlocal')
  config.eval.features = 'none'
  for field, value in overrides.items():
    section, name = field.split('__')
    config[section][name] = value
  return Experiment(config), config


def _steps(exp, n):
  update = jax.jit(exp.reference_update())
  state = state_lib.replica(exp.init_state(), 0)
  out = []
  for t in range(n):
    state, metrics = update(state, exp.batchers[0].step_batch(t, 1))
    out.append((state, jax.device_get(metrics)))
  return out


def test_lazy_r1_runs_every_kth_step_with_k_times_the_weight():
  exp, config = _exp(loss__lazy_every=2)
  config.loss.penalties.r1 = 1.0
  exp = Experiment(config)
  (_, m0), (_, m1), (_, m2) = _steps(exp, 3)
  assert m0['penalty_r1'] > 0 and m1['penalty_r1'] == 0 and m2['penalty_r1'] > 0
  config.loss.lazy_every = 1
  eager = Experiment(config)
  (_, e0), = _steps(eager, 1)  # Same first step: k x the eager value.
  np.testing.assert_allclose(m0['penalty_r1'], 2 * e0['penalty_r1'], rtol=1e-5)


def test_weight_clipping_bounds_every_d_parameter():
  exp, _ = _exp(loss__weight_clip=0.01)
  (state, _), = _steps(exp, 1)
  leaves = jax.tree.leaves(state.d_params)
  assert max(float(jnp.max(jnp.abs(p))) for p in leaves) <= 0.01
  assert all(float(jnp.max(jnp.abs(p))) == pytest.approx(0.01) for p in leaves
             if p.ndim == 2)  # Adam's first step moves every weight by ~lr: many hit the bound.


def test_generator_ema_follows_its_recursion():
  decay, start = 0.9, 1
  exp, _ = _exp(optim__ema_decay=decay, optim__ema_start=start)
  init = state_lib.replica(exp.init_state(), 0).g_params
  expected = jax.tree.map(lambda p: np.asarray(p, np.float64), init)
  for t, (state, _) in enumerate(_steps(exp, 3), start=1):
    p = jax.tree.map(lambda x: np.asarray(x, np.float64), state.g_params)
    d = 0.0 if t <= start else decay
    expected = jax.tree.map(lambda e, q: d * e + (1 - d) * q, expected, p)
    for got, want in zip(jax.tree.leaves(state.g_ema_params), jax.tree.leaves(expected)):
      np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-7)
  # Samples use the EMA: they differ from G's own after the EMA starts averaging.
  assert exp.sampling_params(state) is state.g_ema_params
