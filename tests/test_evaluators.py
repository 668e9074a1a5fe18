"""The evaluator registry: the eval config section, selection ('auto' and explicit), acceptance
errors, each entry on real data with known answers, the caller's cache, and a new entry that
plugs in without touching the others."""
import numpy as np
import pytest

from gan_jax import data as data_lib
from gan_jax import errors
from gan_jax import evaluators
from gan_jax import metrics
from gan_jax.data import offline
from gan_jax.evaluators import base
from gan_jax.evaluators import features as features_lib
from gan_jax.evaluators import mode_coverage as mode_coverage_lib
from gan_jax.evaluators import stacked_mnist as stacked_mnist_lib
from gan_jax.metrics import mnist_classifier
from tests.conftest import load_experiment


def _shape(config):
  return {'ring8': (2,), 'grid25': (2,), 'stacked_mnist': (28, 28, 3)}.get(config.data.source,
                                                                           (28, 28, 1))


def _build(config, cache=None):
  source = data_lib.get_source(config.data)
  shape = data_lib.get_split(source, config.data.split).element_shape
  return evaluators.build(config, source, shape, 0, cache)


class MeanNorm(base.Evaluator):
  """A test's own evaluator: the mean norm of the samples; never chosen by 'auto'."""
  name = 'mean_norm'
  default_num_samples = 100
  metric_names = ('mean_norm',)
  automatic = False

  def describe(self):
    return {'kind': self.name, 'num_generated': self.num_samples}

  def metrics_of_samples(self, samples):
    flat = np.asarray(samples, np.float64).reshape(len(samples), -1)
    return {'mean_norm': float(np.linalg.norm(flat, axis=1).mean())}


def test_registry_entries_declare_themselves():
  assert list(evaluators.EVALUATORS) == ['mode_coverage', 'stacked_mnist', 'text', 'features']
  for name, cls in evaluators.EVALUATORS.items():
    assert cls.name == name and issubclass(cls, base.Evaluator) and cls.metric_names
  assert {n: c.default_num_samples for n, c in evaluators.EVALUATORS.items()} == {
      'mode_coverage': 2500, 'stacked_mnist': 26000, 'text': 1000, 'features': 5000}
  assert issubclass(evaluators.EvalError, errors.UserError)


def test_defaults_are_the_eval_section():
  d = evaluators.defaults()
  assert d.to_dict() == {'evaluators': ('auto',), 'features': 'auto', 'num_samples': None,
                         'batch_size': 500, 'reference_split': 'train',
                         'inception_weights': None, 'bn_stats': 'running',
                         'text_decode': 'argmax'}
  assert load_experiment('dcgan_mnist').eval.evaluators == ('auto',)


def test_problems_name_every_bad_field():
  config = load_experiment('dcgan_mnist', 'runlocal')
  assert evaluators.problems(config) == []
  config.eval.features = 'fid_net'
  config.eval.num_samples = 1
  config.eval.batch_size = 0
  config.eval.evaluators = ('features', 'fid', 'features')
  p = '\n'.join(evaluators.problems(config))
  assert 'Unknown eval.features \'fid_net\'' in p and 'inception_v3' in p
  assert 'eval.num_samples must be an integer >= 2' in p
  assert 'eval.batch_size must be a positive integer' in p
  assert "Unknown eval.evaluators ['fid']; valid: ['auto', 'mode_coverage', 'stacked_mnist', " \
         "'text', 'features']" in p
  assert "lists ['features'] more than once" in p


@pytest.mark.parametrize('name,kind', [('ring8', 'mode_coverage'), ('grid25', 'mode_coverage'),
                                       ('stacked_mnist', 'stacked_mnist'),
                                       ('dcgan_mnist', 'features')])
def test_auto_picks_the_protocol_of_the_data(name, kind):
  config = load_experiment(name, 'runlocal')
  assert [c.name for c in evaluators.select(config, _shape(config))] == [kind]
  config.eval.evaluators = ('auto', kind)  # The same one once.
  assert [c.name for c in evaluators.select(config, _shape(config))] == [kind]
  config.eval.evaluators = ()
  assert evaluators.select(config, _shape(config)) == []
  config.eval.evaluators = ('auto',)
  config.eval.features = 'none'
  assert evaluators.select(config, _shape(config)) == []


def test_acceptance_errors_say_what_to_do(tmp_path):
  config = load_experiment('ring8', 'runlocal')
  config.eval.features = 'mnist_classifier'
  with pytest.raises(evaluators.EvalError, match='2-D points.*set eval.features to auto'):
    evaluators.select(config, (2,))
  config = load_experiment('stacked_mnist', 'runlocal')
  config.eval.features = 'inception_v3'
  with pytest.raises(evaluators.EvalError, match='labelling each channel with the mnist_clas'):
    evaluators.select(config, (28, 28, 3))
  config.eval.features = 'mnist_classifier'
  config.eval.evaluators = ('stacked_mnist', 'features')
  with pytest.raises(evaluators.EvalError, match='one-channel.*eval.features=inception_v3'):
    evaluators.select(config, (28, 28, 3))
  config = load_experiment('dcgan_mnist', 'runlocal')
  config.eval.evaluators = ('mode_coverage',)
  with pytest.raises(evaluators.EvalError, match="2-D mixtures.*not data.source='mnist5k'"):
    evaluators.select(config, (28, 28, 1))
  config.eval.evaluators = ('auto',)
  config.eval.features = 'inception_v3'
  config.eval.inception_weights = str(tmp_path / 'missing.npz')
  with pytest.raises(evaluators.EvalError, match='missing.npz'):
    _build(config)


def test_metric_names_must_not_collide():
  with pytest.raises(evaluators.EvalError, match="both report 'modes_captured'"):
    evaluators.check_metric_names([mode_coverage_lib.ModeCoverage,
                                   stacked_mnist_lib.StackedMnist])
  evaluators.check_metric_names([stacked_mnist_lib.StackedMnist, features_lib.Features])


def test_a_new_evaluator_plugs_in_with_one_registry_line(monkeypatch):
  before = {n: (c.name, c.metric_names, c.default_num_samples)
            for n, c in evaluators.EVALUATORS.items()}
  monkeypatch.setitem(evaluators.EVALUATORS, 'mean_norm', MeanNorm)
  config = load_experiment('grid25', 'runlocal')
  config.eval.num_samples = None
  assert evaluators.problems(config) == []
  assert [c.name for c in evaluators.select(config, (2,))] == ['mode_coverage']  # Not automatic.
  config.eval.evaluators = ('auto', 'mean_norm')
  assert evaluators.problems(config) == []
  built = _build(config)
  assert [type(e) for e in built] == [mode_coverage_lib.ModeCoverage, MeanNorm]
  assert [e.num_samples for e in built] == [2500, 100]
  assert built[0].describe()['kind'] == 'mode_coverage'
  assert {n: (c.name, c.metric_names, c.default_num_samples)
          for n, c in evaluators.EVALUATORS.items() if n != 'mean_norm'} == before


def test_mode_coverage_protocol_on_the_mixture_itself():
  config = load_experiment('grid25', 'runlocal')
  config.eval.num_samples = None
  ev, = _build(config)
  assert ev.name == 'mode_coverage' and ev.num_samples == 2500
  assert ev.describe() == {'kind': 'mode_coverage', 'features': None, 'features_sha256': None,
                           'num_generated': 2500, 'data': 'grid25', 'reference_split': None,
                           'num_reference': None}
  source = data_lib.get_source(config.data)
  real = data_lib.get_split(source, 'test').get(np.arange(2500))
  m = ev.metrics_of_samples(real)
  assert m['modes_captured'] == 25
  # A 2-D Gaussian holds 1 - exp(-9/2) = 98.89% within 3 std; binomial sd over 2,500: 0.21%.
  assert abs(m['high_quality_percent'] - 100 * (1 - np.exp(-4.5))) < 1.0
  assert m['kl_to_uniform'] < 0.02
  far = ev.metrics_of_samples(ev.modes + 100.0)  # No high-quality sample: KL undefined.
  assert far == {'modes_captured': 0, 'high_quality_percent': 0.0, 'kl_to_uniform': None}


@pytest.mark.slow
def test_feature_protocol_separates_real_from_noise(tiny_config):
  ev, = _build(tiny_config)
  assert ev.features == 'mnist_classifier' and len(ev.reference) == 4500
  d = ev.describe()
  assert (d['kind'], d['features'], d['num_generated'], d['num_reference'],
          d['reference_split'], d['data']) == ('features', 'mnist_classifier', 256, 4500,
                                                'train', 'mnist5k')
  assert d['features_sha256'] == mnist_classifier.file_digest()
  source = data_lib.get_source(tiny_config.data)
  # Shuffled: mnist5k's test split is sorted by class, and IS splits must each hold all classes.
  real = data_lib.get_split(source, 'test').get(np.random.default_rng(1).permutation(500))
  noise = np.random.default_rng(0).uniform(-1, 1, size=real.shape).astype(np.float32)
  good, bad = ev.metrics_of_samples(real), ev.metrics_of_samples(noise)
  assert set(good) == set(features_lib.Features.metric_names)
  assert good['fid'] < 0.05 * bad['fid']
  assert good['kid'] < 0.05 * bad['kid']
  assert good['inception_score'] > 8.0  # 10 balanced, well-classified classes: close to 10.
  assert bad['inception_score'] < 1.5  # Noise: one class for everything.
  assert good['precision'] > 0.7 and good['recall'] > 0.7 and bad['recall'] < 0.05
  assert good['coverage'] > 0.3 and bad['coverage'] < 0.05
  assert good['confident_percent'] > 95 and good['classes_present'] == 10
  assert good['class_kl'] < 0.05 and bad['classes_present'] <= 2


def test_reference_features_live_in_the_callers_cache(tiny_config):
  assert not hasattr(evaluators, '_REFERENCE_CACHE')
  cache = {}
  first, = _build(tiny_config, cache)
  again, = _build(tiny_config, cache)
  assert again.reference is first.reference and again.extractor is first.extractor
  assert len(cache) == 2  # The extractor and the reference features.
  alone, = _build(tiny_config)  # No cache: computed anew, kept nowhere else.
  assert alone.reference is not first.reference
  np.testing.assert_array_equal(alone.reference, first.reference)


@pytest.mark.slow
def test_stacked_mnist_source_and_protocol_on_real_data():
  config = load_experiment('stacked_mnist', 'runlocal')
  source = data_lib.get_source(config.data)
  test = data_lib.get_split(source, 'test')
  assert test.element_shape == (28, 28, 3) and source.num_classes == 1000
  idx = np.arange(4)
  images = test.get(idx)
  digits, labels = offline.load_mnist5k()['test']
  triples = offline.stacked_mnist_indices(len(digits), test.size, seed=1)
  for c in range(3):  # Channel c is digit triples[:, c], label 100a + 10b + c.
    np.testing.assert_array_equal(images[..., c],
                                  data_lib.uint8_to_float(digits[triples[idx, c], ..., 0]))
  np.testing.assert_array_equal(test.labels[idx], labels[triples[idx]] @ [100, 10, 1])
  config.eval.num_samples = None
  ev, = evaluators.build(config, source, test.element_shape, 0)
  assert ev.name == 'stacked_mnist' and ev.num_samples == 26000
  assert ev.describe()['features'] == 'mnist_classifier'
  assert ev.describe()['features_sha256'] == mnist_classifier.file_digest()
  # Real Stacked MNIST through the protocol: the classifier reads the triples back.
  images = test.get(np.arange(test.size))
  probs = [ev.extractor(images[..., c:c + 1])[1] for c in range(3)]
  modes = stacked_mnist_lib.stacked_mnist_modes(probs)
  assert np.mean(modes == test.labels) > 0.94  # ~ accuracy^3
  r = metrics.histogram_coverage(modes, 1000)
  assert r['modes_captured'] >= 990  # 10,000 uniform draws over 1,000 modes miss ~0.
  assert r['kl_to_uniform'] < 0.1  # Finite-sample KL of uniform draws ~ (K-1)/(2N) = 0.05.
  assert ev.metrics_of_samples(images) == {'modes_captured': r['modes_captured'],
                                           'kl_to_uniform': r['kl_to_uniform']}
