"""Evaluation: the mnist_classifier, Stacked MNIST, PacGAN packing, eval in runs and --mode=eval."""
import json
import os

import jax
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import evaluate
from gan_jax import models
from gan_jax import train
from gan_jax import writers
from gan_jax.data import offline
from gan_jax.metrics import mnist_classifier
from tests.conftest import load_experiment


@pytest.fixture(scope='module')
def extractor():
  return mnist_classifier.Extractor()


def test_classifier_weights_are_small_and_accurate(extractor):
  assert os.path.getsize(mnist_classifier.WEIGHTS) < 2e6
  images, labels = offline.load_mnist5k()['test']
  _, probs = extractor(data_lib.uint8_to_float(images))
  assert probs.shape == (500, 10)
  np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
  assert np.mean(probs.argmax(1) == labels) >= 0.98  # Held out: the committed weights' claim.


def test_classifier_rejects_colour_images():
  with pytest.raises(ValueError, match='one channel|H, W, 1'):
    mnist_classifier.prepare(np.zeros((2, 28, 28, 3)))


def test_histogram_coverage_closed_forms():
  uniform = evaluate.histogram_coverage(np.repeat(np.arange(1000), 3), 1000)
  assert uniform['modes_captured'] == 1000 and abs(uniform['kl_to_uniform']) < 1e-12
  collapsed = evaluate.histogram_coverage(np.full(500, 7), 1000)
  assert collapsed['modes_captured'] == 1
  np.testing.assert_allclose(collapsed['kl_to_uniform'], np.log(1000))
  half = evaluate.histogram_coverage(np.arange(500), 1000)  # 500 modes, evenly: KL = log 2.
  np.testing.assert_allclose(half['kl_to_uniform'], np.log(2))


def test_stacked_mnist_source_and_protocol_on_real_data(extractor):
  source = data_lib.get_source(_data_config('stacked_mnist'))
  test = data_lib.get_split(source, 'test')
  assert test.element_shape == (28, 28, 3) and source.num_classes == 1000
  idx = np.arange(4)
  images = test.get(idx)
  digits, labels = offline.load_mnist5k()['test']
  triples = offline.stacked_mnist_indices(len(digits), test.size, seed=1)
  for c in range(3):  # Channel c is digit triples[:, c], label 100a + 10b + c.
    np.testing.assert_array_equal(images[..., c], data_lib.uint8_to_float(digits[triples[idx, c], ..., 0]))
  np.testing.assert_array_equal(test.labels[idx], labels[triples[idx]] @ [100, 10, 1])
  # Real Stacked MNIST through the protocol: the classifier reads the triples back.
  images = test.get(np.arange(test.size))
  probs = [extractor(images[..., c:c + 1])[1] for c in range(3)]
  modes = evaluate.stacked_mnist_modes(probs)
  assert np.mean(modes == test.labels) > 0.94  # ~ accuracy^3
  r = evaluate.histogram_coverage(modes, 1000)
  assert r['modes_captured'] >= 990  # 10,000 uniform draws over 1,000 modes miss ~0.
  assert r['kl_to_uniform'] < 0.1  # Finite-sample KL of uniform draws ~ (K-1)/(2N) = 0.05.


def _data_config(source):
  d = configs.base_config().data
  d.source = source
  return d


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
  config = load_experiment('ring8', 'runlocal')
  config.model.pack = 2
  exp = train.Experiment(config)
  state = exp.init_seed_state(0)
  kernel = state.d_params['Dense_0']['kernel']
  assert kernel.shape[0] == 4  # Two 2-D points per D input.
  config.data.batch_size = 7
  with pytest.raises(configs.ConfigError, match='multiple of model.pack=2'):
    configs.validate(config)
  config.data.batch_size = 8
  config.model.pack = 0
  with pytest.raises(configs.ConfigError, match='model.pack must be an integer >= 1'):
    configs.validate(config)


def test_mode_coverage_protocol_on_the_mixture_itself():
  config = load_experiment('grid25', 'runlocal')
  config.eval.num_samples = None
  exp = train.Experiment(config)
  ev = evaluate.Evaluator(exp)
  assert ev.protocol.kind == 'mode_coverage' and ev.protocol.num_samples == 2500
  real = data_lib.get_split(exp.source, 'test').get(np.arange(2500))
  m = ev.metrics_of_samples(real)
  assert m['modes_captured'] == 25
  # A 2-D Gaussian holds 1 - exp(-9/2) = 98.89% within 3 std; binomial sd over 2,500: 0.21%.
  assert abs(m['high_quality_percent'] - 100 * (1 - np.exp(-4.5))) < 1.0
  assert m['kl_to_uniform'] < 0.02


def test_feature_protocol_separates_real_from_noise(tiny_config):
  exp = train.Experiment(tiny_config)
  ev = evaluate.Evaluator(exp)
  assert ev.protocol.features == 'mnist_classifier' and len(ev.reference) == 4500
  # Shuffled: mnist5k's test split is sorted by class, and IS splits must each hold all classes.
  real = data_lib.get_split(exp.source, 'test').get(np.random.default_rng(1).permutation(500))
  noise = np.random.default_rng(0).uniform(-1, 1, size=real.shape).astype(np.float32)
  good, bad = ev.metrics_of_samples(real), ev.metrics_of_samples(noise)
  assert good['fid'] < 0.05 * bad['fid']
  assert good['kid'] < 0.05 * bad['kid']
  assert good['inception_score'] > 8.0  # 10 balanced, well-classified classes: close to 10.
  assert bad['inception_score'] < 1.5  # Noise: one class for everything.
  assert good['precision'] > 0.7 and good['recall'] > 0.7 and bad['recall'] < 0.05
  assert good['coverage'] > 0.3 and bad['coverage'] < 0.05


def test_eval_in_training_and_mode_eval_agree(tiny_config, tmp_path):
  tiny_config.num_seeds = 2
  tiny_config.train.eval_every = 2
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(tiny_config, workdir)
  saved = json.load(open(os.path.join(workdir, 'eval.json')))
  p = saved['protocol']
  assert (p['kind'], p['features'], p['num_generated'], p['num_reference'],
          p['reference_split']) == ('features', 'mnist_classifier', 256, 4500, 'train')
  assert p['features_sha256'] == mnist_classifier.file_digest()
  assert saved['step'] == 4 and sorted(saved['seeds']) == ['0', '1']
  fids = [saved['seeds'][s]['fid'] for s in ('0', '1')]
  np.testing.assert_allclose(saved['mean']['fid'], np.mean(fids))
  np.testing.assert_allclose(saved['std']['fid'], np.std(fids, ddof=1))
  lines = [r for r in writers.read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
           if 'eval/fid' in r]
  assert sorted((r['step'], r['seed']) for r in lines) == [(2, 0), (2, 1), (4, 0), (4, 1)]
  os.remove(os.path.join(workdir, 'eval.json'))
  again = train.evaluate_checkpoint(tiny_config, workdir)
  assert again['seeds'] == json.loads(json.dumps(saved['seeds']))  # Same latents, same numbers.
  assert json.load(open(os.path.join(workdir, 'eval.json')))['step'] == 4


def test_eval_errors_are_clear(tiny_config, tmp_path):
  with pytest.raises(train.WorkdirError, match='no checkpoint to evaluate'):
    train.evaluate_checkpoint(tiny_config, str(tmp_path / 'empty'))
  config = load_experiment('ring8', 'runlocal')
  config.eval.features = 'mnist_classifier'
  with pytest.raises(evaluate.EvalError, match='2-D points'):
    train.Experiment(config)
  config = load_experiment('dcgan_mnist', 'runlocal')
  config.eval.features = 'inception_v3'
  config.eval.inception_weights = str(tmp_path / 'missing.npz')
  with pytest.raises(evaluate.EvalError, match='missing.npz'):
    evaluate.Evaluator(train.Experiment(config))
  config.eval.features = 'fid_net'
  with pytest.raises(configs.ConfigError, match='Unknown eval.features'):
    configs.validate(config)


def test_stacked_mnist_pacgan2_trains_and_evaluates(tmp_path):
  config = load_experiment('stacked_mnist', 'runlocal')
  config.model.pack = 2
  train.train_and_evaluate(config, str(tmp_path / 'run'))
  saved = json.load(open(tmp_path / 'run' / 'eval.json'))
  assert saved['protocol']['kind'] == 'stacked_mnist'
  assert saved['protocol']['features'] == 'mnist_classifier'
  assert saved['protocol']['num_generated'] == 256
  m = saved['seeds']['0']
  assert 1 <= m['modes_captured'] <= 256 and 0 <= m['kl_to_uniform'] <= np.log(1000)


CIFAR_SETUPS = ['sngan_resnet_cifar10', 'sngan_cnn_cifar10', 'wgan_gp_cifar10', 'dcgan_cifar10',
                'cgan_projection_cifar10']


@pytest.mark.parametrize('name', CIFAR_SETUPS)
def test_published_setups_are_valid(name):
  full = load_experiment(name)
  assert full.data.source == 'tfds:cifar10'
  configs.validate(full)
  local = load_experiment(name, 'runlocal')
  configs.validate(local)
  assert (local.data.source, local.data.image_size) == ('stacked_mnist', 32)


@pytest.mark.parametrize('name', ['cgan_projection_cifar10'])
def test_published_setups_train_locally(name, tmp_path):
  # The conditional ResNet with projection: SN, hinge, n_dis 5, linear decay (the most parts).
  config = load_experiment(name, 'runlocal')
  state = train.train_and_evaluate(config, str(tmp_path / name))
  assert int(state.step) == config.train.num_steps
  assert all(np.isfinite(np.asarray(p)).all() for p in jax.tree.leaves(state.g_params))


def test_mnist_losses_sweep_plans_every_loss(tmp_path):
  from gan_jax import losses, sweep
  from tests.conftest import REPO
  points = sweep.plan(os.path.join(REPO, 'experiments', 'mnist_losses.py'), 'runlocal',
                      str(tmp_path))
  assert sorted(c.loss.name for _, c, _ in points) == sorted(losses.LOSSES)
