"""The data-augmentation protocol: a `:runlocal` run end to end (resumed without retraining), the
test split unseen by the GAN and every classifier (content hashes), the training sets' sizes, the
table's statistics, and bad inputs refused before anything trains."""
import json
import os

import numpy as np
import pytest

from gan_jax import classifier as classifier_lib
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax.applications import augmentation
from gan_jax.applications.augmentation import cells as aug_cells
from gan_jax.applications.augmentation import protocol as aug_protocol
from gan_jax.applications.augmentation import results as aug_results
from gan_jax import experiment as experiment_lib
from tests.conftest import load_experiment


def _hashes(images) -> set:
  return {row.tobytes() for row in np.asarray(images, np.float32)}


@pytest.fixture(scope='module')
def protocol_run(tmp_path_factory):
  """One :runlocal protocol (one cell: 5 digits a class, seed 0), every classifier's training
  images recorded."""
  config = load_experiment('augment_mnist', 'runlocal')
  workdir = str(tmp_path_factory.mktemp('augment'))
  seen = []
  real_train = classifier_lib.train

  def recording_train(cfg, images, labels, *args, **kwargs):
    seen.append(np.asarray(images))
    return real_train(cfg, images, labels, *args, **kwargs)
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(classifier_lib, 'train', recording_train)
    summary = augmentation.run(config, workdir)
  return config, workdir, summary, seen


def test_runlocal_protocol_writes_every_method_and_resumes(protocol_run, monkeypatch):
  config, workdir, summary, _ = protocol_run
  cell = json.load(open(os.path.join(workdir, 'n=5,seed=0', 'results.json')))
  assert set(cell['methods']) == set(aug_protocol.methods(config.protocol.ratios))
  assert cell['real_examples'] == 50
  # 40 classifier steps on 50 real digits: far above chance (10%), far from perfect.
  assert 0.3 < cell['methods']['real']['accuracy'] < 0.99
  assert cell['methods']['real+gan_x1']['train_examples'] == 100
  assert cell['gan_seconds'] > 0 and cell['wall_seconds'] >= cell['gan_seconds']
  rows = {r['method']: r for r in summary['rows']}
  assert rows['real']['seeds'] == 1 and rows['real']['mean'] == cell['methods']['real']['accuracy']
  for name in ('results.json', 'results.md', 'results.png'):
    assert os.path.getsize(os.path.join(workdir, name)) > 0
  assert '| real+classical |' in open(os.path.join(workdir, 'results.md')).read()

  def no_training(*args, **kwargs):
    raise AssertionError('a finished protocol trained again')
  with monkeypatch.context() as mp:
    mp.setattr(classifier_lib, 'train', no_training)
    assert augmentation.run(config, workdir)['rows'] == summary['rows']
  # Stopped after 'real': the GAN is restored, the images regenerated, and the other methods
  # give the very numbers of the uninterrupted run.
  path = os.path.join(workdir, 'n=5,seed=0', 'results.json')
  partial = dict(cell, methods={'real': cell['methods']['real']})
  del partial['gan_test']
  with open(path, 'w') as f:
    json.dump(partial, f)
  again = json.load(open(path)) if augmentation.run(config, workdir) else None
  assert {k: m['accuracy'] for k, m in again['methods'].items()} == {
      k: m['accuracy'] for k, m in cell['methods'].items()}
  assert again['gan_test'] == cell['gan_test']


def test_a_workdir_of_another_config_is_refused(protocol_run):
  config, workdir, _, _ = protocol_run
  saved = aug_cells.load_config(workdir)
  assert saved.classifier.steps == config.classifier.steps
  other = load_experiment('augment_mnist', 'runlocal')
  other.classifier.steps = 41
  with pytest.raises(configs.ConfigError, match=r'classifier.steps: 40 in the workdir, 41 now'):
    aug_cells.check_workdir(other, workdir)
  more = load_experiment('augment_mnist', 'runlocal')
  more.protocol.seeds = (0, 1)  # More seeds (or N) only add cells: accepted.
  aug_cells.check_workdir(more, workdir)
  aug_cells.check_workdir(config, workdir)


def test_a_field_added_since_a_workdir_was_written_counts_only_off_its_default(tmp_path):
  """A protocol_config.json written before eval.bn_stats existed resumes at its default
  ('running'), and is refused with 'standing'."""
  config = load_experiment('augment_mnist', 'runlocal')
  old = json.loads(config.to_json())
  del old['eval']['bn_stats']
  workdir = tmp_path / 'old'
  workdir.mkdir()
  (workdir / aug_cells.CONFIG_FILE).write_text(json.dumps(old))
  aug_cells.check_workdir(config, str(workdir))
  (workdir / aug_cells.CONFIG_FILE).write_text(json.dumps(old))
  config.eval.bn_stats = 'standing'
  with pytest.raises(configs.ConfigError, match=r"eval.bn_stats: '<absent>' in the workdir"):
    aug_cells.check_workdir(config, str(workdir))


def test_generated_images_are_drawn_for_their_labels(tiny_config, monkeypatch):
  """generate: the classes in turn, each image drawn for its own label, latents independent of
  how many are asked for."""
  import jax.numpy as jnp
  from gan_jax import sampling

  def fake_sampler(generator):  # An image whose pixel (0, 0) is the label, (0, 1) is z[0].
    def sample(params, g_vars, z, labels):
      img = jnp.zeros((len(z), 28, 28, 1)).at[:, 0, 0, 0].set(labels)
      return img.at[:, 0, 1, 0].set(z[:, 0])
    return sample
  monkeypatch.setattr(sampling, 'make_eval_sampler', fake_sampler)
  tiny_config.model.conditional = True
  exp = experiment_lib.Experiment(tiny_config)
  state = exp.init_state()
  images, labels = aug_cells.generate(exp, state, seed=3, num=1203)
  assert np.array_equal(labels, np.arange(1203) % 10)
  assert np.array_equal(images[:, 0, 0, 0], labels)
  fewer, _ = aug_cells.generate(exp, state, seed=3, num=7)
  assert np.array_equal(fewer[:, 0, 1, 0], images[:7, 0, 1, 0])
  assert len(np.unique(images[:, 0, 1, 0])) == 1203  # Every image its own latent.


def test_the_test_split_is_never_trained_on(protocol_run):
  config, _, _, seen = protocol_run
  data = aug_protocol.Data(config)
  test = _hashes(data.test_arrays()[0])
  cell = aug_protocol.cells(config)[0]
  real = _hashes(data.real(cell)[0])
  assert len(real) == 50 and not real & test
  # The GAN's batches: only the cell's real subset.
  exp = experiment_lib.Experiment(aug_protocol.gan_config(config, cell))
  gan_seen = _hashes(np.concatenate([exp.batchers[0].batch(k) for k in range(20)]))
  assert gan_seen <= real
  # Every classifier: no test image among its training images; the reference classifier of
  # GAN-test trains on the whole training split, the others on the subset and generated images.
  assert len(seen) == len(aug_protocol.methods(config.protocol.ratios)) + 1
  for images in seen:
    assert not _hashes(images) & test
  assert any(_hashes(images) == real for images in seen)  # 'real' trains on exactly the subset.


def test_training_sets_have_the_stated_sizes_and_balanced_labels():
  n, c = 30, 10
  real = (np.zeros((n, 2, 2, 1), np.float32), np.arange(n) % c)
  gen = (np.ones((4 * n, 2, 2, 1), np.float32), np.arange(4 * n) % c)
  sets = aug_cells.training_sets(real, gen, (0.5, 1, 4))
  assert list(sets) == aug_protocol.methods((0.5, 1, 4))
  sizes = {k: len(v[0]) for k, v in sets.items()}
  assert sizes == {'real': n, 'real+classical': n, 'real+gan_x0.5': 45, 'real+gan_x1': 60,
                   'real+gan_x4': 150, 'real+gan_x0.5+classical': 45,
                   'real+gan_x1+classical': 60, 'real+gan_x4+classical': 150,
                   'gan_only': 120}
  assert [v[2] for v in sets.values()] == [False, True, False, False, False, True, True, True,
                                           False]
  x, y, _ = sets['real+gan_x1']
  assert x[:n].max() == 0 and x[n:].min() == 1 and np.all(np.bincount(y) == 6)


def test_summary_is_mean_and_sample_std_over_seeds():
  config = load_experiment('augment_mnist')
  cells = [{'per_class': 10, 'seed': s, 'gan_test': g,
            'methods': {'real': {'accuracy': a}}} for s, a, g in
           ((0, 0.5, 0.9), (1, 0.7, 0.8), (2, 0.9, 0.7))]
  rows = {r['method']: r for r in aug_results.summarize(config, cells)['rows']}
  assert rows['real']['mean'] == pytest.approx(0.7)
  assert rows['real']['std'] == pytest.approx(np.std([0.5, 0.7, 0.9], ddof=1))
  assert rows['real']['seeds'] == 3 and rows['gan_test']['mean'] == pytest.approx(0.8)
  assert 'real+classical' not in rows  # No cell has it yet.
  table = aug_results.table_markdown(aug_results.summarize(config, cells), config.protocol.ratios)
  assert '| real | 70.0 ± 20.0 (3) |' in table


@pytest.mark.parametrize('field,value,message', [
    ('protocol.per_class', (10, 500), r'per_class=500 exceeds the 450 examples of class'),
    ('protocol.ratios', (1.0, -1.0), r'protocol.ratios must be a non-empty tuple of distinct numbers >= 0'),
    ('protocol.ratios', (0.0,), r'needs a ratio above 0'),
    ('protocol.test_split', 'train', r'test_split=.train. is the training split'),
    ('model.conditional', False, r'set model.conditional=True'),
    ('classifier.steps', 0, r'classifier.steps must be an integer >= 1'),
    ('protocol.per_class', (10, 10), r'protocol.per_class must be a non-empty tuple of distinct'),
    ('protocol.ratios', (0.001,), r'gives no generated image beside the 50 real ones'),
])
def test_bad_inputs_fail_before_anything_trains(tmp_path, monkeypatch, field, value, message):
  config = load_experiment('augment_mnist', 'runlocal')
  config.protocol.per_class = (5,)
  section, name = field.split('.')
  with config.unlocked():
    config[section][name] = value
  monkeypatch.setattr(classifier_lib, 'train', lambda *a, **k: pytest.fail('trained'))
  with pytest.raises((configs.ConfigError, data_lib.DataError), match=message):
    augmentation.run(config, str(tmp_path / 'w'))
  assert not os.path.exists(tmp_path / 'w')  # Nothing written.


def test_an_experiment_without_the_protocol_is_refused(tmp_path):
  with pytest.raises(configs.ConfigError, match='no protocol or classifier section'):
    augmentation.run(load_experiment('dcgan_mnist', 'runlocal'), str(tmp_path / 'w'))
  assert not os.path.exists(tmp_path / 'w')


@pytest.mark.parametrize('name', ['augment_mnist', 'augment_digits'])
def test_the_full_experiments_pass_every_check(name):
  config = load_experiment(name)
  assert len(aug_protocol.cells(config)) >= 9 and len(config.protocol.seeds) >= 3
  aug_protocol.check(config)


def test_the_study_kind_reads_a_finished_cell_and_refuses_a_misnamed_one(protocol_run):
  """kind 'augmentation' (the study's run of one cell) records exactly the cell's results.json,
  and the study's report states its numbers per seed."""
  from gan_jax.study import Run, kinds, spec
  _, workdir, _, _ = protocol_run
  run = Run(name='augment_mnist/n=5,seed=0', kind='augmentation',
            config='experiments/augment_mnist.py:runlocal', seed=0,
            overrides={'protocol.per_class': (5,), 'protocol.seeds': (0,)},
            labels={'data': 'mnist', 'n': '5'})
  kind = kinds.get('augmentation')
  cell = json.load(open(os.path.join(workdir, 'n=5,seed=0', 'results.json')))
  result = kind.result(run, os.path.join(workdir, 'n=5,seed=0'))
  assert result['accuracy'] == {k: m['accuracy'] for k, m in cell['methods'].items()}
  assert result['gan_test'] == cell['gan_test'] and 0 < result['reference_accuracy'] <= 1
  assert kind.result(run, os.path.join(workdir, 'n=6,seed=0')) is None
  with pytest.raises(configs.ConfigError, match='must end in its cell'):
    kind.train(run, os.path.join(workdir, 'elsewhere'))
  with pytest.raises(configs.ConfigError, match='is one cell'):
    kind.config(Run(name='x', kind='augmentation', config='experiments/augment_mnist.py'))
  study = configs.load_module(os.path.join(os.path.dirname(__file__), '..', 'experiments',
                                           'studies', 'augmentation.py'))
  page = study.report(spec.Results(runs=[run], records={run.name: {'result': result}}))
  text = '\n'.join(page.lines)
  assert f'| real | {100 * result["accuracy"]["real"]:.1f} ± 0.0 (1) |' in text
  assert f'| gan_only | {100 * result["accuracy"]["gan_only"]:.1f} |' in text  # Per seed.


@pytest.mark.slow
def test_the_augmentation_study_runs_end_to_end_and_regenerates_its_page(tmp_path):
  """experiments/studies/augmentation.py:runlocal through `python -m gan_jax.study`: one cell
  trained, recorded per seed, and the page rewritten byte for byte from its .json alone."""
  import subprocess
  import sys
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  cmd = [sys.executable, '-m', 'gan_jax.study', 'experiments/studies/augmentation.py:runlocal',
         '--workdir', str(tmp_path / 'runs'), '--docs_dir', str(tmp_path / 'docs')]
  r = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=900)
  assert r.returncode == 0, r.stderr[-3000:]
  page = (tmp_path / 'docs' / 'augmentation_runlocal.md').read_text()
  record = json.loads((tmp_path / 'docs' / 'augmentation_runlocal.json').read_text())['runs']
  result = record['augment_mnist/n=5,seed=0']['result']
  assert f'| real | {100 * result["accuracy"]["real"]:.1f} |' in page  # The per-seed table.
  assert '1 of 1 runs finished' in page
  first = {p.name: p.read_bytes() for p in (tmp_path / 'docs').iterdir()}
  r = subprocess.run(cmd + ['--report_only'], cwd=repo, capture_output=True, text=True,
                     timeout=300)
  assert r.returncode == 0, r.stderr[-3000:]
  assert first == {p.name: p.read_bytes() for p in (tmp_path / 'docs').iterdir()}
