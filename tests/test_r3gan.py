"""R3GAN's pieces (issue 29) against closed forms: the RpGAN loss, R2 on fakes, the burn-in
schedules (learning rate, beta2, gamma, EMA), the normalisation-free ConvNet's resampling, blocks
and initial residual scale, the config's checks, and each r3gan experiment's :runlocal."""
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import losses
from gan_jax import models
from gan_jax import optimizers
from gan_jax import penalties
from gan_jax import state as state_lib
from gan_jax import step as step_lib
from gan_jax import streams
from gan_jax.models import layers
from gan_jax.models import r3gan
from tests.conftest import load_experiment

REAL = np.array([-3.0, -0.5, 0.0, 0.7, 2.5, 6.0])
FAKE = np.array([-6.0, -2.0, -0.1, 0.0, 1.5, 4.0])


def _softplus64(x):
  return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def test_rpgan_loss_is_softplus_of_the_paired_differences():
  loss = losses.get_loss('rpgan')
  real, fake = jnp.asarray(REAL, jnp.float32), jnp.asarray(FAKE, jnp.float32)
  # R3GAN/Trainer.py: D: softplus(-(real - fake)), G: softplus(-(fake - real)), pair b with b.
  d_want = np.mean(np.log(1.0 + np.exp(-(REAL - FAKE))))
  g_want = np.mean(np.log(1.0 + np.exp(-(FAKE - REAL))))
  np.testing.assert_allclose(float(loss.d_loss(real, fake)), d_want, rtol=1e-6)
  np.testing.assert_allclose(float(loss.g_loss(real, fake)), g_want, rtol=1e-6)
  # The pairing matters: a permuted fake batch is another loss (unlike a mean-based loss).
  assert abs(float(loss.d_loss(real, fake[::-1])) - d_want) > 1e-2
  # d/d real_b = -sigmoid(-(real_b - fake_b)) / B: D pushes each real above its paired fake.
  grad = jax.grad(loss.d_loss)(real, fake)
  np.testing.assert_allclose(grad, -1.0 / (1.0 + np.exp(REAL - FAKE)) / len(REAL), rtol=1e-5)
  assert loss.g_needs_real and not loss.takes_batch_mean
  big = jnp.array([-200.0, 200.0])
  want = np.mean(_softplus64(np.array([400.0, -400.0])))  # Finite: no log of a rounded 0.
  np.testing.assert_allclose(float(loss.d_loss(big, -big)), want, rtol=1e-6)


def quadratic_d(a):
  return lambda x: 0.5 * a * jnp.sum(x ** 2, axis=(1, 2, 3))


def test_r2_and_its_gradient_on_fake_samples_of_a_quadratic_d():
  rng = np.random.default_rng(1)
  real = rng.normal(size=(5, 3, 2, 2))
  fake = rng.normal(size=(5, 3, 2, 2))
  keys = streams.example_keys(jax.random.PRNGKey(0), 5, None)
  r2 = lambda a, real, fake: penalties.r2(quadratic_d(a), real, fake, keys)
  a = 0.7
  sq = np.sum(fake ** 2, axis=(1, 2, 3))
  # grad_x D = a x at the fakes: R2 = a^2 E||x_fake||^2; the reals play no part.
  f32 = lambda x: jnp.asarray(x, jnp.float32)
  np.testing.assert_allclose(float(r2(a, f32(real), f32(fake))), a ** 2 * sq.mean(), rtol=1e-5)
  np.testing.assert_allclose(float(r2(a, f32(real + 5.0), f32(fake))), a ** 2 * sq.mean(),
                             rtol=1e-5)
  # Its gradient with respect to D's parameter (what the D step follows): 2 a E||x_fake||^2;
  # with respect to the fakes: 2 a^2 x_b / B.
  np.testing.assert_allclose(float(jax.grad(r2)(a, f32(real), f32(fake))), 2 * a * sq.mean(),
                             rtol=1e-5)
  np.testing.assert_allclose(jax.grad(r2, argnums=2)(a, f32(real), f32(fake)),
                             2 * a ** 2 * fake / 5, rtol=1e-5, atol=1e-7)
  # R3GAN's D loss: softplus(-(D(x) - D(x~))) + gamma/2 (R1 + R2), gamma/2 the penalties' weight.
  gamma, d = 0.05, quadratic_d(a)
  want = np.mean(_softplus64(-(0.5 * a * np.sum(real ** 2, (1, 2, 3)) - 0.5 * a * sq))
                 + gamma / 2 * a ** 2 * (np.sum(real ** 2, (1, 2, 3)) + sq))
  got = (losses.get_loss('rpgan').d_loss(d(f32(real)), d(f32(fake)))
         + gamma / 2 * (penalties.r1(d, f32(real), f32(fake), keys) + r2(a, f32(real), f32(fake))))
  np.testing.assert_allclose(float(got), want, rtol=1e-5)


def _cosine(start, end, t, steps):
  w = 0.5 * (1 - np.cos(np.pi * min(t / steps, 1.0)))
  return start + w * (end - start)


@pytest.mark.parametrize('shape', ['cosine', 'linear'])
def test_burnin_value_follows_its_formula(shape):
  start, end, steps = 2e-4, 5e-5, 40
  for t in (0, 1, 10, 20, 33, 40, 41, 1000):
    want = (_cosine(start, end, t, steps) if shape == 'cosine'
            else start + min(t / steps, 1.0) * (end - start))
    got = float(optimizers.burnin_value(start, end, t, steps, shape))
    np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f't={t}')
  assert float(optimizers.burnin_value(start, end, 20, steps, 'cosine')) == pytest.approx(
      (start + end) / 2, rel=1e-6)
  assert optimizers.ema_half_life(0.5 ** (1 / 250.0)) == pytest.approx(250.0)


def _burnin_config(n_critic=1):
  config = load_experiment('ring8')
  o = config.optim
  o.g_lr = o.d_lr = 1e-3
  o.b1, o.b2, o.n_critic = 0.0, 0.99, n_critic
  o.burnin.steps, o.burnin.lr_factor, o.burnin.b2_start = 6, 0.25, 0.9
  configs.validate(config)
  return config


@pytest.mark.parametrize('n_critic', [1, 2])
def test_adam_follows_the_learning_rate_and_beta2_burnin(n_critic):
  """Adam (beta1 0) in float64 with lr(t) and beta2(t) at step t = update // n_critic."""
  o = _burnin_config(n_critic).optim
  _, d_tx = optimizers.make_optimizers(o)
  grads = [np.array([1.0, -2.0, 0.5]) * (k + 1) ** 0.5 for k in range(16)]
  params = {'w': jnp.zeros(3)}
  opt_state, nu = d_tx.init(params), np.zeros(3)
  for k, g in enumerate(grads):
    t = k // n_critic
    lr, b2 = _cosine(1e-3, 2.5e-4, t, 6), _cosine(0.9, 0.99, t, 6)
    nu = b2 * nu + (1 - b2) * g ** 2
    want = -lr * g / (np.sqrt(nu / (1 - b2 ** (k + 1))) + 1e-8)
    updates, opt_state = d_tx.update({'w': jnp.asarray(g, jnp.float32)}, opt_state, params)
    np.testing.assert_allclose(np.asarray(updates['w']), want, rtol=2e-5, err_msg=f'update {k}')


def test_default_optimizers_are_plain_adam():
  config = configs.base_config()
  assert optimizers.burnin_update_fields(config.optim) == {}
  g_tx, _ = optimizers.make_optimizers(config.optim)
  state = g_tx.init({'w': jnp.zeros(2)})
  assert not hasattr(state, 'hyperparams')  # optax.adam's own state, as before the burn-in.


def _ring8_experiment(**burnin):
  from gan_jax.experiment import Experiment
  config = load_experiment('ring8', 'runlocal')
  config.eval.features = 'none'
  config.loss.name = 'rpgan'
  config.loss.penalties.r1 = config.loss.penalties.r2 = 50.0  # Large: its gradient shows.
  config.optim.b1 = 0.0
  config.optim.ema_decay = 0.5 ** (1 / 8.0)  # Half-life 8 steps after the burn-in.
  for k, v in burnin.items():
    config.optim.burnin[k] = v
  configs.validate(config)
  return Experiment(config), config


def _one_update(spec, state, exp, t):
  return jax.jit(lambda s, b: step_lib.update(spec, s, b))(
      state.replace(step=jnp.asarray(t, state.step.dtype)), exp.batchers[0].step_batch(t, 1))


@pytest.mark.slow
def test_gamma_burnin_scales_every_penalty_weight_at_the_step():
  exp, config = _ring8_experiment(steps=10, gamma_factor=0.1)
  fields = optimizers.burnin_update_fields(config.optim)
  assert set(fields) == {'penalty_scale'}
  # The training spec carries the schedule (update_spec passes the burn-in fields): `base` is
  # that spec without it.
  assert exp.update_spec(axis_name=None).penalty_scale is not None
  base = dataclasses.replace(exp.update_spec(axis_name=None), penalty_scale=None)
  scheduled = dataclasses.replace(base, **fields)
  state = state_lib.replica(exp.init_state(), 0)
  for t in (0, 3, 5, 12):
    scale = _cosine(1.0, 0.1, t, 10)
    # The same update with the weights 50 x scale(t) written in: the same D.
    fixed = dataclasses.replace(base, penalties=tuple((n, w * scale) for n, w in base.penalties))
    got, got_m = _one_update(scheduled, state, exp, t)
    want, want_m = _one_update(fixed, state, exp, t)
    # D's gradient (Adam's first update is about +-lr whatever its size: the norm shows it).
    np.testing.assert_allclose(float(got_m['d_grad_norm']), float(want_m['d_grad_norm']),
                               rtol=1e-5)
    for a, b in zip(jax.tree.leaves(got.d_params), jax.tree.leaves(want.d_params)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
  # And it matters: at t = 5 the plain weights give another gradient.
  _, plain_m = _one_update(base, state, exp, 5)
  _, got_m = _one_update(scheduled, state, exp, 5)
  assert abs(float(plain_m['d_grad_norm']) - float(got_m['d_grad_norm'])) > 1e-3 * float(
      plain_m['d_grad_norm'])


@pytest.mark.slow
def test_ema_burnin_raises_the_half_life_from_zero():
  exp, config = _ring8_experiment(steps=10, ema=True)
  spec = dataclasses.replace(exp.update_spec(axis_name=None),
                             **optimizers.burnin_update_fields(config.optim))
  state = state_lib.replica(exp.init_state(), 0)
  state = state.replace(g_ema_params=jax.tree.map(lambda p: p + 1.0, state.g_params))
  for t in (0, 2, 5, 9, 30):
    new, _ = _one_update(spec, state, exp, t)
    h = _cosine(0.0, 8.0, t, 10)
    decay = 0.5 ** (1 / max(h, 1e-8))  # R3GAN: 0.5 ** (batch / ema_nimg(t)).
    for e0, p, e in zip(jax.tree.leaves(state.g_ema_params), jax.tree.leaves(new.g_params),
                        jax.tree.leaves(new.g_ema_params)):
      want = decay * np.asarray(e0, np.float64) + (1 - decay) * np.asarray(p, np.float64)
      np.testing.assert_allclose(np.asarray(e), want, rtol=1e-5, atol=1e-6, err_msg=f't={t}')


def test_burnin_problems_name_the_field_and_the_fix():
  config = configs.base_config()
  b = config.optim.burnin
  b.shape, b.lr_factor, b.b2_start, b.gamma_factor = 'exp', 0.0, 1.0, -1.0
  assert optimizers.problems(config) == [
      "Unknown optim.burnin.shape 'exp'; valid: ['cosine', 'linear'].",
      'optim.burnin.lr_factor must be a number > 0 (1: no schedule), got 0.0.',
      'optim.burnin.b2_start must be in [0, 1) (0: no beta2 schedule), got 1.0.',
      'optim.burnin.gamma_factor must be a number >= 0 (1: no schedule), got -1.0.',
      'optim.burnin.lr_factor, b2_start, gamma_factor schedule(s) over the burn-in: set '
      'optim.burnin.steps > 0 (R3GAN: 2e7 images / data.batch_size), or leave them off.']
  config = configs.base_config()
  config.optim.burnin.steps, config.optim.burnin.ema = 10, True
  config.optim.burnin.lr_factor, config.optim.schedule, config.optim.decay_steps = 0.5, 'linear', 20
  with pytest.raises(configs.ConfigError) as e:
    configs.validate(config)
  assert 'optim.burnin.ema=True ramps the EMA up to optim.ema_decay' in str(e.value)
  assert "it takes optim.schedule='constant'" in str(e.value)
  config.optim.burnin.steps = -1
  assert optimizers.burnin_problems(config) == [
      'optim.burnin.steps must be an integer >= 0 (0: no burn-in), got -1.']
  config = configs.base_config()
  config.optim.b1 = 0.0  # R3GAN's Adam: beta1 0 is a valid value.
  assert optimizers.problems(config) == []


def _upfirdn_reference(x, up):
  """upfirdn2d of StyleGAN2 in float64, one image channel: zero insertion, padding, the
  [1, 3, 3, 1] filter (normalised; gain up^2), decimation."""
  f1 = np.array([1.0, 3.0, 3.0, 1.0])
  f = np.outer(f1, f1) / np.sum(np.outer(f1, f1))
  if up:
    u = np.zeros((2 * x.shape[0], 2 * x.shape[1]))
    u[::2, ::2] = x
    p = np.pad(u, ((2, 1), (2, 1)))
    f = 4 * f
    n = u.shape
    return np.array([[np.sum(p[i:i + 4, j:j + 4] * f) for j in range(n[1])] for i in range(n[0])])
  p = np.pad(x, ((1, 1), (1, 1)))
  return np.array([[np.sum(p[2 * i:2 * i + 4, 2 * j:2 * j + 4] * f)
                    for j in range(x.shape[1] // 2)] for i in range(x.shape[0] // 2)])


def test_bilinear_resampling_is_upfirdn2d():
  x = np.random.default_rng(0).normal(size=(2, 6, 4, 3))
  up = np.asarray(layers.bilinear_upsample2x(jnp.asarray(x, jnp.float32)))
  down = np.asarray(layers.bilinear_downsample2x(jnp.asarray(x, jnp.float32)))
  assert up.shape == (2, 12, 8, 3) and down.shape == (2, 3, 2, 3)
  for b in range(2):
    for c in range(3):
      np.testing.assert_allclose(up[b, :, :, c], _upfirdn_reference(x[b, :, :, c], True),
                                 rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(down[b, :, :, c], _upfirdn_reference(x[b, :, :, c], False),
                                 rtol=1e-5, atol=1e-6)


def test_residual_block_shapes_and_fixup_initialisation():
  block = r3gan.ResidualBlock(expansion=2, groups=8, kernel_size=3, num_blocks=4)
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 7, 7, 64))
  variables = block.init(jax.random.PRNGKey(1), x)
  p = variables['params']
  shapes = jax.tree.map(jnp.shape, p)
  assert shapes == {'expand': {'kernel': (1, 1, 64, 128)},
                    'grouped': {'kernel': (3, 3, 16, 128)},  # 128 / 8 inputs a group.
                    'act_0': {'bias': (128,)}, 'act_1': {'bias': (128,)},
                    'project': {'kernel': (1, 1, 128, 64)}}
  out = block.apply(variables, x)
  assert out.shape == x.shape
  # Fix-up: the branch's last conv is 0, so the branch is 0 and the block the identity.
  assert not np.any(np.asarray(p['project']['kernel']))
  branch = block.apply(variables, x, method=r3gan.ResidualBlock.branch)
  assert float(jnp.max(jnp.abs(branch))) == 0.0
  np.testing.assert_array_equal(np.asarray(out), np.asarray(x))
  # MSR: std = gain / sqrt(fan_in), gain = sqrt(2 / (1 + 0.2^2)) x L^(-1/4).
  gain = np.sqrt(2 / 1.04) * 4 ** -0.25
  for name, fan_in in (('expand', 64), ('grouped', 9 * 16)):
    np.testing.assert_allclose(np.std(np.asarray(p[name]['kernel'])), gain / np.sqrt(fan_in),
                               rtol=0.1, err_msg=name)
  # After a perturbation of the last conv the branch is linear in it (nonzero).
  p2 = {**p, 'project': {'kernel': p['project']['kernel'] + 0.01}}
  moved = block.apply({'params': p2}, x, method=r3gan.ResidualBlock.branch)
  assert float(jnp.max(jnp.abs(moved))) > 0


@pytest.mark.slow
def test_block_diagonal_conv_is_the_grouped_conv():
  """layers.BlockDiagonalConv: nn.Conv(feature_group_count)'s function, parameters and
  gradients; the R3GAN blocks give the same outputs in either form."""
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 6, 12))
  ref = nn.Conv(8, (3, 3), padding=((1, 1), (1, 1)), feature_group_count=4, use_bias=False)
  params = ref.init(jax.random.PRNGKey(1), x)
  mine = layers.BlockDiagonalConv(8, (3, 3), 4, ((1, 1), (1, 1)))
  assert jax.tree.map(jnp.shape, mine.init(jax.random.PRNGKey(1), x)) == jax.tree.map(
      jnp.shape, params)
  np.testing.assert_allclose(mine.apply(params, x), ref.apply(params, x), rtol=1e-5, atol=1e-5)
  loss = lambda m: lambda p, x: jnp.sum(jnp.sin(m.apply(p, x)))
  for a, b in zip(jax.tree.leaves(jax.grad(loss(mine), argnums=(0, 1))(params, x)),
                  jax.tree.leaves(jax.grad(loss(ref), argnums=(0, 1))(params, x))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  config = _model_config()
  d = models.make_discriminator(config)
  assert d.grouped_conv == 'block_diagonal'  # :runlocal's (and r3gan_mnist's) CPU form.
  images = jax.random.uniform(jax.random.PRNGKey(2), (3, 28, 28, 1), minval=-1, maxval=1)
  dv = d.init(jax.random.PRNGKey(3), images, train=False)
  dv = jax.tree.map(lambda p: p + 0.05 * jax.random.normal(jax.random.PRNGKey(4), p.shape), dv)
  np.testing.assert_allclose(d.clone(grouped_conv='grouped').apply(dv, images, train=True),
                             d.apply(dv, images, train=True), rtol=1e-4, atol=1e-5)


def _model_config(conditional=False):
  config = load_experiment('r3gan_mnist', 'runlocal').model
  config.conditional = conditional
  return config


@pytest.mark.slow
@pytest.mark.parametrize('shape', [(28, 28, 1), (32, 32, 3)])
@pytest.mark.parametrize('num_classes', [0, 10])
def test_generator_and_discriminator_shapes(shape, num_classes):
  config = _model_config()
  g = models.make_generator(config, shape, num_classes=num_classes)
  d = models.make_discriminator(config, num_classes=num_classes)
  z = jax.random.normal(jax.random.PRNGKey(0), (4, config.latent_dim))
  labels = jnp.array([0, 3, 9, 1]) if num_classes else None
  gv = g.init(jax.random.PRNGKey(1), z, train=False, labels=labels)
  images = g.apply(gv, z, train=True, labels=labels)
  assert images.shape == (4, *shape) and float(jnp.max(jnp.abs(images))) <= 1.0
  assert float(jnp.std(images)) > 0
  assert set(gv) == {'params'}  # No normalisation: no batch statistics.
  dv = d.init(jax.random.PRNGKey(2), images, train=False, labels=labels)
  logits = d.apply(dv, images, train=True, labels=labels)
  assert logits.shape == (4,) and logits.dtype == jnp.float32
  assert np.all(np.isfinite(np.asarray(logits)))
  if num_classes:  # The projection reads the labels.
    other = d.apply(dv, images, train=True, labels=(labels + 1) % num_classes)
    assert not np.allclose(np.asarray(logits), np.asarray(other))


def test_generator_at_init_is_its_transitions():
  """Every residual branch is 0 at initialisation: G equals the network without its blocks."""
  config = _model_config()
  g = models.make_generator(config, (28, 28, 1))
  z = jax.random.normal(jax.random.PRNGKey(0), (2, config.latent_dim))
  params = g.init(jax.random.PRNGKey(1), z, train=False)['params']
  no_blocks = g.clone(blocks=0)
  kept = {k: v for k, v in params.items() if 'block' not in k}
  np.testing.assert_array_equal(np.asarray(g.apply({'params': params}, z, train=False)),
                                np.asarray(no_blocks.apply({'params': kept}, z, train=False)))


def test_r3gan_fields_are_checked_before_anything_is_built():
  config = load_experiment('r3gan_mnist')
  g = config.model.g_kwargs.r3gan
  g.features, g.kernel_size, g.output = (64, 0), 2, 'sigmoid'
  config.model.d_kwargs.r3gan.groups = 7
  with pytest.raises(configs.ConfigError) as e:
    configs.validate(config)
  msg = str(e.value)
  assert "Unknown model.g_kwargs.r3gan.output 'sigmoid'; valid: ['tanh', 'linear']." in msg
  assert 'model.g_kwargs.r3gan.features must be a non-empty tuple of integers >= 1' in msg
  assert 'model.g_kwargs.r3gan.kernel_size must be an odd integer >= 1, got 2.' in msg
  assert ('model.d_kwargs.r3gan.groups=7 must divide every expanded width (features x expansion'
          ' = [32, 48, 64]).') in msg
  g = models.make_generator(_model_config(), (28, 28, 1))
  with pytest.raises(ValueError, match='features: 3 stages halve the 30-pixel image'):
    g.clone(output_shape=(30, 30, 1)).init(
        jax.random.PRNGKey(0), jnp.zeros((1, 16)), train=False)


R3GAN_EXPERIMENTS = ['r3gan_mnist', 'r3gan_stacked_mnist', 'r3gan_cifar10']


@pytest.mark.parametrize('name', R3GAN_EXPERIMENTS)
def test_experiments_are_r3gan_recipes(name):
  for arg in (None, 'runlocal'):
    config = load_experiment(name, arg)
    configs.validate(config)
    assert config.loss.name == 'rpgan' and config.optim.b1 == 0.0
    assert config.loss.penalties.r1 == config.loss.penalties.r2 == 0.025  # gamma / 2.
    b = config.optim.burnin
    assert (b.shape, b.lr_factor, b.b2_start, b.gamma_factor, b.ema) == (
        'cosine', 0.25, 0.9, 0.1, True)
    assert config.model.generator == config.model.discriminator == 'r3gan'
  config = load_experiment(name)
  if name != 'r3gan_mnist':  # R3GAN's 2e7 images of burn-in, its EMA half-life of 5e6.
    assert config.optim.burnin.steps == round(2e7 / config.data.batch_size)
    np.testing.assert_allclose(optimizers.ema_half_life(config.optim.ema_decay),
                               5e6 / config.data.batch_size, rtol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize('name', R3GAN_EXPERIMENTS)
def test_runlocal_trains_end_to_end(name, tmp_path):
  from gan_jax import train
  config = load_experiment(name, 'runlocal')
  state = train.train_and_evaluate(config, str(tmp_path / name))
  assert np.all(np.asarray(state.step) == config.train.num_steps)
  for tree in (state.g_params, state.d_params, state.g_ema_params):
    assert all(np.isfinite(np.asarray(p)).all() for p in jax.tree.leaves(tree))
  # The burn-in moved Adam's learning rate and beta2 to their ends (injected hyperparameters).
  hyper = state.g_opt_state.hyperparams
  np.testing.assert_allclose(np.asarray(hyper['learning_rate']), 0.25 * config.optim.g_lr,
                             rtol=1e-6)
  np.testing.assert_allclose(np.asarray(hyper['b2']), config.optim.b2, rtol=1e-6)


def test_training_update_spec_carries_the_gamma_and_ema_burnin():
  from gan_jax.experiment import Experiment
  config = load_experiment('r3gan_mnist', 'runlocal')
  config.eval.features = 'none'
  spec = Experiment(config).update_spec(axis_name=None)
  assert spec.penalty_scale is not None and spec.ema_schedule is not None
  np.testing.assert_allclose(float(spec.penalty_scale(config.optim.burnin.steps)), 0.1,
                             rtol=1e-6)
