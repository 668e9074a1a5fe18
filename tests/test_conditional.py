"""Class conditioning: conditional batch norm, projection and ACGAN heads, conditional runs."""
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from gan_jax import configs
from gan_jax import sampling
from gan_jax import state as state_lib
from gan_jax import train
from gan_jax.experiment import Experiment
from gan_jax.models import layers
from tests.conftest import load_experiment

X = jnp.asarray(np.random.default_rng(0).normal(size=(6, 3, 3, 4)), jnp.float32)
Y = jnp.array([0, 2, 1, 2, 0, 1])


def test_conditional_batch_norm_scales_and_shifts_per_class():
  cbn = layers.ConditionalBatchNorm(num_classes=3, epsilon=1e-3)
  variables = cbn.init(jax.random.PRNGKey(0), X, Y, True)
  rng = np.random.default_rng(1)
  gamma, beta = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
  params = {'scale': {'embedding': jnp.asarray(gamma, jnp.float32)},
            'offset': {'embedding': jnp.asarray(beta, jnp.float32)}}
  out, _ = cbn.apply({'params': params, 'batch_stats': variables['batch_stats']}, X, Y, True,
                     mutable=['batch_stats'])
  x = np.asarray(X, np.float64)
  mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  want = (x - mean) / np.sqrt(var + 1e-3) * gamma[Y][:, None, None] + beta[Y][:, None, None]
  np.testing.assert_allclose(np.asarray(out), want, rtol=1e-4, atol=1e-5)


class _Head(nn.Module):
  conditioning: str

  @nn.compact
  def __call__(self, h, labels):
    return layers.d_output(h, labels, 3, self.conditioning, lambda layer: layer)


def test_projection_and_acgan_heads():
  h = X.reshape(6, -1)
  proj = _Head('projection')
  variables = proj.init(jax.random.PRNGKey(0), h, Y)
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), variables['params'])
  want = (np.asarray(h, np.float64) @ p['Dense_0']['kernel'])[:, 0] + p['Dense_0']['bias'][0] + (
      p['projection']['embedding'][np.asarray(Y)] * np.asarray(h, np.float64)).sum(-1)
  np.testing.assert_allclose(np.asarray(proj.apply(variables, h, Y)), want, rtol=1e-4,
                             atol=1e-5)
  acgan = _Head('acgan')
  variables = acgan.init(jax.random.PRNGKey(0), h, Y)
  logits, class_logits = acgan.apply(variables, h, Y)
  c = variables['params']['classifier']
  assert logits.shape == (6,) and class_logits.shape == (6, 3)
  np.testing.assert_allclose(np.asarray(class_logits), np.asarray(h @ c['kernel'] + c['bias']),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize('conditioning', ['projection', 'acgan'])
def test_conditional_run_trains_and_draws_a_row_per_class(conditioning, tmp_path):
  config = load_experiment('dcgan_mnist', 'runlocal')
  config.model.conditional = True
  config.model.d_conditioning = conditioning
  config.eval.features = 'none'
  exp = Experiment(config)
  assert exp.num_classes == 10 and sampling.grid_shape(exp.num_classes) == (10, 8)
  assert exp.batchers[0].step_batch(0, 1)['label'].tolist() == [
      exp.dataset.labels[exp.batchers[0].indices(0)].tolist()]
  state = train.train_and_evaluate(config, str(tmp_path / 'run'))
  grid = np.asarray(Image.open(tmp_path / 'run' / 'samples' / 'step_0000004.png'))
  assert grid.shape[0] == 10 * 30 + 2  # Ten rows, one per digit class.
  lines = [json.loads(l) for l in open(tmp_path / 'run' / 'metrics.jsonl')]
  if conditioning == 'acgan':  # Two cross-entropies of a near-uniform 10-way classifier.
    assert abs(lines[0]['d_class_loss'] - 2 * np.log(10)) < 0.3 * 2 * np.log(10)
  else:
    assert 'd_class_loss' not in lines[0]
  labels = jnp.arange(8) % 10
  z = jnp.zeros((8, config.model.latent_dim))
  params, g_vars = state_lib.replica((state.g_params, state.g_vars), 0)
  out = exp.generator.apply({'params': params, **g_vars}, z, train=False, labels=labels)
  assert not np.allclose(np.asarray(out[0]), np.asarray(out[1]))  # Same z, other class.


def test_conditional_errors():
  config = load_experiment('ring8', 'runlocal')
  config.model.conditional = True
  config.model.pack = 2
  with pytest.raises(configs.ConfigError, match='pack mixes classes'):
    configs.validate(config)
  config.model.pack = 1
  config.model.d_conditioning = 'concat'
  with pytest.raises(configs.ConfigError, match="model.d_conditioning 'concat'"):
    configs.validate(config)
