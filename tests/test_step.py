"""The update step (step.py) through the one-device reference update of one seed."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import state as state_lib
from gan_jax import step as step_lib
from gan_jax.experiment import Experiment


def _leaves_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _reference(config):
  """(experiment, jitted one-seed one-device update, seed 0's initial state, batch(t))."""
  exp = Experiment(config)
  batch = lambda t: exp.batchers[0].step_batch(t, config.optim.n_critic)
  return exp, jax.jit(exp.reference_update()), state_lib.replica(exp.init_state(), 0), batch


def test_one_update_changes_both_models_and_stays_finite(tiny_config):
  exp, update, state0, batch = _reference(tiny_config)
  g0, d0, v0 = (jax.device_get(x) for x in (state0.g_params, state0.d_params, state0.g_vars))
  state, metrics = update(state0, batch(0))
  assert int(state.step) == 1
  for k in ('d_loss', 'g_loss', 'd_real', 'd_fake', 'd_grad_norm', 'g_grad_norm'):
    assert np.isfinite(float(metrics[k])), k
  assert 0 < float(metrics['d_real']) < 1 and 0 < float(metrics['d_fake']) < 1
  for before, after in ((g0, state.g_params), (d0, state.d_params), (v0, state.g_vars)):
    for x, y in zip(jax.tree.leaves(before), jax.tree.leaves(after)):
      assert np.all(np.isfinite(y))
      assert not np.array_equal(x, y)  # Every kernel, bias, scale and BN statistic moved.


def test_update_is_deterministic(tiny_config):
  _, update, state0, batch = _reference(tiny_config)
  s1, m1 = update(state0, batch(0))
  s2, m2 = update(state0, batch(0))
  assert _leaves_equal(s1, s2) and _leaves_equal(m1, m2)


def test_n_critic_takes_that_many_d_updates(tiny_config):
  tiny_config.optim.n_critic = 3
  exp, update, state0, batch = _reference(tiny_config)
  state, _ = update(state0, batch(0))
  assert exp.step_batch(0)['image'].shape[2] == 3  # (K, S, N, B, H, W, C).
  d_count = [int(x) for x in jax.tree.leaves(state.d_opt_state) if jnp.ndim(x) == 0]
  g_count = [int(x) for x in jax.tree.leaves(state.g_opt_state) if jnp.ndim(x) == 0]
  assert d_count == [3] and g_count == [1]  # Adam's update counts.


@pytest.mark.slow
def test_saturating_loss_gives_weaker_g_gradient_when_d_wins(tiny_config):
  # Train D alone for a few steps so it rejects fakes, then compare G's gradient norms.
  tiny_config.optim.g_lr = 1e-12
  tiny_config.optim.d_lr = 1e-2
  _, update, state, batch = _reference(tiny_config)
  for t in range(15):
    state, m = update(state, batch(t))
  assert float(m['d_fake']) < 0.05
  tiny_config.loss.name = 'non_saturating'
  _, update_ns, _, _ = _reference(tiny_config)
  _, m_ns = update_ns(state, batch(15))
  _, m_sat = update(state, batch(15))
  assert float(m_ns['g_grad_norm']) > 10 * float(m_sat['g_grad_norm'])


def test_stream_tags_are_distinct_fixed_numbers():
  tags = {k: v for k, v in vars(step_lib.Stream).items() if not k.startswith('_')}
  assert len(set(tags.values())) == len(tags) == 13
  assert tags['Z_D'] == 0 and tags['Y_G'] == 10  # Pinned as well by tests/test_golden.py.


@pytest.mark.slow
def test_bfloat16_update_stays_close_to_float32(tiny_config):
  """One update computed in bfloat16 (float32 parameters) against the float32 one: losses
  within 2% (bfloat16 keeps 8 bits of mantissa: ~0.4% per rounding, accumulated over a few
  layers), gradient norms within 5%, and at least 95% of parameters moved the same way."""
  results = {}
  for dtype in ('float32', 'bfloat16'):
    tiny_config.model.dtype = dtype
    exp, update, state0, batch = _reference(tiny_config)
    state, metrics = update(state0, batch(0))
    moves = [np.sign(np.asarray(a) - np.asarray(b)).ravel() for a, b in zip(
        jax.tree.leaves(state.g_params) + jax.tree.leaves(state.d_params),
        jax.tree.leaves(state0.g_params) + jax.tree.leaves(state0.d_params))]
    results[dtype] = (jax.device_get(metrics), np.concatenate(moves))
    if dtype == 'bfloat16':  # The update really computes in bfloat16.
      text = str(jax.make_jaxpr(exp.reference_update())(state0, batch(0)))
      assert 'bf16' in text and 'conv_general_dilated' in text
  (m32, s32), (m16, s16) = results['float32'], results['bfloat16']
  for k in ('d_loss', 'g_loss'):
    np.testing.assert_allclose(m16[k], m32[k], rtol=2e-2, err_msg=k)
  for k in ('d_grad_norm', 'g_grad_norm'):
    np.testing.assert_allclose(m16[k], m32[k], rtol=5e-2, err_msg=k)
  assert np.mean(s16 == s32) > 0.95


@pytest.mark.slow
def test_simultaneous_g_step_reads_d_from_before_the_step(tiny_config):
  # Simultaneous: G's update cannot depend on how far D moved this step (its learning rate);
  # alternating (the default): it does. D's own update is the same in both orders.
  def one_step(simultaneous, d_lr):
    tiny_config.optim.simultaneous, tiny_config.optim.d_lr = simultaneous, d_lr
    _, update, state0, batch = _reference(tiny_config)
    return update(state0, batch(0))[0]
  sim_slow, sim_fast = one_step(True, 1e-4), one_step(True, 1e-1)
  alt_slow, alt_fast = one_step(False, 1e-4), one_step(False, 1e-1)
  assert _leaves_equal(sim_slow.g_params, sim_fast.g_params)
  assert not _leaves_equal(alt_slow.g_params, alt_fast.g_params)
  assert _leaves_equal(sim_fast.d_params, alt_fast.d_params)
  assert not _leaves_equal(sim_fast.g_params, alt_fast.g_params)
