"""The character-level convolutional ResNets of Gulrajani et al. 2017 (models/sequence.py)."""
import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from gan_jax import configs
from gan_jax import models
from gan_jax.configs import base_config
from gan_jax.models.sequence import ResBlock1D, SequenceDiscriminator, SequenceGenerator


def _np(tree):
  return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def _perturbed(variables, seed=7, scale=0.1):
  """The variables with every parameter moved by N(0, scale) (non-zero biases)."""
  leaves, treedef = jax.tree.flatten(variables['params'])
  keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
  leaves = [a + scale * jax.random.normal(k, a.shape) for a, k in zip(leaves, keys)]
  return {**variables, 'params': jax.tree.unflatten(treedef, leaves)}


def _conv_same(x_BxLxI, conv):
  """Reference 1-D cross-correlation, 'SAME' padding, with bias: conv = {'kernel': KxIxO, ...}."""
  w, b = conv['kernel'], conv['bias']
  k, length = w.shape[0], x_BxLxI.shape[1]
  left = (k - 1) // 2
  xp = np.pad(x_BxLxI, ((0, 0), (left, k - 1 - left), (0, 0)))
  return sum(xp[:, j:j + length] @ w[j] for j in range(k)) + b


def _block(x, p):
  relu = lambda a: np.maximum(a, 0.0)
  return x + 0.3 * _conv_same(relu(_conv_same(relu(x), p['Conv_0'])), p['Conv_1'])


def _softmax(a):
  e = np.exp(a - a.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _model_config(length_vocab=None):
  config = base_config().model
  config.generator = config.discriminator = 'conv1d_resnet'
  config.g_kwargs.conv1d_resnet.dim = 16
  config.g_kwargs.conv1d_resnet.num_blocks = 2
  config.d_kwargs.conv1d_resnet.dim = 8
  config.d_kwargs.conv1d_resnet.num_blocks = 2
  return config


@pytest.mark.parametrize('length,vocab', [(8, 5), (32, 27)])
def test_shapes_and_g_rows_on_the_simplex(length, vocab):
  config = _model_config()
  g = models.make_generator(config, (length, vocab))
  d = models.make_discriminator(config)
  z = jax.random.normal(jax.random.PRNGKey(0), (3, 100))
  gv = g.init(jax.random.PRNGKey(1), z, train=False)
  for train in (False, True):
    x = g.apply(gv, z, train=train)
    assert x.shape == (3, length, vocab) and x.dtype == jnp.float32
    assert float(x.min()) >= 0.0
    np.testing.assert_allclose(np.asarray(x).sum(-1), 1.0, atol=1e-5)
    assert float(jnp.std(x)) > 0
  one_hot = jax.nn.one_hot(jax.random.randint(jax.random.PRNGKey(2), (3, length), 0, vocab),
                           vocab)
  dv = d.init(jax.random.PRNGKey(3), one_hot, train=False)
  for inputs in (one_hot, x):
    out = d.apply(dv, inputs, train=True)
    assert out.shape == (3,) and out.dtype == jnp.float32


def test_residual_block_is_x_plus_0_3_conv_relu_conv_relu():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 9, 6))
  block = ResBlock1D()
  variables = _perturbed(block.init(jax.random.PRNGKey(1), x, train=False))
  p = _np(variables['params'])
  assert jax.tree.map(np.shape, p) == {'Conv_0': {'kernel': (5, 6, 6), 'bias': (6,)},
                                       'Conv_1': {'kernel': (5, 6, 6), 'bias': (6,)}}
  want = _block(np.asarray(x, np.float64), p)
  np.testing.assert_allclose(block.apply(variables, x, train=True), want, rtol=1e-4, atol=1e-5)


def test_g_and_d_compute_the_paper_s_layers():
  """G: dense -> (B, L, dim), blocks, kernel-1 conv, softmax; D: kernel-1 conv, blocks, flatten,
  dense; against a numpy reference from the modules' parameters."""
  length, vocab, dim = 7, 5, 6
  z = jax.random.normal(jax.random.PRNGKey(0), (3, 4))
  g = SequenceGenerator(output_shape=(length, vocab), dim=dim, num_blocks=2)
  gp = _perturbed(g.init(jax.random.PRNGKey(1), z, train=False))
  p = _np(gp['params'])
  h = (np.asarray(z, np.float64) @ p['Dense_0']['kernel'] + p['Dense_0']['bias']).reshape(
      3, length, dim)
  for i in range(2):
    h = _block(h, p[f'ResBlock1D_{i}'])
  want = _softmax(_conv_same(h, p['Conv_0']))
  x = g.apply(gp, z, train=True)
  np.testing.assert_allclose(x, want, rtol=1e-4, atol=1e-6)

  d = SequenceDiscriminator(dim=dim, num_blocks=2)
  dp = _perturbed(d.init(jax.random.PRNGKey(2), x, train=False))
  q = _np(dp['params'])
  h = _conv_same(np.asarray(x, np.float64), q['Conv_0'])
  for i in range(2):
    h = _block(h, q[f'ResBlock1D_{i}'])
  want = (h.reshape(3, length * dim) @ q['Dense_0']['kernel'] + q['Dense_0']['bias'])[:, 0]
  np.testing.assert_allclose(d.apply(dp, x, train=True), want, rtol=1e-4, atol=1e-5)


def test_gumbel_eval_is_the_softmax_and_train_adds_noise():
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 8))
  kwargs = dict(output_shape=(6, 5), dim=8, num_blocks=1)
  soft = SequenceGenerator(**kwargs)
  gumbel = SequenceGenerator(output='gumbel', **kwargs)
  variables = soft.init(jax.random.PRNGKey(1), z, train=False)
  assert jax.tree.map(jnp.shape, gumbel.init(jax.random.PRNGKey(1), z, train=False)) == \
      jax.tree.map(jnp.shape, variables)
  p = soft.apply(variables, z, train=False)
  np.testing.assert_array_equal(gumbel.apply(variables, z, train=False), p)
  np.testing.assert_array_equal(soft.apply(variables, z, train=True), p)
  draw = lambda seed: gumbel.apply(variables, z, train=True,
                                   rngs={'dropout': jax.random.PRNGKey(seed)})
  x = draw(2)
  assert float(x.min()) >= 0.0
  np.testing.assert_allclose(np.asarray(x).sum(-1), 1.0, atol=1e-5)
  assert np.abs(np.asarray(x) - np.asarray(p)).max() > 0.05
  np.testing.assert_array_equal(draw(2), x)  # A pure function of the rng ...
  assert not np.allclose(draw(3), x)  # ... which it draws its noise from.
  with pytest.raises(Exception, match='dropout'):
    gumbel.apply(variables, z, train=True)
  # Differentiable in the parameters (the point of the relaxation).
  grads = jax.grad(lambda v: jnp.sum(gumbel.apply(v, z, train=True, rngs={
      'dropout': jax.random.PRNGKey(2)}) * jnp.arange(5.0)))(variables)
  assert all(np.isfinite(a).all() for a in jax.tree.leaves(grads))
  assert float(jnp.abs(grads['params']['Dense_0']['kernel']).max()) > 0


@pytest.mark.slow
def test_cold_gumbel_rows_are_one_hot_samples_of_the_softmax():
  """At gumbel_temperature 1e-3 each row is (nearly) the one-hot of argmax(logits + Gumbel),
  whose frequencies over draws for one z are softmax(logits): 4000 draws at one position."""
  z = jax.random.normal(jax.random.PRNGKey(0), (1, 8))
  kwargs = dict(output_shape=(4, 5), dim=8, num_blocks=1)
  soft = SequenceGenerator(**kwargs)
  cold = SequenceGenerator(output='gumbel', gumbel_temperature=1e-3, **kwargs)
  variables = soft.init(jax.random.PRNGKey(1), z, train=False)
  # A spread distribution (uniform-ish at init would not tell Gumbel noise from others).
  params = flax.core.unfreeze(variables['params'])
  params['Conv_0']['bias'] = jnp.log(jnp.array([0.5, 0.25, 0.15, 0.07, 0.03]))
  params['Conv_0']['kernel'] = 0.1 * params['Conv_0']['kernel']
  variables = {'params': params}
  p = np.asarray(soft.apply(variables, z, train=False)[0, 0], np.float64)
  p = p / p.sum()  # float32 rounding.
  assert p.min() > 0.01 and p.max() > 0.35
  n = 4000
  x = np.asarray(cold.apply(variables, jnp.repeat(z, n, axis=0), train=True,
                            rngs={'dropout': jax.random.PRNGKey(5)}))
  assert x.shape == (n, 4, 5)
  assert np.mean(x.max(-1) > 0.99) > 0.99  # Nearly one-hot rows.
  counts = np.bincount(x[:, 0].argmax(-1), minlength=5)
  assert np.abs(counts / n - p).max() < 0.03, (counts / n, p)
  assert stats.chisquare(counts, n * p).pvalue > 1e-3, (counts / n, p)


def test_registry_builds_them_and_validation_names_the_outputs():
  config = _model_config()
  config.g_kwargs.conv1d_resnet.output = 'gumbel'
  g = models.make_generator(config, [12, 7])
  d = models.make_discriminator(config)
  assert isinstance(g, SequenceGenerator) and isinstance(d, SequenceDiscriminator)
  assert (g.output_shape, g.dim, g.num_blocks, g.output) == ((12, 7), 16, 2, 'gumbel')
  assert (d.dim, d.num_blocks) == (8, 2)
  assert models.GENERATORS['conv1d_resnet'].CHOICES == {'output': ('softmax', 'gumbel')}
  assert not models.GENERATORS['conv1d_resnet'].CONDITIONS_THROUGH_NORM
  assert g.TAKES_TOKENS and d.TAKES_TOKENS  # Sequence models, unlike the image ones.
  assert not any(getattr(c, 'TAKES_TOKENS', False) for n, c in models.GENERATORS.items()
                 if n != 'conv1d_resnet')
  assert base_config().model.g_kwargs.conv1d_resnet.to_dict() == {
      'dim': 512, 'num_blocks': 5, 'output': 'softmax', 'gumbel_temperature': 1.0,
      'gumbel_anneal_steps': 0, 'residual_scale': 0.3, 'spectral_norm': False,
      'sn_power_iterations': 1}
  assert base_config().model.d_kwargs.conv1d_resnet.to_dict() == {
      'dim': 512, 'num_blocks': 5, 'residual_scale': 0.3, 'spectral_norm': False,
      'sn_power_iterations': 1}
  full = base_config()
  full.model.generator = full.model.discriminator = 'conv1d_resnet'
  configs.validate(full)
  full.model.g_kwargs.conv1d_resnet.output = 'bogus'
  with pytest.raises(configs.ConfigError,
                     match=r"conv1d_resnet.output 'bogus'; valid: \['softmax', 'gumbel'\]"):
    configs.validate(full)
  local = base_config()
  models.runlocal(local.model)
  assert local.model.g_kwargs.conv1d_resnet.dim == local.model.d_kwargs.conv1d_resnet.dim == 16
  assert local.model.g_kwargs.conv1d_resnet.num_blocks == 1


def test_invalid_shapes_and_temperature_raise():
  z = jnp.zeros((2, 4))
  with pytest.raises(ValueError, match=r'output_shape must be \(length, vocabulary size\)'):
    SequenceGenerator(output_shape=(8, 8, 1), dim=4, num_blocks=1).init(
        jax.random.PRNGKey(0), z, train=False)
  with pytest.raises(ValueError, match='gumbel_temperature must be > 0'):
    SequenceGenerator(output_shape=(3, 4), dim=4, output='gumbel', gumbel_temperature=0.0).init(
        jax.random.PRNGKey(0), z, train=False)
  with pytest.raises(ValueError, match=r'takes sequences \(B, L, V\)'):
    SequenceDiscriminator(dim=4, num_blocks=1).init(jax.random.PRNGKey(0),
                                                    jnp.zeros((2, 8, 8, 1)), train=False)


def _kernel_path(sigma_path: str) -> str:
  parts = [p for p in sigma_path.split('/')[:-1] if not p.startswith('SpectralNorm_')]
  return '/'.join(parts)


def test_d_spectral_norm_estimates_each_kernel_s_largest_singular_value():
  d = SequenceDiscriminator(dim=4, num_blocks=1, spectral_norm=True, sn_power_iterations=5)
  x = jax.nn.one_hot(jnp.arange(12).reshape(2, 6) % 5, 5)
  variables = d.init(jax.random.PRNGKey(1), x, train=False)
  params, batch_stats = variables['params'], variables['batch_stats']
  step = jax.jit(lambda s: d.apply({'params': params, 'batch_stats': s}, x, train=True,
                                   mutable=['batch_stats'])[1]['batch_stats'])
  for _ in range(40):
    batch_stats = step(batch_stats)
  kernels = {k: v for k, v in flax.traverse_util.flatten_dict(params, sep='/').items()
             if k.endswith('kernel')}
  sigmas = {_kernel_path(k): v for k, v in
            flax.traverse_util.flatten_dict(batch_stats, sep='/').items() if k.endswith('/sigma')}
  assert sorted(kernels) == sorted(sigmas) and len(kernels) == 1 + 2 + 1
  for path, kernel in kernels.items():
    k = np.asarray(kernel, np.float64)
    want = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
    np.testing.assert_allclose(float(sigmas[path]), want, rtol=1e-3, err_msg=path)


def test_conditional_g_and_d():
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 8))
  labels = jnp.array([0, 1, 2, 0])
  g = SequenceGenerator(output_shape=(5, 6), dim=8, num_blocks=1, num_classes=3)
  gv = g.init(jax.random.PRNGKey(1), z, train=False, labels=labels)
  assert gv['params']['Dense_0']['kernel'].shape == (8 + 3, 5 * 8)
  x = g.apply(gv, z, train=False, labels=labels)
  assert not np.allclose(x, g.apply(gv, z, train=False, labels=(labels + 1) % 3))
  for conditioning in ('projection', 'acgan'):
    d = SequenceDiscriminator(dim=4, num_blocks=1, num_classes=3, conditioning=conditioning)
    dv = d.init(jax.random.PRNGKey(2), x, train=False, labels=labels)
    out = d.apply(dv, x, train=True, labels=labels)
    if conditioning == 'acgan':
      assert out[0].shape == (4,) and out[1].shape == (4, 3)
    else:
      assert out.shape == (4,)


def test_annealed_gumbel_temperature_follows_relgan_s_exponential_schedule():
  # y = softmax((l + g) / tau), so tau * (log y_i - log y_0) = (l_i + g_i) - (l_0 + g_0) is the
  # same at every temperature for the same noise: it recovers tau_t = 0.25 ** (t / 100).
  g = SequenceGenerator(output_shape=(3, 5), dim=8, num_blocks=1, output='gumbel',
                        gumbel_temperature=0.25, gumbel_anneal_steps=100)
  z = jax.random.normal(jax.random.PRNGKey(0), (2, 4))
  variables = g.init(jax.random.PRNGKey(1), z, train=False)
  assert variables['schedule']['step'] == 0.0

  def logit_gaps(step):
    v = {**variables, 'schedule': {'step': jnp.float32(step)}}
    y = g.apply(v, z, train=True, rngs={'dropout': jax.random.PRNGKey(2)})
    logy = np.log(np.asarray(y, np.float64))
    return logy[..., 1:] - logy[..., :1]
  at_start = logit_gaps(0)  # tau = 1.
  for step, tau in ((50, 0.5), (100, 0.25), (400, 0.25)):
    np.testing.assert_allclose(tau * logit_gaps(step), at_start, rtol=2e-3, atol=2e-3)
  y_eval = g.apply(variables, z, train=False)  # Evaluation: the plain softmax, any step.
  y_softmax = SequenceGenerator(output_shape=(3, 5), dim=8, num_blocks=1).apply(
      {'params': variables['params']}, z, train=False)
  np.testing.assert_allclose(y_eval, y_softmax, rtol=1e-6)
