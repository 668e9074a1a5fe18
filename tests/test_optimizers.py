"""Learning-rate schedules, the optimizers of G and D, and the optim section's checks."""
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan_jax import configs
from gan_jax import optimizers
from tests.conftest import load_experiment


def test_learning_rate_schedules_follow_their_formulas():
  config = load_experiment('ring8')
  o = config.optim
  o.schedule, o.warmup_steps, o.decay_steps = 'cosine', 10, 110
  sched = optimizers.lr_schedule(1e-3, o)
  np.testing.assert_allclose([float(sched(t)) for t in (0, 5, 10)], [0.0, 5e-4, 1e-3], rtol=1e-6)
  np.testing.assert_allclose(float(sched(60)), 1e-3 * 0.5 * (1 + np.cos(np.pi * 50 / 100)),
                             rtol=1e-5)
  assert float(sched(110)) == pytest.approx(0.0, abs=1e-12)
  o.schedule, o.warmup_steps = 'linear', 0
  d_sched = optimizers.lr_schedule(1e-3, o, updates_per_step=5)  # D with n_critic 5: 550 updates.
  np.testing.assert_allclose(float(d_sched(275)), 5e-4, rtol=1e-6)
  o.schedule, o.decay_steps = 'constant', 0
  assert optimizers.lr_schedule(1e-3, o) == 1e-3  # Plain float: Adam exactly as before.
  o.schedule = 'cosine'
  with pytest.raises(configs.ConfigError, match='optim.decay_steps'):
    configs.validate(config)


def test_make_optimizers_is_adam_with_each_learning_rate():
  o = configs.base_config().optim
  o.g_lr, o.d_lr, o.b1, o.b2 = 1e-3, 3e-3, 0.0, 0.9
  g_tx, d_tx = optimizers.make_optimizers(o)
  params = {'w': jnp.ones(3)}
  grads = {'w': jnp.array([1.0, -2.0, 0.5])}
  for tx, lr in ((g_tx, 1e-3), (d_tx, 3e-3)):
    want = optax.adam(lr, b1=0.0, b2=0.9)
    got_updates, _ = tx.update(grads, tx.init(params), params)
    want_updates, _ = want.update(grads, want.init(params), params)
    np.testing.assert_array_equal(got_updates['w'], want_updates['w'])


def test_optim_section_defaults_and_problems():
  assert optimizers.defaults().to_dict() == {
      'g_lr': 2e-4, 'd_lr': 2e-4, 'b1': 0.5, 'b2': 0.999, 'n_critic': 1, 'schedule': 'constant',
      'warmup_steps': 0, 'decay_steps': 0, 'ema_decay': 0.0, 'ema_start': 0,
      'simultaneous': False,
      'burnin': {'steps': 0, 'shape': 'cosine', 'lr_factor': 1.0, 'b2_start': 0.0,
                 'gamma_factor': 1.0, 'ema': False}}
  config = configs.base_config()
  assert optimizers.problems(config) == []
  config.optim.schedule, config.optim.warmup_steps, config.optim.decay_steps = 'linear', 10, 10
  config.optim.b2 = 1.0
  assert optimizers.problems(config) == [
      'optim.b2 must be in [0, 1), got 1.0.',
      "optim.schedule='linear' decays to 0 at optim.decay_steps, which must exceed "
      'optim.warmup_steps=10; set it (e.g. to train.num_steps=2000), got 10.']
