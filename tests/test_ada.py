"""ADA (gan_jax/ada.py): p's update rule on scripted D outputs, each transform against scipy's
affine resampling or its closed form, the probabilities of the gates, gradients, the config's
errors, and training with p in the state (logged, resumed bit for bit)."""
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage

from gan_jax import ada
from gan_jax import configs
from gan_jax import streams
from gan_jax import train
from gan_jax.experiment import Experiment
from tests.conftest import load_experiment, train_records

X = np.random.default_rng(0).uniform(-1, 1, size=(4, 9, 7, 2)).astype(np.float32)


def _keys(seed, n):
  return streams.example_keys(jax.random.PRNGKey(seed), n, None)


def test_p_follows_the_sign_rule_on_scripted_d_outputs():
  spec = ada.AdaSpec(transforms=('xint',), target=0.6, interval=3, speed=0.25)
  signs = [1, 1, 1,  1, 0, 0,  -1, -1, -1,  -1, -1, -1,  0.8, 0.6, 0.7,  0.5, 0.5, 0.5]
  state, ps, want_p, want = ada.initial_state(0.0), [], 0.0, []
  acc = []
  for step, s in enumerate(signs):
    state, m = ada.adjust(spec, state, jnp.float32(s), jnp.int32(step))
    ps.append(float(m['ada_p']))
    want.append(want_p)  # The p this step augmented with: before its own adjustment.
    acc.append(s)
    np.testing.assert_allclose(float(m['ada_rt']), np.mean(acc), rtol=1e-6)
    if (step + 1) % 3 == 0:  # r_t = mean of the interval's signs; p += sign(r_t - 0.6) * 0.25.
      want_p = max(0.0, want_p + np.sign(np.mean(acc) - 0.6) * 0.25)
      acc = []
  np.testing.assert_allclose(ps, want, atol=1e-7)
  # 1 > 0.6: up; 1/3 < 0.6: down; down (clipped at 0); down (stays 0); 0.7 > 0.6: up; 0.5: down.
  assert want == [0] * 3 + [0.25] * 3 + [0] * 9 + [0.25] * 3
  np.testing.assert_allclose(float(state['p']), 0.0, atol=1e-7)
  # p is not clipped above (the reference clips at 0 only): a gate at p >= 1 always fires.
  up = ada.initial_state(0.9)
  for step in range(3):
    up, _ = ada.adjust(spec, up, jnp.float32(1.0), jnp.int32(step))
  np.testing.assert_allclose(float(up['p']), 1.15, rtol=1e-6)


def test_speed_moves_p_from_0_to_1_over_kimg():
  config = configs.base_config()
  config.ada.mode, config.ada.kimg, config.ada.interval = 'adaptive', 2.0, 4
  config.data.batch_size, config.optim.n_critic = 50, 2
  spec = ada.spec_from_config(config)
  # 50 x 2 real images a step, 4 steps an adjustment: 400 images of 2,000: 5 adjustments.
  assert spec.speed == pytest.approx(400 / 2000) and spec.target == 0.6
  config.ada.mode = 'fixed'
  assert ada.spec_from_config(config).speed == 0.0
  config.ada.mode = ''
  assert ada.spec_from_config(config) is None


def _scipy_resample(x_HxWxC, g):
  """The inverse map g (pixel units about the centre, x right, y down) as scipy's
  affine_transform in (row, column) coordinates, bilinear, mirrored at the borders."""
  h, w, _ = x_HxWxC.shape
  c = np.array([(h - 1) / 2, (w - 1) / 2])
  m = np.array([[g[1, 1], g[1, 0]], [g[0, 1], g[0, 0]]])
  offset = c - m @ c + np.array([g[1, 2], g[0, 2]])
  return np.stack([scipy.ndimage.affine_transform(x_HxWxC[..., k].astype(np.float64), m, offset,
                                                  order=1, mode='mirror')
                   for k in range(x_HxWxC.shape[-1])], axis=-1)


def _draws(b, **changes):
  d = {'xflip': np.zeros(b), 'rotate90': np.zeros(b), 'xint': np.zeros((b, 2)),
       'scale': np.ones(b), 'rotate': np.zeros((b, 2)), 'aniso': np.ones(b),
       'xfrac': np.zeros((b, 2)), 'brightness': np.zeros(b), 'contrast': np.ones(b)}
  d.update({k: np.asarray(v, np.float32) for k, v in changes.items()})
  return {k: jnp.asarray(v, jnp.float32) for k, v in d.items()}


def test_geometric_transforms_match_scipy_and_their_closed_forms():
  x = X[:2]
  # Integer translation by (+2, -1) pixels moves the content right 2 and up 1.
  g = ada.inverse_map(_draws(2, xint=[[2 / 7, -1 / 9]] * 2), ('xint',), 9, 7)
  out = np.asarray(jax.vmap(ada.resample)(jnp.asarray(x), g))
  np.testing.assert_allclose(out[:, :-1, 2:], x[:, 1:, :-2], atol=1e-6)
  # An x-flip is a mirror image; a quarter turn is numpy's rot90 on a square image.
  g = ada.inverse_map(_draws(2, xflip=[1, 0]), ('xflip',), 9, 7)
  out = np.asarray(jax.vmap(ada.resample)(jnp.asarray(x), g))
  np.testing.assert_allclose(out[0], x[0, :, ::-1], atol=1e-6)
  np.testing.assert_allclose(out[1], x[1], atol=1e-6)
  sq = X[:1, :7, :7]
  g = ada.inverse_map(_draws(1, rotate90=[1]), ('rotate90',), 7, 7)
  turned = np.asarray(jax.vmap(ada.resample)(jnp.asarray(sq), g))[0]
  assert any(np.allclose(turned, np.rot90(sq[0], k), atol=1e-5) for k in (1, 3))
  # Every transform at once, fractional: scipy's bilinear affine resampling, mirrored borders.
  d = _draws(2, xint=[[0.1, -0.1], [0, 0.05]], scale=[1.3, 0.8], rotate=[[0.4, -1.0], [2.0, 0]],
             aniso=[0.7, 1.2], xfrac=[[0.05, 0.02], [-0.1, 0.0]], xflip=[1, 0])
  g = np.asarray(ada.inverse_map(d, ada.GEOMETRIC, 9, 7))
  out = np.asarray(jax.vmap(ada.resample)(jnp.asarray(x), jnp.asarray(g)))
  for b in range(2):
    np.testing.assert_allclose(out[b], _scipy_resample(x[b], g[b]), atol=2e-5)
  # The order is the reference's (G_inv = I @ xflip @ rot90 @ xint @ scale @ rotation @ aniso @
  # rotation @ xfrac, each the inverse of its transform), written out here in numpy.
  def t_inv(tx, ty):
    return np.array([[1, 0, -tx], [0, 1, -ty], [0, 0, 1.0]])

  def s_inv(sx, sy):
    return np.diag([1 / sx, 1 / sy, 1.0])

  def r_inv(theta):  # rotate2d_inv(theta) = rotate2d(-theta).
    c, s = np.cos(-theta), np.sin(-theta)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
  d = _draws(1, xflip=[1], rotate90=[3], xint=[[2 / 7, -1 / 9]], scale=[1.3],
             rotate=[[0.4, -1.1]], aniso=[0.7], xfrac=[[0.05, -0.02]])
  want = (s_inv(-1, 1) @ r_inv(-np.pi / 2 * 3) @ t_inv(2, -1) @ s_inv(1.3, 1.3) @ r_inv(-0.4) @
          s_inv(0.7, 1 / 0.7) @ r_inv(1.1) @ t_inv(0.05 * 7, -0.02 * 9))
  got = np.asarray(ada.inverse_map(d, ada.GEOMETRIC, 9, 7))[0]
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_colour_is_contrast_times_brightened_image():
  spec = ada.AdaSpec(transforms=('brightness', 'contrast'), target=0.6, interval=4, speed=0.0)
  keys = _keys(3, 4)
  out = np.asarray(ada.augment(spec, jnp.asarray(X), keys, jnp.float32(1.0)))
  d = streams.draw_each(keys, lambda k: ada._draws(k, jnp.float32(1.0)))
  b = np.asarray(d['brightness'])[:, None, None, None]
  c = np.asarray(d['contrast'])[:, None, None, None]
  np.testing.assert_allclose(out, c * (X + b), rtol=1e-5, atol=1e-6)
  assert np.all(c != 1) and np.all(b != 0)  # p = 1: every example changed.


def test_p_zero_is_the_identity_and_gates_fire_with_probability_p():
  spec = ada.AdaSpec(transforms=ada.TRANSFORMS, target=0.6, interval=4, speed=0.0)
  keys = _keys(1, 4)
  np.testing.assert_array_equal(np.asarray(ada.augment(spec, jnp.asarray(X), keys, 0.0)), X)
  n, p = 4000, 0.3
  d = streams.draw_each(_keys(2, n), lambda k: ada._draws(k, jnp.float32(p)))
  tol = 4 * np.sqrt(p * (1 - p) / n)
  for name, identity in (('scale', 1.0), ('aniso', 1.0), ('brightness', 0.0), ('contrast', 1.0)):
    assert abs(np.mean(np.asarray(d[name]) != identity) - p) < tol, name
  for name in ('xint', 'xfrac'):  # A translation drawn is never exactly 0.
    assert abs(np.mean(np.any(np.asarray(d[name]) != 0, axis=1)) - p) < tol, name
  # A flip drawn is 0 or 1, a quarter turn 0 to 3, uniformly: not the identity with p/2, 3p/4.
  assert abs(np.mean(np.asarray(d['xflip']) != 0) - p / 2) < tol
  assert abs(np.mean(np.asarray(d['rotate90']) != 0) - 3 * p / 4) < tol
  assert set(np.unique(np.asarray(d['rotate90']))) == {0, 1, 2, 3}
  # Pre- or post-rotation (or both): probability p overall, as the reference's p_rot gives.
  rotated = np.any(np.asarray(d['rotate']) != 0, axis=1)
  assert abs(np.mean(rotated) - p) < tol


def test_gradients_flow_to_the_image_and_the_augmentation_is_linear_in_it():
  spec = ada.AdaSpec(transforms=tuple(ada.transform_entries(ada.DIGIT_SAFE)), target=0.6,
                     interval=4, speed=0.0)
  keys = _keys(4, 4)
  w = jnp.asarray(np.random.default_rng(2).normal(size=X.shape), jnp.float32)
  f = lambda x: jnp.sum(w * ada.augment(spec, x, keys, jnp.float32(0.8)))
  g = np.asarray(jax.grad(f)(jnp.asarray(X)))
  assert np.all(np.isfinite(g)) and np.abs(g).sum() > 0
  e = np.random.default_rng(3).normal(size=X.shape).astype(np.float32) * 1e-2
  # Affine in x for fixed draws (brightness adds a constant): f(x + e) - f(x) = <grad, e>.
  np.testing.assert_allclose(float(f(jnp.asarray(X + e)) - f(jnp.asarray(X))),
                             float(np.sum(g * e)), rtol=3e-3)


def test_ada_section_problems():
  config = configs.base_config()
  assert ada.problems(config) == []
  config.ada.mode, config.ada.transforms = 'adaptve', 'xint,zoom'
  config.ada.p, config.ada.target, config.ada.interval, config.ada.kimg = 1.5, 1.0, 0, -1
  assert ada.problems(config) == [
      "Unknown ada.mode 'adaptve'; valid: ['', 'adaptive', 'fixed'] ('' is off).",
      "Unknown ada.transforms entries ['zoom']; valid: " + str(list(ada.TRANSFORMS)) +
      ' (comma-separated, e.g. xint,scale,rotate,aniso,xfrac,brightness,contrast).',
      'ada.p must be in [0, 1], got 1.5.',
      'ada.target must be in (0, 1) (the paper: 0.6), got 1.0.',
      'ada.interval must be an integer >= 1 (steps), got 0.',
      'ada.kimg must be > 0 and finite (thousands of images from p=0 to 1), got -1.0.']
  config = configs.base_config()
  config.ada.mode, config.loss.name = 'adaptive', 'rpgan'
  assert ada.problems(config) == [
      "ada.mode='adaptive' reads sign(D(real)), which says nothing for loss.name='rpgan' (its "
      "logits are not centred at 0); use a loss of ['minimax', 'non_saturating', 'hinge'] or "
      "ada.mode='fixed' with ada.p."]
  config.ada.mode = 'fixed'
  assert ada.problems(config) == [
      "ada.mode='fixed' with ada.p=0 augments nothing; set ada.p > 0 or ada.mode=''."]
  config.ada.p, config.ada.kimg = 0.3, float('inf')
  assert ada.problems(config) == [
      'ada.kimg must be > 0 and finite (thousands of images from p=0 to 1), got inf.']
  config = configs.base_config()
  config.ada.mode, config.augment.policy = 'adaptive', 'color'
  with pytest.raises(configs.ConfigError, match='both augment D\'s inputs; choose one'):
    configs.validate(config)
  config.augment.policy, config.ada.transforms = '', ' , '
  with pytest.raises(configs.ConfigError, match='ada.transforms is empty'):
    configs.validate(config)
  points = load_experiment('ring8', 'runlocal')
  points.ada.mode = 'adaptive'
  with pytest.raises(configs.ConfigError, match='ada.mode=.adaptive. augments images'):
    Experiment(points)


@pytest.fixture
def ada_config():
  from tests.golden_runs import DCGAN_MNIST_BEFORE_ISSUE_16
  from gan_jax import sweep
  config = sweep.apply_overrides(load_experiment('dcgan_mnist', 'runlocal'),
                                 DCGAN_MNIST_BEFORE_ISSUE_16)
  config.ada.mode, config.ada.interval, config.ada.kimg = 'adaptive', 3, 0.02
  config.eval.features = 'none'
  config.train.num_steps, config.train.log_every, config.train.ckpt_every = 6, 1, 2
  return config


@pytest.mark.slow
def test_training_logs_p_and_a_resumed_run_equals_an_uninterrupted_one(ada_config, tmp_path):
  full = train.train_and_evaluate(ada_config, str(tmp_path / 'full'))
  logged = train_records(str(tmp_path / 'full' / 'metrics.jsonl'))
  ps, rts = [r['ada_p'] for r in logged], [r['ada_rt'] for r in logged]
  speed = 3 * ada_config.data.batch_size / 20.0  # Three steps' images of 0.02 kimg.
  # p of step t + 1 is p of step t, moved after every third step by sign(r_t - 0.6) x speed (r_t
  # the mean sign over those three steps, logged at the third), clipped at 0.
  assert [r['step'] for r in logged] == [1, 2, 3, 4, 5, 6] and ps[0] == 0
  for t in range(5):
    want = ps[t]
    if (t + 1) % 3 == 0:
      want = max(0.0, ps[t] + np.sign(rts[t] - 0.6) * speed)
    np.testing.assert_allclose(ps[t + 1], want, atol=1e-6, err_msg=f'step {t + 1}')
  resumed_dir = str(tmp_path / 'resumed')
  ada_config.train.num_steps = 3
  train.train_and_evaluate(ada_config, resumed_dir)
  # Resumed from step 2: two of the interval's three signs in the checkpoint's accumulators.
  shutil.rmtree(os.path.join(resumed_dir, 'checkpoints', '3'))
  ada_config.train.num_steps = 6
  resumed = train.train_and_evaluate(ada_config, resumed_dir)
  for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  np.testing.assert_array_equal(np.asarray(full.ada['p']), np.asarray(resumed.ada['p']))


def test_a_state_without_ada_has_the_tree_of_the_checkpoints_before_ada():
  """orbax stores the state by its key paths: without ADA the state's are exactly the fields it had
  before ADA existed (so those checkpoints restore); with ADA, `ada` joins them."""
  from gan_jax import state as state_lib
  before = ['d_opt_state', 'd_params', 'd_vars', 'g_ema_params', 'g_opt_state', 'g_params',
            'g_vars', 'rng', 'step']
  fields = {name: {'w': jnp.ones(2)} for name in before}
  plain = state_lib.GANState(**fields)
  top = lambda s: sorted({p[0].name for p, _ in jax.tree_util.tree_flatten_with_path(s)[0]})
  assert top(plain) == before
  with_ada = plain.replace(ada=ada.initial_state(0.25))
  assert top(with_ada) == sorted(before + ['ada'])
  for s in (plain, with_ada):
    leaves, tree = jax.tree.flatten(s)
    again = jax.tree.unflatten(tree, leaves)
    assert isinstance(again, state_lib.GANState) and top(again) == top(s)
    assert (again.ada is None) == (s.ada is None)
  assert jax.tree.structure(plain) != jax.tree.structure(with_ada)
