import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import models
from gan_jax import sampling
from gan_jax.configs import base_config


@pytest.mark.parametrize('name,shape,sn', [('mlp', (2,), False), ('dcgan', (8, 8, 1), False),
                                           ('dcgan', (8, 8, 1), True)])
def test_standing_stats_make_eval_mode_equal_training_mode_on_their_batch(name, shape, sn):
  """Standing statistics measured on a batch z are that batch's statistics, so G in evaluation
  mode with them reproduces G in training mode on z (which normalises by the batch itself),
  whatever momentum each batch-norm layer uses; the first layer's mean is the mean of its input."""
  config = base_config().model
  config.generator = name
  config.g_kwargs.mlp.norm = 'batch'
  config.g_kwargs.mlp.hidden = (16, 16)
  config.g_kwargs.dcgan.base_features = 8
  config.g_kwargs.dcgan.spectral_norm = sn  # Its vectors share the batch_stats collection.
  g = models.make_generator(config, shape)
  z = jax.random.normal(jax.random.PRNGKey(0), (64, config.latent_dim))
  variables = g.init(jax.random.PRNGKey(1), z, train=False)
  params, g_vars = variables['params'], {'batch_stats': variables['batch_stats']}
  params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.PRNGKey(2), p.shape),
                        params)
  standing = sampling.standing_stats(g, params, g_vars, z)
  trained, _ = g.apply({'params': params, **g_vars}, z, train=True, mutable=['batch_stats'])
  evaluated = g.apply({'params': params, **standing}, z, train=False)
  if sn:  # Spectral norm's vectors (same collection) are kept; the samples stay finite.
    kept = lambda t: {k: v for k, v in t['batch_stats'].items() if k.startswith('SpectralNorm')}
    assert kept(standing) and jax.tree.all(jax.tree.map(np.array_equal, kept(standing),
                                                        kept(g_vars)))
    assert np.all(np.isfinite(evaluated))
    return
  running = g.apply({'params': params, **g_vars}, z, train=False)
  np.testing.assert_allclose(evaluated, trained, atol=2e-4)
  assert np.abs(np.asarray(running) - np.asarray(trained)).max() > 1e-2  # It mattered.
  if name == 'mlp':
    h = z @ params['Dense_0']['kernel']  # The first layer has no bias before its batch norm.
    first = standing['batch_stats']['BatchNorm_0']
    np.testing.assert_allclose(first['mean'], h.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(first['var'], h.var(0), rtol=1e-3, atol=1e-5)


def test_standing_stats_leave_a_generator_without_batch_norm_as_it_is():
  config = base_config().model
  config.generator = 'mlp'  # norm 'none' by default.
  g = models.make_generator(config, (2,))
  z = jnp.ones((4, config.latent_dim))
  params = g.init(jax.random.PRNGKey(0), z, train=False)['params']
  assert sampling.standing_stats(g, params, {}, z) == {}
