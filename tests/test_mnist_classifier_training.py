"""gan_jax/mnist_classifier_training.py, run kind 'mnist_classifier' and its study."""
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import mnist_classifier_training as training
from gan_jax.metrics import mnist_classifier as mc
from gan_jax.study import Run, engine, spec

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'mnist_classifier.py')


@pytest.mark.parametrize('max_shift', [1, 2])
def test_shift_moves_each_image_by_the_drawn_whole_pixels(max_shift):
  images = -np.ones((6, 7, 7, 1), np.float32)
  images[:, 3, 3, 0] = 1.0
  out = training.shift(images, np.random.default_rng(3), max_shift)
  dy, dx = np.random.default_rng(3).integers(0, 2 * max_shift + 1, size=(2, 6))
  for i in range(6):  # The pixel moves by (max_shift - dy, max_shift - dx); the rest is -1.
    expected = -np.ones((7, 7), np.float32)
    expected[3 + max_shift - dy[i], 3 + max_shift - dx[i]] = 1.0
    assert np.array_equal(out[i, ..., 0], expected)


def _constant_classifier(label: int):
  """Params of mnist_classifier that predict `label` for every image (zero weights, one bias)."""
  shapes = jax.eval_shape(lambda: mc.MNISTClassifier().init(jax.random.PRNGKey(0),
                                                            jnp.zeros((1, 28, 28, 1))))
  params = jax.tree.map(lambda s: np.zeros(s.shape, np.float32), shapes['params'])
  params['Dense_1']['bias'][label] = 1.0
  return params


def test_evaluate_scores_overall_and_per_class():
  y = np.array([3, 3, 3, 1, 0, 0, 7, 3])
  accuracy, per_class = training.evaluate(_constant_classifier(3), np.zeros((8, 28, 28, 1)), y)
  assert accuracy == 4 / 8
  assert per_class == [0.0, 0.0, None, 1.0, None, None, None, 0.0, None, None]


def test_training_at_lr_0_leaves_the_seeded_initialisation():
  x = np.zeros((32, 28, 28, 1), np.float32)
  params = training.train(x, np.arange(32) % 10, seed=5, epochs=1, batch_size=16, lr=0.0)
  init = mc.MNISTClassifier().init(jax.random.PRNGKey(5), jnp.zeros((1, 28, 28, 1)))['params']
  assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(a, b), params, init))
  assert training.num_params(params) == 177066  # The committed weights' count.


def test_training_needs_one_batch():
  with pytest.raises(ValueError, match='at least one batch of 64'):
    training.train(np.zeros((10, 28, 28, 1)), np.zeros(10, int), 0, 1, 64, 1e-3)


def test_study_installs_the_committed_weights_and_reports_a_record():
  study = engine.load(STUDY)
  (run,) = study.runs
  assert run.args['install'] == 'gan_jax/metrics/weights/mnist_classifier.npz'
  assert os.path.join(REPO, run.args['install']) == mc.WEIGHTS
  assert engine.load(STUDY, 'runlocal').runs[0].args['install'] is None
  with pytest.raises(configs.ConfigError, match='valid: runlocal'):
    engine.load(STUDY, 'x')
  result = {'accuracy': 0.5, 'per_class': [0.25] * 9 + [None], 'train_digits': 4500,
            'test_digits': 500, 'params': 12, 'bytes': 2_500_000, 'digest': 'ab', 'seconds': 9.6,
            'weights': None, 'platform': 'cpu'}
  page = study.report(spec.Results(runs=[run], records={run.name: {'result': result}}))
  text = '\n'.join(page.lines)
  assert ('weights seed0/mnist_classifier.npz in the study\'s workdir (12 parameters, 2.50 MB'
          in text)
  assert '**Held-out accuracy on mnist5k test (500 digits): 50.0%**' in text
  assert '- Per class: 0: 25%, 1: 25%' in text and '8: 25%.' in text
  assert '- Training took 10 s (cpu).' in text


def test_runlocal_study_trains_installs_and_reports_again_byte_for_byte(tmp_path):
  from gan_jax.reports import pages
  from gan_jax.study import __main__ as cli
  study = engine.load(STUDY, 'runlocal')
  installed = tmp_path / 'installed.npz'
  run = dataclasses.replace(study.runs[0], args={**study.runs[0].args,
                                                 'install': str(installed)})
  study = dataclasses.replace(study, runs=[run])
  workdir, docs = str(tmp_path / 'runs'), str(tmp_path / 'docs')
  assert engine.work(study, workdir, None, {}) == 1
  cli.report(study, engine.collect(study, workdir, {}), docs)
  weights = os.path.join(workdir, 'seed0', 'mnist_classifier.npz')
  assert installed.read_bytes() == open(weights, 'rb').read()
  assert mc.load_params(str(installed))['Dense_1']['bias'].shape == (10,)
  first = {p: open(os.path.join(docs, p), 'rb').read() for p in os.listdir(docs)}
  text = first['mnist_classifier_runlocal.md'].decode()
  assert f'weights {installed} (177,066 parameters' in text and '(256 digits)' in text
  saved = pages.saved_records(pages.read(docs, study.name))
  cli.report(study, {r.name: saved.get(r.name) for r in study.runs}, docs)
  assert {p: open(os.path.join(docs, p), 'rb').read() for p in os.listdir(docs)} == first
  assert engine.work(study, workdir, None, {}) == 0  # Finished: nothing trains again.


def test_kind_result_is_none_until_trained(tmp_path):
  from gan_jax.study import kinds
  kind = kinds.get('mnist_classifier')
  run = Run(name='seed0', kind='mnist_classifier', seed=0, args={'seed': 0})
  assert kind.config(run) is None and kind.result(run, str(tmp_path)) is None
