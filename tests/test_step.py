import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import train


def _leaves_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_one_update_changes_both_models_and_stays_finite(tiny_config):
  exp = train.Experiment(tiny_config)
  state0 = exp.init_state()
  g0, d0, v0 = (jax.device_get(x) for x in (state0.g_params, state0.d_params, state0.g_vars))
  update = jax.jit(exp.update_fn())
  state, metrics = update(state0, exp.step_batch(0))
  assert int(state.step) == 1
  for k in ('d_loss', 'g_loss', 'd_real', 'd_fake', 'd_grad_norm', 'g_grad_norm'):
    assert np.isfinite(float(metrics[k])), k
  assert 0 < float(metrics['d_real']) < 1 and 0 < float(metrics['d_fake']) < 1
  for before, after in ((g0, state.g_params), (d0, state.d_params), (v0, state.g_vars)):
    for x, y in zip(jax.tree.leaves(before), jax.tree.leaves(after)):
      assert np.all(np.isfinite(y))
      assert not np.array_equal(x, y)  # Every kernel, bias, scale and BN statistic moved.


def test_update_is_deterministic(tiny_config):
  exp = train.Experiment(tiny_config)
  update = jax.jit(exp.update_fn())
  s1, m1 = update(exp.init_state(), exp.step_batch(0))
  s2, m2 = update(exp.init_state(), exp.step_batch(0))
  assert _leaves_equal(s1, s2) and _leaves_equal(m1, m2)


def test_n_critic_takes_that_many_d_updates(tiny_config):
  # With G's learning rate ~0, D's Adam state counts its updates: n_critic per step.
  tiny_config.optim.n_critic = 3
  exp = train.Experiment(tiny_config)
  state, _ = jax.jit(exp.update_fn())(exp.init_state(), exp.step_batch(0))
  assert exp.step_batch(0)['image'].shape[0] == 3
  d_count = [int(x) for x in jax.tree.leaves(state.d_opt_state) if jnp.ndim(x) == 0]
  g_count = [int(x) for x in jax.tree.leaves(state.g_opt_state) if jnp.ndim(x) == 0]
  assert d_count == [3] and g_count == [1]


def test_saturating_loss_gives_weaker_g_gradient_when_d_wins(tiny_config):
  # Train D alone for a few steps so it rejects fakes, then compare G's gradient norms.
  tiny_config.optim.g_lr = 1e-12
  tiny_config.optim.d_lr = 1e-2
  exp = train.Experiment(tiny_config)
  update = jax.jit(exp.update_fn())
  state = exp.init_state()
  for t in range(15):
    state, m = update(state, exp.step_batch(t))
  assert float(m['d_fake']) < 0.05
  tiny_config.loss.name = 'non_saturating'
  update_ns = jax.jit(train.Experiment(tiny_config).update_fn())
  _, m_ns = update_ns(state, exp.step_batch(15))
  _, m_sat = update(state, exp.step_batch(15))
  assert float(m_ns['g_grad_norm']) > 10 * float(m_sat['g_grad_norm'])


def test_bfloat16_update_stays_close_to_float32(tiny_config):
  """One update computed in bfloat16 (float32 parameters) against the float32 one: losses
  within 2% (bfloat16 keeps 8 bits of mantissa: ~0.4% per rounding, accumulated over a few
  layers), gradient norms within 5%, and at least 95% of parameters moved the same way."""
  from gan_jax import train
  results = {}
  for dtype in ('float32', 'bfloat16'):
    tiny_config.model.dtype = dtype
    exp = train.Experiment(tiny_config)
    update = jax.jit(exp.single_device_update_fn())
    state0 = exp.init_seed_state(0)
    state, metrics = update(state0, exp.step_batch(0))
    moves = [np.sign(np.asarray(a) - np.asarray(b)).ravel() for a, b in zip(
        jax.tree.leaves(state.g_params) + jax.tree.leaves(state.d_params),
        jax.tree.leaves(state0.g_params) + jax.tree.leaves(state0.d_params))]
    results[dtype] = (jax.device_get(metrics), np.concatenate(moves))
    if dtype == 'bfloat16':  # The update really computes in bfloat16.
      text = str(jax.make_jaxpr(exp.single_device_update_fn())(state0, exp.step_batch(0)))
      assert 'bf16' in text and 'conv_general_dilated' in text
  (m32, s32), (m16, s16) = results['float32'], results['bfloat16']
  for k in ('d_loss', 'g_loss'):
    np.testing.assert_allclose(m16[k], m32[k], rtol=2e-2, err_msg=k)
  for k in ('d_grad_norm', 'g_grad_norm'):
    np.testing.assert_allclose(m16[k], m32[k], rtol=5e-2, err_msg=k)
  assert np.mean(s16 == s32) > 0.95
