"""SpaceToDepthConv against flax.linen.Conv (the reference), alone, under spectral norm, and as
SNGANDiscriminator's strided_conv='space_to_depth'."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import models
from gan_jax.configs import base_config
from gan_jax.models.layers import SpaceToDepthConv, space_to_depth, spectral
from gan_jax.models.sngan import SNGANDiscriminator

TOL = dict(atol=1e-5, rtol=1e-5)
GRAD_TOL = dict(atol=1e-4, rtol=1e-4)
# Inputs and test parameters come from numpy: compiling JAX's random number generator for each
# new shape takes seconds on the CPU. Initial values are compared once, in `d_inits`.


def _normal(seed, shape, scale=1.0):
  return jnp.asarray(scale * np.random.RandomState(seed).standard_normal(shape), jnp.float32)


def _redraw(variables, seed=0):
  """`variables` with every leaf redrawn from N(0, 1) (a nonzero bias too), same shapes."""
  leaves, tree = jax.tree.flatten(variables)
  return jax.tree.unflatten(tree, [_normal(seed + i, l.shape) for i, l in enumerate(leaves)])


def _assert_trees_equal(a, b):
  """Same structure (names), shapes and values, exactly."""
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    assert x.shape == y.shape and x.dtype == y.dtype
    np.testing.assert_array_equal(x, y)


def test_space_to_depth_stacks_phases_on_channels_in_documented_order():
  x = jnp.arange(2 * 4 * 6 * 3, dtype=jnp.float32).reshape(2, 4, 6, 3)
  s = space_to_depth(x, 2, 3)
  assert s.shape == (2, 2, 2, 18)
  for rh in range(2):
    for rw in range(3):
      c0 = (rh * 3 + rw) * 3
      np.testing.assert_array_equal(s[..., c0:c0 + 3], x[:, rh::2, rw::3, :])


@pytest.mark.parametrize('hw,k,s,pad', [
    ((32, 32), (4, 4), (2, 2), ((1, 1), (1, 1))),  # sngan_cnn32's strided D layers ...
    ((16, 16), (4, 4), (2, 2), ((1, 1), (1, 1))),
    ((8, 8), (4, 4), (2, 2), ((1, 1), (1, 1))),
    ((28, 28), (5, 5), (2, 2), ((2, 2), (2, 2))),
    ((28, 28), (5, 5), (2, 2), ((1, 2), (1, 2))),  # 'SAME' written out (dcgan28).
    ((28, 28), (5, 5), (2, 2), 'SAME'),
    ((14, 14), (5, 5), (2, 2), 'SAME'),
    ((7, 7), (4, 4), (2, 2), ((1, 1), (1, 1))),  # odd sizes: trailing rows trimmed ...
    ((9, 9), (5, 5), (2, 2), ((2, 2), (2, 2))),  # ... or one zero row added.
    ((9, 7), (3, 3), (2, 2), 'SAME'),
    ((11, 9), (5, 3), (3, 2), ((2, 1), (0, 2))),  # unequal strides, kernel % stride != 0.
    ((9, 9), (4, 4), (2, 2), 'VALID'),
    ((7, 7), (3, 3), (1, 1), ((1, 1), (1, 1))),  # stride 1: the plain convolution.
    ((7, 8), (3, 2), (1, 1), 'SAME'),
])
def test_equals_flax_conv_outputs_and_gradients(hw, k, s, pad):
  x = _normal(0, (2, *hw, 3))
  ref = nn.Conv(5, k, s, padding=pad)
  mine = SpaceToDepthConv(5, k, s, padding=pad)
  shapes = jax.eval_shape(lambda: ref.init(jax.random.PRNGKey(1), x))
  assert jax.eval_shape(lambda: mine.init(jax.random.PRNGKey(1), x)) == shapes
  params = _redraw(shapes)
  loss = lambda m: lambda p, x: jnp.sum(m.apply(p, x) ** 2)
  both = jax.jit(lambda p, x: [(m.apply(p, x), jax.grad(loss(m), argnums=(0, 1))(p, x))
                               for m in (mine, ref)])
  (y, g_mine), (y_ref, g_ref) = both(params, x)
  assert y.shape == y_ref.shape
  np.testing.assert_allclose(y, y_ref, **TOL)
  assert jax.tree.structure(g_mine) == jax.tree.structure(g_ref)
  for a, b in zip(jax.tree.leaves(g_mine), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, **GRAD_TOL)


def test_an_int_stride_is_both_like_flax_and_an_int_kernel_is_refused():
  x = _normal(0, (2, 9, 9, 3))
  ref, mine = nn.Conv(4, (3, 3), 2, padding='SAME'), SpaceToDepthConv(4, (3, 3), 2, padding='SAME')
  params = _redraw(jax.eval_shape(lambda: ref.init(jax.random.PRNGKey(1), x)))
  np.testing.assert_allclose(mine.apply(params, x), ref.apply(params, x), **TOL)
  with pytest.raises(ValueError, match=r'kernel_size as a pair \(KH, KW\), got 3'):
    SpaceToDepthConv(4, 3, 2).init(jax.random.PRNGKey(1), x)
  with pytest.raises(ValueError, match='strides must be a positive int or a pair'):
    SpaceToDepthConv(4, (3, 3), (2, 2, 2)).init(jax.random.PRNGKey(1), x)


def test_without_bias_and_in_bfloat16_like_flax():
  x = _normal(0, (2, 16, 16, 4))
  ref = nn.Conv(6, (4, 4), (2, 2), padding=1, use_bias=False, dtype=jnp.bfloat16)
  mine = SpaceToDepthConv(6, (4, 4), (2, 2), padding=1, use_bias=False, dtype=jnp.bfloat16)
  shapes = jax.eval_shape(lambda: ref.init(jax.random.PRNGKey(1), x))
  assert jax.eval_shape(lambda: mine.init(jax.random.PRNGKey(1), x)) == shapes
  params = _redraw(shapes)
  y, y_ref = jax.jit(lambda p, x: (mine.apply(p, x), ref.apply(p, x)))(params, x)
  assert y.dtype == y_ref.dtype == jnp.bfloat16
  np.testing.assert_allclose(y.astype(jnp.float32), y_ref.astype(jnp.float32), atol=0.1, rtol=0.05)


class _SpectralConv(nn.Module):
  """One spectrally normalised 4x4 stride-2 conv of class `conv`, as the discriminators wrap it."""
  conv: type
  train: bool

  @nn.compact
  def __call__(self, x):
    layer = self.conv(5, (4, 4), (2, 2), padding=((1, 1), (1, 1)), name='conv')
    return spectral(True, self.train)(layer)(x)


def test_spectral_norm_normalises_it_like_flax_conv():
  x = _normal(0, (2, 16, 16, 3))
  for train in (True, False):
    ref, mine = _SpectralConv(nn.Conv, train), _SpectralConv(SpaceToDepthConv, train)
    shapes = jax.eval_shape(lambda: ref.init(jax.random.PRNGKey(1), x))
    assert jax.eval_shape(lambda: mine.init(jax.random.PRNGKey(1), x)) == shapes
    variables = _redraw(shapes)
    out = jax.jit(lambda v, x: [m.apply(v, x, mutable=['batch_stats']) for m in (mine, ref)])
    (y, stats), (y_ref, stats_ref) = out(variables, x)
    np.testing.assert_allclose(y, y_ref, **TOL)
    assert jax.tree.structure(stats) == jax.tree.structure(stats_ref)
    for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(stats_ref)):
      np.testing.assert_allclose(a, b, **TOL)
    sigma = stats['batch_stats']['SpectralNorm_0']['conv/kernel/sigma']
    # The power iteration (and sigma) advance in training only.
    assert (sigma != variables['batch_stats']['SpectralNorm_0']['conv/kernel/sigma']) == train


# The names flax's auto-naming gave SNGANDiscriminator's layers before `strided_conv` existed.
D_PARAM_NAMES = [f'Conv_{i}' for i in range(7)] + ['Dense_0']
D_INPUT = (2, 32, 32, 3)


def _d(spectral_norm, choice):
  return SNGANDiscriminator(base_features=4, spectral_norm=spectral_norm, strided_conv=choice)


@pytest.fixture(scope='module')
def d_inits():
  """(spectral_norm, strided_conv) -> D.init(PRNGKey(1), ...), every pair in one program."""
  d = {(sn, c): _d(sn, c) for sn in (False, True) for c in ('direct', 'space_to_depth')}
  init = lambda x: {k: m.init(jax.random.PRNGKey(1), x, train=False) for k, m in d.items()}
  return jax.jit(init)(_normal(0, D_INPUT))


@pytest.mark.slow
@pytest.mark.parametrize('spectral_norm', [False, True])
def test_discriminator_choices_have_identical_params_and_initial_values(d_inits, spectral_norm):
  direct = d_inits[spectral_norm, 'direct']
  _assert_trees_equal(d_inits[spectral_norm, 'space_to_depth'], direct)
  assert sorted(direct['params']) == D_PARAM_NAMES
  if spectral_norm:
    assert sorted(direct['batch_stats']) == [f'SpectralNorm_{i}' for i in range(8)]
    assert sorted(direct['batch_stats']['SpectralNorm_1']) == ['Conv_1/kernel/sigma',
                                                               'Conv_1/kernel/u']


@pytest.mark.slow
@pytest.mark.parametrize('spectral_norm', [False, True])
def test_discriminator_choices_compute_the_same_function(d_inits, spectral_norm):
  x = _normal(0, D_INPUT)
  variables = d_inits[spectral_norm, 'direct']
  variables = {**variables, 'params': jax.tree.map(
      lambda a, r: a * (1 + 0.5 * r), variables['params'], _redraw(variables['params']))}
  d = {c: _d(spectral_norm, c) for c in ('direct', 'space_to_depth')}
  apply = jax.jit(lambda v, x: [{c: m.apply(v, x, train=train, mutable=['batch_stats'])
                                  for c, m in d.items()} for train in (True, False)])
  for out in apply(variables, x):
    np.testing.assert_allclose(out['space_to_depth'][0], out['direct'][0], **TOL)
    for a, b in zip(jax.tree.leaves(out['space_to_depth'][1]), jax.tree.leaves(out['direct'][1])):
      np.testing.assert_allclose(a, b, **TOL)


def test_strided_conv_is_a_validated_config_field():
  config = base_config()
  assert config.model.d_kwargs.sngan_cnn32.strided_conv == 'space_to_depth'  # Measured faster.
  config.model.d_kwargs.sngan_cnn32.strided_conv = 'bogus'
  with pytest.raises(configs.ConfigError) as e:
    configs.validate(config)
  assert ("Unknown model.d_kwargs.sngan_cnn32.strided_conv 'bogus'; valid: "
          "['direct', 'space_to_depth'].") in str(e.value)
  config.model.d_kwargs.sngan_cnn32.strided_conv = 'direct'
  configs.validate(config)
  config.model.discriminator = 'sngan_cnn32'
  assert models.make_discriminator(config.model).strided_conv == 'direct'
