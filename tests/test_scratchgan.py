"""ScratchGAN's pieces (gan_jax/applications/text/scratchgan.py) against the reference's own
formulas: returns by its explicit double loop, the baseline and REINFORCE gradient in closed form,
D's loss by hand, the position signal, and D's masking and shapes."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.applications.text import scratchgan as sg


def test_discounted_returns_match_the_reference_s_double_loop():
  r = np.random.default_rng(0).uniform(-1, 1, (3, 7)).astype(np.float32)
  want = np.zeros_like(r)
  for t in range(7):  # [ref] losses.py: an explicit loop over the positions after t.
    for s in range(t, 7):
      want[:, t] += sg.DISCOUNT ** (s - t) * r[:, s]
  np.testing.assert_allclose(sg.discounted_returns(jnp.asarray(r)), want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(sg.discounted_returns(jnp.asarray(r), 0.0), r)  # No look-ahead.


def test_rewards_baseline_and_the_reinforce_gradient():
  assert float(sg.rewards(jnp.float32(0.0))) == 0.0  # A masked position earns nothing.
  assert float(sg.rewards(jnp.float32(math.log(3)))) == pytest.approx(0.5)  # 2 * 3/4 - 1.
  returns = jnp.array([[1.0, 2.0], [3.0, 6.0]])
  b = sg.update_baseline(1.0, returns)
  assert float(b) == pytest.approx(0.08 * 1.0 + 0.92 * 3.0)
  mask = jnp.array([[1.0, 1.0], [1.0, 0.0]])
  logp = jnp.log(jnp.array([[0.5, 0.25], [0.2, 0.9]]))
  grad = jax.grad(lambda lp: sg.g_loss(lp, returns, b, mask))(logp)
  # d/dlogp of -mean(A * logp * mask) = -(R - b) * mask / (B * L); the baseline gets none.
  np.testing.assert_allclose(grad, -(returns - b) * mask / 4, rtol=1e-6)
  assert float(jax.grad(lambda bb: sg.g_loss(logp, returns, bb, mask))(b)) == 0.0


def test_d_loss_by_hand():
  real, fake = jnp.array([[2.0, 0.0]]), jnp.array([[-1.0, 0.0]])
  ce = lambda x, y: -(y * math.log(1 / (1 + math.exp(-x))) +  # noqa: E731
                      (1 - y) * math.log(1 - 1 / (1 + math.exp(-x))))
  want = (0.5 * ce(2.0, 1) + 0.5 * ce(-1.0, 0) + 0.5 * ce(0.0, 1) + 0.5 * ce(0.0, 0)) / 2
  assert float(sg.d_loss(real, fake)) == pytest.approx(want, rel=1e-6)


def test_position_features_are_the_reference_s_cosines():
  f = np.asarray(sg.position_features(52))
  periods = np.exp(np.linspace(math.log(2), math.log(52), 8))
  phases = np.linspace(0, 2, 8)
  t = 5
  np.testing.assert_allclose(f[t], np.cos(np.pi * (t / periods + phases)), rtol=1e-5, atol=1e-6)
  assert f.shape == (52, 8)


def test_discriminator_gives_a_logit_per_token_zero_after_the_end():
  d = sg.SequenceDiscriminator(vocab_size=5, end_id=4, embed=6, hidden=8)
  tokens = jnp.array([[1, 2, 4, 3, 0], [0, 1, 2, 3, 1]], jnp.int32)
  params = d.init({'params': jax.random.PRNGKey(0), 'dropout': jax.random.PRNGKey(1)}, tokens)
  logits = d.apply(params, tokens, train=False)
  assert logits.shape == (2, 5)
  assert np.all(np.asarray(logits[0, 3:]) == 0.0)  # After the end symbol (position 2).
  assert np.all(np.asarray(logits[0, :3]) != 0.0) and np.all(np.asarray(logits[1]) != 0.0)
  # Dropout on the embedding table changes the logits in training, not in evaluation.
  drop = d.apply(params, tokens, train=True, rngs={'dropout': jax.random.PRNGKey(2)})
  assert not np.allclose(drop, logits)
  np.testing.assert_array_equal(d.apply(params, tokens, train=False), logits)
