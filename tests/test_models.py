import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import models
from gan_jax.models.layers import ConvTranspose
from gan_jax.configs import base_config
from gan_jax import state as state_lib
from tests.conftest import load_experiment


@pytest.mark.slow
@pytest.mark.parametrize('k,s,hw,cin,cout', [
    (5, 2, 7, 16, 8), (5, 1, 7, 8, 4), (4, 2, 4, 6, 5), (3, 2, 5, 3, 4), (2, 2, 3, 2, 2),
    (3, 3, 4, 2, 3), (1, 2, 3, 2, 2)])
def test_subpixel_conv_transpose_equals_flax(k, s, hw, cin, cout):
  x = jax.random.normal(jax.random.PRNGKey(0), (3, hw, hw + 1, cin))
  ref = nn.ConvTranspose(cout, (k, k), (s, s), padding='SAME')
  params = ref.init(jax.random.PRNGKey(1), x)
  params = jax.tree.map(lambda a: a + jax.random.normal(jax.random.PRNGKey(2), a.shape), params)
  mine = ConvTranspose(cout, (k, k), (s, s))
  assert jax.tree.map(jnp.shape, mine.init(jax.random.PRNGKey(1), x)) == jax.tree.map(
      jnp.shape, params)
  np.testing.assert_allclose(mine.apply(params, x), ref.apply(params, x), atol=1e-5, rtol=1e-5)
  # Same function, so the same gradients for parameters and inputs.
  loss = lambda m: lambda p, x: jnp.sum(jnp.sin(m.apply(p, x)))
  g_mine = jax.grad(loss(mine), argnums=(0, 1))(params, x)
  g_ref = jax.grad(loss(ref), argnums=(0, 1))(params, x)
  for a, b in zip(jax.tree.leaves(g_mine), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('name,shape', [('dcgan', (28, 28, 1)), ('dcgan', (8, 8, 1)),
                                        ('mlp', (28, 28, 1)), ('mlp', (8, 8, 3))])
def test_generator_shape_and_range(name, shape):
  config = base_config().model
  config.generator = name
  config.g_kwargs.dcgan.base_features = 16
  config.g_kwargs.mlp.hidden = (32,)
  g = models.make_generator(config, shape)
  z = 3.0 * jax.random.normal(jax.random.PRNGKey(0), (5, 100))
  variables = g.init(jax.random.PRNGKey(1), z, train=False)
  for train in (False, True):
    out = g.apply(variables, z, train=train, mutable=['batch_stats'])[0]
    assert out.shape == (5,) + shape
    assert float(out.min()) >= -1.0 and float(out.max()) <= 1.0
    assert float(out.std()) > 0


def test_dcgan_generator_matches_tutorial_layout():
  g = models.make_generator(base_config().model, (28, 28, 1))
  params = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 100)), train=False)['params']
  shapes = {k: {n: v.shape for n, v in p.items()} for k, p in params.items()}
  assert shapes['Dense_0'] == {'kernel': (100, 7 * 7 * 256)}
  assert shapes['ConvTranspose_0'] == {'kernel': (5, 5, 256, 128)}
  assert shapes['ConvTranspose_1'] == {'kernel': (5, 5, 128, 64)}
  assert shapes['ConvTranspose_2'] == {'kernel': (5, 5, 64, 1)}
  assert len([k for k in shapes if k.startswith('BatchNorm')]) == 3


@pytest.mark.parametrize('name', ['dcgan', 'mlp'])
def test_discriminator_gives_one_logit_per_image(name):
  config = base_config().model
  config.discriminator = name
  config.d_kwargs.dcgan.dropout = 0.3
  d = models.make_discriminator(config)
  x = jax.random.uniform(jax.random.PRNGKey(0), (4, 28, 28, 1), minval=-1, maxval=1)
  variables = d.init(jax.random.PRNGKey(1), x, train=False)
  out = d.apply(variables, x, train=True, rngs={'dropout': jax.random.PRNGKey(2)})
  assert out.shape == (4,) and out.dtype == jnp.float32
  # Dropout is active in training and off in evaluation.
  assert not np.allclose(out, d.apply(variables, x, train=False))
  if name == 'dcgan':
    shapes = jax.tree.map(jnp.shape, variables['params'])
    assert shapes['Conv_0']['kernel'] == (5, 5, 1, 64)
    assert shapes['Conv_1']['kernel'] == (5, 5, 64, 128)
    assert shapes['Dense_0']['kernel'] == (7 * 7 * 128, 1)


def test_unknown_model_and_field_errors():
  """Checked by configs.validate (models.problems), before anything is built."""
  config = base_config()
  config.model.generator = 'stylegan9'
  with pytest.raises(configs.ConfigError,
                     match=r"valid names: \['conv1d_resnet', 'dcgan', 'mlp', 'r3gan', 'resnet32', "
                           r"'sngan_cnn32'\]"):
    configs.validate(config)
  config = base_config()
  config.model.d_kwargs.dcgan.widht = 3
  with pytest.raises(configs.ConfigError, match='widht.*valid fields'):
    configs.validate(config)
  assert models.problems(config) == [
      "model.d_kwargs.dcgan has field(s) ['widht'] that discriminator 'dcgan' lacks; valid "
      "fields: ['spectral_norm', 'sn_power_iterations', 'base_features', 'leaky_slope', "
      "'dropout']."]


def _entries():
  return [('g_kwargs', n, c) for n, c in models.GENERATORS.items()] + [
      ('d_kwargs', n, c) for n, c in models.DISCRIMINATORS.items()]


@pytest.mark.parametrize('field,name,cls', _entries(), ids=lambda v: getattr(v, '__name__', v))
def test_each_entry_s_choices_are_checked_listing_its_valid_values(field, name, cls):
  """Every field a module declares in CHOICES is a field of it, its default is valid, and a bad
  value fails validation naming the field and the valid values."""
  assert set(cls.CHOICES) <= set(models.module_fields(cls))
  defaults = models.default_kwargs(cls)
  for key, valid in cls.CHOICES.items():
    assert defaults[key] in valid
    config = base_config()
    config.model[field][name][key] = 'bogus'
    with pytest.raises(configs.ConfigError) as e:
      configs.validate(config)
    assert f"Unknown model.{field}.{name}.{key} 'bogus'; valid: {list(valid)}." in str(e.value)


def test_registry_entries_declare_choices_and_runlocal_sizes():
  assert models.GENERATORS['dcgan'].CHOICES == {'norm': ('batch', 'layer', 'none')}
  assert models.GENERATORS['mlp'].CHOICES == {'output_activation': ('tanh', 'linear'),
                                              'norm': ('batch', 'layer', 'none')}
  for field, name, cls in _entries():
    assert cls.RUNLOCAL, f'{name} declares no :runlocal sizes'
    assert set(cls.RUNLOCAL) <= set(models.module_fields(cls)), name
  config = base_config()
  config.model.g_kwargs.mlp.output_activation = 'sigmoid'
  with pytest.raises(configs.ConfigError, match=r"mlp.output_activation 'sigmoid'; valid: "
                                                r"\['tanh', 'linear'\]"):
    configs.validate(config)


def test_conditional_g_needs_batch_norm_only_where_it_conditions_through_it():
  config = base_config()
  config.model.conditional = True
  config.model.g_kwargs.dcgan.norm = 'layer'
  with pytest.raises(configs.ConfigError, match='set model.g_kwargs.dcgan.norm=batch'):
    configs.validate(config)
  config.model.generator = 'mlp'  # Conditions on a one-hot input: any norm.
  assert not models.GENERATORS['mlp'].CONDITIONS_THROUGH_NORM
  for norm in ('none', 'layer', 'batch'):
    config.model.g_kwargs.mlp.norm = norm
    configs.validate(config)


def test_mlp_generator_norm_batch_is_the_batch_norm_of_pacgan_s_g():
  """norm='batch': Dense without bias, then BatchNorm (momentum bn_momentum, epsilon 1e-5) before
  each ReLU, the parameters named as before the field was renamed; 'none': Dense with bias."""
  z = jax.random.normal(jax.random.PRNGKey(0), (6, 2))
  layers = {}
  for norm in ('batch', 'layer', 'none'):
    g = models.MLPGenerator(output_shape=(2,), hidden=(8, 8), output_activation='linear',
                            norm=norm)
    variables = g.init(jax.random.PRNGKey(1), z, train=False)
    layers[norm] = jax.tree.map(jnp.shape, variables['params'])
    if norm == 'batch':
      bn_shapes = {'scale': (8,), 'bias': (8,)}
      assert layers[norm] == {'Dense_0': {'kernel': (2, 8)}, 'BatchNorm_0': bn_shapes,
                              'Dense_1': {'kernel': (8, 8)}, 'BatchNorm_1': bn_shapes,
                              'Dense_2': {'kernel': (8, 2), 'bias': (2,)}}
      out, stats = g.apply(variables, z, train=True, mutable=['batch_stats'])
      p, bn = variables['params'], variables['batch_stats']
      h = np.asarray(z, np.float64)
      for i in range(2):
        h = h @ np.asarray(p[f'Dense_{i}']['kernel'], np.float64)
        mean, var = h.mean(0), h.var(0)
        np.testing.assert_allclose(stats['batch_stats'][f'BatchNorm_{i}']['mean'],
                                   0.95 * np.asarray(bn[f'BatchNorm_{i}']['mean']) + 0.05 * mean,
                                   rtol=1e-5, atol=1e-6)
        h = np.maximum((h - mean) / np.sqrt(var + 1e-5), 0.0)  # Scale 1, bias 0 at init.
      h = h @ np.asarray(p['Dense_2']['kernel'], np.float64) + np.asarray(p['Dense_2']['bias'])
      np.testing.assert_allclose(out, h, rtol=1e-4, atol=1e-5)
  assert layers['none'] == {f'Dense_{i}': {'kernel': k, 'bias': (k[1],)}
                            for i, k in enumerate([(2, 8), (8, 8), (8, 2)])}
  assert sorted(layers['layer']) == ['Dense_0', 'Dense_1', 'Dense_2', 'LayerNorm_0', 'LayerNorm_1']


def test_every_module_field_is_in_the_base_config():
  model = base_config().model
  assert model.g_kwargs.dcgan.to_dict() == {'base_features': 256, 'leaky_slope': 0.3,
                                            'bn_momentum': 0.99, 'norm': 'batch',
                                            'spectral_norm': False, 'sn_power_iterations': 1}
  assert model.d_kwargs.dcgan.to_dict() == {'base_features': 64, 'leaky_slope': 0.3,
                                            'dropout': 0.0, 'spectral_norm': False,
                                            'sn_power_iterations': 1}
  assert model.g_kwargs.mlp.to_dict() == {'hidden': (1200, 1200), 'output_activation': 'tanh',
                                          'norm': 'none', 'bn_momentum': 0.95}
  assert sorted(model.g_kwargs) == sorted(models.GENERATORS)
  assert sorted(model.d_kwargs) == sorted(models.DISCRIMINATORS)
  assert model.d_kwargs.mlp.to_dict() == {'hidden': (240, 240), 'maxout_pieces': 5,
                                          'input_dropout': 0.2, 'dropout': 0.5,
                                          'spectral_norm': False, 'sn_power_iterations': 1}


def _kernel_path(sigma_path: str) -> str:
  """'A/SpectralNorm_0/Conv_1/kernel/sigma' -> 'A/Conv_1/kernel': the kernel it normalises."""
  parts = [p for p in sigma_path.split('/')[:-1] if not p.startswith('SpectralNorm_')]
  return '/'.join(parts)


SN_CASES = {'dcgan': ({'base_features': 4}, (8, 8, 1), 3),
            'mlp': ({'hidden': (8,), 'input_dropout': 0.0, 'dropout': 0.0}, (8, 8, 1), 2),
            'sngan_cnn32': ({'base_features': 4}, (32, 32, 3), 8),
            'resnet32': ({'features': 4}, (32, 32, 3), 4 * 2 + 2 + 1)}


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(SN_CASES))
def test_spectral_norm_estimates_the_largest_singular_value(name):
  """Power iteration in training calls converges to the SVD's sigma_max of each reshaped kernel,
  and the layer then computes with kernel / sigma_max; evaluation calls leave u as it is."""
  import flax
  cls = models.DISCRIMINATORS[name]
  kwargs, shape, num_kernels = SN_CASES[name]
  d = cls(spectral_norm=True, **kwargs)
  x = jax.random.normal(jax.random.PRNGKey(0), (2, *shape))
  variables = d.init(jax.random.PRNGKey(1), x, train=False)
  params, stats = variables['params'], variables['batch_stats']
  out_eval, unchanged = d.apply(variables, x, train=False, mutable=['batch_stats'])
  assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), unchanged['batch_stats'],
                                   stats))
  power_step = jax.jit(lambda stats: d.apply({'params': params, 'batch_stats': stats}, x,
                                              train=True, mutable=['batch_stats'])[1]['batch_stats'])
  for _ in range(100):
    stats = power_step(stats)
  flat_stats = flax.traverse_util.flatten_dict(stats, sep='/')
  kernels = {k: v for k, v in flax.traverse_util.flatten_dict(params, sep='/').items()
             if k.endswith('kernel')}
  assert len(kernels) == num_kernels
  sigmas = {k: v for k, v in flat_stats.items() if k.endswith('/sigma')}
  assert len(sigmas) == num_kernels
  for path, kernel in kernels.items():
    k = np.asarray(kernel, np.float64)
    sigma_svd = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
    (sigma,) = [v for p, v in sigmas.items() if _kernel_path(p) == path]
    np.testing.assert_allclose(float(sigma), sigma_svd, rtol=1e-4, err_msg=path)


def _torch_reference_param_count(kind):
  """Parameters of ../shared/bench/torch_reference.py's sngan_cnn32, by its layer list."""
  conv = lambda cin, cout, k: cin * cout * k * k + cout
  if kind == 'g':
    return (128 * 8192 + 8192 + 2 * 8192 + conv(512, 256, 4) + 2 * 256 + conv(256, 128, 4)
            + 2 * 128 + conv(128, 64, 4) + 2 * 64 + conv(64, 3, 3))
  return (conv(3, 64, 3) + conv(64, 64, 4) + conv(64, 128, 3) + conv(128, 128, 4)
          + conv(128, 256, 3) + conv(256, 256, 4) + conv(256, 512, 3) + 8192 + 1)


def test_sngan_cnn32_matches_the_reference_layout():
  config = base_config().model
  config.generator = config.discriminator = 'sngan_cnn32'
  g = models.make_generator(config, (32, 32, 3))
  d = models.make_discriminator(config)
  z = jax.random.normal(jax.random.PRNGKey(0), (2, 128))
  gv = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(1), z, train=False))  # Shapes only.
  x = jax.eval_shape(lambda v: g.apply(v, z, train=False), gv)
  assert x.shape == (2, 32, 32, 3)
  dv = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(2), jnp.zeros(x.shape), train=False))
  assert jax.eval_shape(lambda v: d.apply(v, jnp.zeros(x.shape), train=False), dv).shape == (2,)
  count = lambda tree: sum(int(np.prod(p.shape)) for p in jax.tree.leaves(tree))
  assert count(gv['params']) == _torch_reference_param_count('g')
  assert count(dv['params']) == _torch_reference_param_count('d')


def test_resnet32_shapes_and_blocks():
  config = base_config().model
  config.generator = config.discriminator = 'resnet32'
  config.g_kwargs.resnet32.features = 16
  config.d_kwargs.resnet32.features = 8
  g = models.make_generator(config, (32, 32, 3))
  d = models.make_discriminator(config)
  z = jax.random.normal(jax.random.PRNGKey(0), (2, 100))
  # Jitted: one compilation each instead of an op-by-op one per layer (10.5 s -> a few).
  gv = jax.jit(lambda key: g.init(key, z, train=False))(jax.random.PRNGKey(1))
  x, _ = jax.jit(lambda v: g.apply(v, z, train=True, mutable=['batch_stats']))(gv)
  assert x.shape == (2, 32, 32, 3) and float(jnp.abs(x).max()) <= 1.0
  assert sorted(k for k in gv['params'] if k.startswith('ResBlockUp')) == [
      'ResBlockUp_0', 'ResBlockUp_1', 'ResBlockUp_2']
  dv = jax.jit(lambda key: d.init(key, x, train=False))(jax.random.PRNGKey(2))
  assert jax.jit(lambda v: d.apply(v, x, train=True))(dv).shape == (2,)
  assert sorted(k for k in dv['params'] if k.startswith('ResBlockDown')) == [
      f'ResBlockDown_{i}' for i in range(4)]


@pytest.mark.slow
@pytest.mark.parametrize('name', ['dcgan', 'resnet32'])
def test_generator_normalisation_choices(name):
  """'batch' couples a sample's output to its batch in training; 'layer' and 'none' do not."""
  config = base_config().model
  config.generator = name
  config.g_kwargs.dcgan.base_features = 16
  config.g_kwargs.sngan_cnn32.base_features = 16
  config.g_kwargs.resnet32.features = 8
  shape = (28, 28, 1) if name == 'dcgan' else (32, 32, 3)
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 100))
  for norm in ('batch', 'layer', 'none'):
    config.g_kwargs[name].norm = norm
    g = models.make_generator(config, shape)
    variables = g.init(jax.random.PRNGKey(1), z, train=False)
    assert ('batch_stats' in variables) == (norm == 'batch')
    full = g.apply(variables, z, train=True, mutable=['batch_stats'])[0]
    half = g.apply(variables, z[:2], train=True, mutable=['batch_stats'])[0]
    coupled = not np.allclose(np.asarray(full[:2]), np.asarray(half), atol=1e-3)  # Batch size
    # can change XLA's summation order (measured up to 1.2e-4); batch statistics moved outputs by
    # 0.6 to 1.4 here.
    assert coupled == (norm == 'batch'), norm
    if norm == 'layer':
      assert any('LayerNorm' in str(p) for p, _ in
                 jax.tree_util.tree_flatten_with_path(variables['params'])[0])
  from gan_jax import configs
  full_config = base_config()
  full_config.model.g_kwargs[name].norm = 'group'
  with pytest.raises(configs.ConfigError, match=f"model.g_kwargs.{name}.norm 'group'"):
    configs.validate(full_config)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['dcgan', 'sngan_cnn32', 'resnet32'])
def test_generator_spectral_norm_estimates_sigma(name):
  """G with spectral_norm: every kernel gets a power-iteration estimate that converges to the
  SVD's largest singular value of the reshaped kernel (the transposed convolutions included)."""
  import flax
  config = base_config().model
  config.generator = name
  config.g_kwargs[name].spectral_norm = True
  config.g_kwargs[name].sn_power_iterations = 10  # 600 in all: close top singular values
  config.g_kwargs.dcgan.base_features = 8         # converge slowly.
  config.g_kwargs.sngan_cnn32.base_features = 16
  config.g_kwargs.resnet32.features = 4
  g = models.make_generator(config, (28, 28, 1) if name == 'dcgan' else (32, 32, 3))
  z = jax.random.normal(jax.random.PRNGKey(0), (2, 100))
  variables = g.init(jax.random.PRNGKey(1), z, train=False)
  params, stats = variables['params'], variables['batch_stats']
  power_step = jax.jit(lambda stats: g.apply({'params': params, 'batch_stats': stats}, z,
                                              train=True, mutable=['batch_stats'])[1]['batch_stats'])
  for _ in range(60):
    stats = power_step(stats)
  kernels = {k: v for k, v in flax.traverse_util.flatten_dict(params, sep='/').items()
             if k.endswith('kernel')}
  sigmas = {k: v for k, v in flax.traverse_util.flatten_dict(stats, sep='/').items()
            if k.endswith('/sigma')}
  assert len(kernels) == len(sigmas) > 0
  for path, kernel in kernels.items():
    k = np.asarray(kernel, np.float64)
    want = np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]
    (sigma,) = [v for p, v in sigmas.items() if _kernel_path(p) == path]
    np.testing.assert_allclose(float(sigma), want, rtol=1e-3, err_msg=path)


def test_pack_samples_concatenates_consecutive_samples():
  x = np.random.default_rng(0).normal(size=(6, 4, 4, 3)).astype(np.float32)
  packed = np.asarray(models.pack_samples(x, 3))
  ref = np.stack([np.concatenate([x[3 * i + j] for j in range(3)], axis=-1) for i in range(2)])
  np.testing.assert_array_equal(packed, ref)
  v = np.arange(8, dtype=np.float32).reshape(4, 2)
  np.testing.assert_array_equal(np.asarray(models.pack_samples(v, 2)),
                                [[0, 1, 2, 3], [4, 5, 6, 7]])
  np.testing.assert_array_equal(np.asarray(models.pack_samples(x, 1)), x)
  with pytest.raises(ValueError, match='packs of 4'):
    models.pack_samples(x, 4)


def test_pack_builds_d_for_packs_and_validates_batch():
  from gan_jax import experiment
  config = load_experiment('ring8', 'runlocal')
  config.model.pack = 2
  state = state_lib.replica(experiment.Experiment(config).init_state(), 0)
  kernel = state.d_params['Dense_0']['kernel']
  assert kernel.shape[0] == 4  # Two 2-D points per D input.
  config.data.batch_size = 7
  with pytest.raises(configs.ConfigError, match='multiple of model.pack=2'):
    configs.validate(config)
  config.data.batch_size = 8
  config.model.pack = 0
  with pytest.raises(configs.ConfigError, match='model.pack must be an integer >= 1'):
    configs.validate(config)


def test_init_std_redraws_kernels_from_n_0_std_zeroes_their_biases_and_keeps_bn():
  """model.init_std (DCGAN's and PacGAN's N(0, 0.02)): every dense / convolution kernel of G and
  D has the sample std of N(0, 0.02), mean ~0, the biases beside them are 0, batch-norm scales
  stay 1; init_std 0 keeps Flax's initialisers (LeCun normal: std sqrt(1/fan_in))."""
  config = base_config().model
  config.generator, config.discriminator = 'mlp', 'mlp'
  config.g_kwargs.mlp.norm = 'batch'
  g = models.make_generator(config, (2,))
  d = models.make_discriminator(config)
  tx = lambda: __import__('optax').adam(1e-3)
  flax_init = state_lib.init_state(0, g, d, 2, tx(), tx())
  normal = state_lib.init_state(0, g, d, 2, tx(), tx(), init_std=0.02)
  kernels = []
  for params in (normal.g_params, normal.d_params):
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
      name = path[-1].key
      if name == 'kernel':
        kernels.append(np.asarray(leaf).ravel())
      elif name == 'bias' and 'BatchNorm' not in jax.tree_util.keystr(path):
        assert not np.any(np.asarray(leaf)), jax.tree_util.keystr(path)
      elif name == 'scale':
        np.testing.assert_array_equal(leaf, 1.0)
  all_k = np.concatenate(kernels)
  assert len(kernels) == 3 + 3 and all_k.size > 100_000
  assert abs(all_k.std() - 0.02) < 0.0005 and abs(all_k.mean()) < 0.0005
  first = np.asarray(flax_init.g_params['Dense_0']['kernel'])  # 2 -> 1200: std sqrt(1/2).
  assert abs(first.std() - np.sqrt(0.5)) < 0.03
  # Kernels differ from each other (a key per path) and the draw is deterministic.
  again = state_lib.init_state(0, g, d, 2, tx(), tx(), init_std=0.02)
  assert not np.allclose(normal.g_params['Dense_0']['kernel'],
                         normal.g_params['Dense_1']['kernel'][:2])
  jax.tree.map(np.testing.assert_array_equal, normal.g_params, again.g_params)
  full = base_config()
  full.model.init_std = -0.1
  assert any('model.init_std' in p for p in models.problems(full))


def test_dropout_draws_each_row_from_its_own_key_and_keeps_the_mean():
  # layers.Dropout: row b's mask is bernoulli(fold_in(key, b)) of the layer's 'dropout' key, so
  # a device holding rows 4..7 of the global batch drops what one device drops in those rows.
  from gan_jax.models import layers
  x = jnp.ones((8, 500), jnp.float32)
  layer = layers.Dropout(0.3)
  out = np.asarray(layer.apply({}, x, deterministic=False, rngs={'dropout': jax.random.PRNGKey(1)}))
  kept = out != 0
  np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)  # Inverted dropout.
  assert abs(kept.mean() - 0.7) < 0.02
  key = layer.apply({}, method=lambda m: m.make_rng('dropout'),
                    rngs={'dropout': jax.random.PRNGKey(1)})
  for b in (0, 5):
    want = jax.random.bernoulli(jax.random.fold_in(key, b), 0.7, (500,))
    np.testing.assert_array_equal(kept[b], np.asarray(want))
  assert not np.array_equal(kept[0], kept[5])
  np.testing.assert_array_equal(np.asarray(layer.apply({}, x, deterministic=True)), np.asarray(x))
