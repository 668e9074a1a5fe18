"""The evaluation runner: samples per seed, summaries over seeds, eval.json with one or several
evaluators, eval lines in metrics.jsonl; and evaluation inside training and by --mode=eval."""
import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import errors
from gan_jax import evaluation
from gan_jax import evaluators
from gan_jax import models
from gan_jax import state as state_lib
from gan_jax import train
from gan_jax import writers
from gan_jax.data import synthetic
from gan_jax.evaluators import base
from gan_jax.metrics import mnist_classifier
from tests.conftest import load_experiment


class PointG(nn.Module):
  """A G that puts each sample exactly on mode 1 of ring8 when z[:, 0] > offset (a variable, like
  batch-norm statistics), on mode 0 otherwise: its mode coverage has a closed form."""
  @nn.compact
  def __call__(self, z, train=False, labels=None):
    where = self.param('where', lambda key: jnp.asarray(synthetic.MIXTURES['ring8'][0][:2]))
    offset = self.variable('stats', 'offset', lambda: jnp.zeros(()))
    return jnp.where((z[:, :1] > offset.value), where[1], where[0])


class RecordingWriter:
  def __init__(self):
    self.lines = []

  def write_scalars(self, step, scalars, seed, tag_suffix=''):
    self.lines.append((step, seed, tag_suffix, dict(scalars)))


class MeanNorm(base.Evaluator):
  """A test's own evaluator, registered only in these tests: the mean norm of its samples."""
  name = 'mean_norm'
  default_num_samples = 100
  metric_names = ('mean_norm',)
  automatic = False
  seen = []

  def describe(self):
    return {'kind': self.name, 'num_generated': self.num_samples}

  def metrics_of_samples(self, samples):
    MeanNorm.seen.append(np.array(samples))
    return {'mean_norm': float(np.linalg.norm(np.asarray(samples, np.float64), axis=1).mean())}


def _ring8_runner(config, seeds, cache=None):
  source = data_lib.get_source(config.data)
  return evaluation.EvalRunner(config, source, (2,), 0, PointG(), seeds, cache)


def _stacked_g(offsets):
  """PointG's parameters and variables for len(offsets) seeds, stacked on a seed axis."""
  v = PointG().init(jax.random.PRNGKey(0), jnp.zeros((1, 16)))
  params, _ = state_lib.split_variables(v)
  trees = [(params, {'stats': {'offset': jnp.asarray(o, jnp.float32)}}) for o in offsets]
  return state_lib.stack_replicas(trees)


def test_mean_std_and_summarize():
  assert evaluation.mean_std([1.0, None, 3.0]) == (2.0, float(np.sqrt(2.0)), 2)
  assert evaluation.mean_std([5.0]) == (5.0, 0.0, 1)
  assert evaluation.mean_std([None, None]) == (None, None, 0)
  s = evaluation.summarize(7, {0: {'a': 1.0, 'b': None}, 1: {'a': 3.0, 'b': 2.0}}, {'kind': 'x'})
  assert s == {'step': 7, 'protocol': {'kind': 'x'},
               'seeds': {'0': {'a': 1.0, 'b': None}, '1': {'a': 3.0, 'b': 2.0}},
               'mean': {'a': 2.0, 'b': 2.0}, 'std': {'a': float(np.sqrt(2.0)), 'b': 0.0},
               'count': {'a': 2, 'b': 1},
               'std_note': 'sample standard deviation over seeds (ddof=1)', 'num_seeds': 2}


def test_runner_evaluates_every_seed_into_eval_json(tmp_path):
  config = load_experiment('ring8', 'runlocal')  # eval.num_samples = 256.
  runner = _ring8_runner(config, [3, 4])
  assert runner.enabled and runner.num_samples == 256
  # Seed 3: z[:, 0] > 10 never holds: every sample on mode 0. Seed 4: z[:, 0] > 0 half the time.
  g_params_S, g_vars_S = _stacked_g([10.0, 0.0])
  writer = RecordingWriter()
  summary = runner.run(g_params_S, g_vars_S, 12, str(tmp_path), writer, True)
  saved = json.load(open(tmp_path / 'eval.json'))
  assert saved == json.loads(json.dumps(summary)) and os.listdir(tmp_path) == ['eval.json']
  assert list(saved['protocol'].items()) == [
      ('kind', 'mode_coverage'), ('features', None), ('features_sha256', None),
      ('num_generated', 256), ('data', 'ring8'), ('reference_split', None),
      ('num_reference', None),
      ('generator', 'G in evaluation mode (running batch-norm statistics)'),
      ('latents', 'fixed per seed (state.STREAM_EVAL_Z)')]
  one, two = saved['seeds']['3'], saved['seeds']['4']
  assert one == {'modes_captured': 1, 'high_quality_percent': 100.0,
                 'kl_to_uniform': pytest.approx(np.log(8))}
  assert two['modes_captured'] == 2 and two['high_quality_percent'] == 100.0
  n, chunk, m = 256, config.eval.batch_size, config.model
  key = jax.random.fold_in(jax.random.PRNGKey(4), state_lib.STREAM_EVAL_Z)
  z = np.concatenate([np.asarray(state_lib.sample_latent(
      jax.random.fold_in(key, i), chunk, m.latent_dim, m.latent_dist))[:, 0]
      for i in range(-(-n // chunk))])[:n]
  p = np.mean(z > 0)  # The same latents as the runner's: fixed per seed, in chunks.
  assert two['kl_to_uniform'] == pytest.approx(p * np.log(8 * p) + (1 - p) * np.log(8 * (1 - p)))
  assert saved['count'] == {'modes_captured': 2, 'high_quality_percent': 2, 'kl_to_uniform': 2}
  assert [(s, seed, suffix) for s, seed, suffix, _ in writer.lines] == [
      (12, 3, '/seed_3'), (12, 4, '/seed_4')]
  assert writer.lines[0][3] == {f'eval/{k}': v for k, v in one.items()}


def test_one_seed_and_ema_wording(tmp_path):
  config = load_experiment('ring8', 'runlocal')
  config.optim.ema_decay, config.optim.ema_start = 0.999, 10
  runner = _ring8_runner(config, [0])
  writer = RecordingWriter()
  summary = runner.run(*_stacked_g([0.0]), 2, str(tmp_path), writer, False)
  assert not os.path.exists(tmp_path / 'eval.json')  # Not the writing process.
  assert summary['protocol']['generator'] == (
      "EMA of G's parameters (optim.ema_decay=0.999, ema_start=10) with the running batch-norm "
      'statistics, evaluation mode')
  assert summary['num_seeds'] == 1 and writer.lines[0][:3] == (2, 0, '')


def test_samples_are_one_draw_whose_prefix_each_evaluator_takes(monkeypatch, tmp_path):
  monkeypatch.setitem(evaluators.EVALUATORS, 'mean_norm', MeanNorm)
  MeanNorm.seen.clear()
  config = load_experiment('ring8', 'runlocal')
  config.eval.num_samples = None  # mode_coverage: 2,500; mean_norm: 100.
  config.eval.evaluators = ('auto', 'mean_norm')
  runner = _ring8_runner(config, [0])
  assert runner.num_samples == 2500
  g = state_lib.replica(_stacked_g([0.0]), 0)
  np.testing.assert_array_equal(runner.generate(*g, 0, 100), runner.generate(*g, 0, 2500)[:100])
  summary = runner.run(*_stacked_g([0.0]), 5, str(tmp_path), RecordingWriter(), True)
  np.testing.assert_array_equal(MeanNorm.seen[-1], runner.generate(*g, 0, 100))
  saved = json.load(open(tmp_path / 'eval.json'))
  assert sorted(saved['protocol']) == ['mean_norm', 'mode_coverage']
  assert saved['protocol']['mode_coverage']['num_generated'] == 2500
  assert saved['protocol']['mean_norm'] == {
      'kind': 'mean_norm', 'num_generated': 100,
      'generator': 'G in evaluation mode (running batch-norm statistics)',
      'latents': 'fixed per seed (state.STREAM_EVAL_Z)'}
  assert sorted(saved['seeds']['0']) == ['high_quality_percent', 'kl_to_uniform', 'mean_norm',
                                         'modes_captured']
  np.testing.assert_allclose(saved['mean']['mean_norm'], 1.0, rtol=1e-6)  # Modes on the unit ring.
  assert summary['mean'] == saved['mean']


def test_clashing_metrics_and_disabled_evaluation():
  with pytest.raises(evaluators.EvalError, match="reports \\['x'\\]"):
    evaluation.merge_metrics([(MeanNorm, {'x': 1.0}), (MeanNorm, {'x': 2.0})])
  assert evaluation.merge_metrics([(MeanNorm, {'x': 1}), (MeanNorm, {'y': 2})]) == {'x': 1, 'y': 2}
  config = load_experiment('ring8', 'runlocal')
  config.eval.features = 'none'
  assert not _ring8_runner(config, [0]).enabled
  config.eval.features = 'auto'
  config.eval.evaluators = ()
  assert not _ring8_runner(config, [0]).enabled


# End to end: evaluation inside training (train.train_and_evaluate) and --mode=eval
# (evaluation.evaluate_checkpoint).

@pytest.mark.slow
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
  again = evaluation.evaluate_checkpoint(tiny_config, workdir)
  assert again['seeds'] == json.loads(json.dumps(saved['seeds']))  # Same latents, same numbers.
  assert json.load(open(os.path.join(workdir, 'eval.json')))['step'] == 4


def test_eval_errors_are_clear(tiny_config, tmp_path):
  with pytest.raises(errors.UserError, match='no checkpoint to evaluate'):
    evaluation.evaluate_checkpoint(tiny_config, str(tmp_path / 'empty'))
  config = load_experiment('ring8', 'runlocal')
  config.eval.features = 'mnist_classifier'
  with pytest.raises(evaluators.EvalError, match='2-D points'):
    train.train_and_evaluate(config, str(tmp_path / 'ring8'))
  assert not os.path.exists(tmp_path / 'ring8' / 'checkpoints')  # Failed before training.


@pytest.mark.slow
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
