"""Run kind 'main_job' (gan_jax/study/kind_main_job.py), gan_jax/digit_reading.py and the
main_job study."""
import dataclasses
import os

import numpy as np
import pytest

from gan_jax import configs
from gan_jax import digit_reading
from gan_jax.study import engine, spec
from gan_jax.study import kind_main_job as kind

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(REPO, 'experiments', 'studies', 'main_job.py')


def test_flat_and_class_counts_of_a_reader():
  images = np.arange(2 * 3 * 3 * 1).reshape(2, 3, 3, 1)
  assert digit_reading.flat(images).shape == (2, 9)
  assert digit_reading.flat(images).dtype == np.float32

  class Reader:  # Reads an image as the class of its first pixel.
    def predict(self, rows):
      return rows[:, 0].astype(int)
  x = np.zeros((5, 2, 2, 1))
  x[:, 0, 0, 0] = [3, 3, 0, 9, 3]
  assert digit_reading.class_counts(Reader(), x) == [1, 0, 0, 3, 0, 0, 0, 0, 0, 1]
  assert digit_reading.class_counts(Reader(), x[:0], 4) == [0, 0, 0, 0]


def test_eval_seconds_is_the_last_evaluation_of_the_log():
  log = ('I1206 evaluation.py:148] eval at step 2 (features, 256 samples, 21.6s): fid 2730\n'
         'I1206 train.py:256] Done\n'
         'I1206 evaluation.py:148] eval at step 4 (features, 256 samples, 3.0s): fid 27\n')
  assert kind.eval_seconds(log) == 3.0
  assert kind.eval_seconds('no evaluation') is None


def _line(step, rate, d_loss=1.0):
  return {'step': step, 'steps_per_s': rate, 'd_loss': d_loss, 'g_loss': 2.0, 'd_real': 0.6,
          'd_fake': 0.4}


def test_training_numbers_leave_the_compiling_interval_out():
  lines = [_line(100, 0.5), _line(200, 2.0), _line(300, 10.0), _line(400, 4.0, d_loss=1.5)]
  numbers = kind.training_numbers(lines)
  assert numbers['steps_per_s'] == 4.0  # Median of 2, 10, 4.
  assert numbers['step'] == 400 and numbers['log_interval'] == 100
  assert numbers['last'] == {'d_loss': 1.5, 'g_loss': 2.0, 'd_real': 0.6, 'd_fake': 0.4}
  one = kind.training_numbers([_line(4, 0.25)])
  assert (one['steps_per_s'], one['log_interval']) == (0.25, 4)
  with pytest.raises(ValueError, match='no training line'):
    kind.training_numbers([])


def test_machine_names_jaxs_platform(monkeypatch):
  from gan_jax import provenance
  monkeypatch.setattr(provenance, 'machine', lambda: 'CPU X, 2 cores')
  assert kind.machine('cpu') == 'CPU X, 2 cores, no GPU (JAX on the CPU)'
  assert kind.machine('gpu') == 'CPU X, 2 cores, JAX on the GPU'


def test_the_run_is_make_trains_command_as_it_is():
  (run,) = engine.load(STUDY).runs
  assert kind.command(run, '/r')[1:] == ['-m', 'gan_jax.main',
                                         '--config=experiments/dcgan_mnist.py', '--workdir=/r']
  assert kind.config(run).train.num_steps == 5000
  for bad in ({'overrides': {'train.num_steps': 4}}, {'seed': 3}):
    with pytest.raises(configs.ConfigError, match='as it is'):
      kind.config(dataclasses.replace(run, **bad))
  with pytest.raises(configs.ConfigError, match='valid: runlocal'):
    engine.load(STUDY, 'x')


RESULT = {
    'seconds': 600, 'eval_seconds': 12.4, 'machine': 'M', 'batch_size': 32, 'data': 'mnist5k',
    'step': 5000, 'steps_per_s': 11.914, 'last': {'d_loss': 1.3084, 'g_loss': 0.9, 'd_real': 0.5,
                                                  'd_fake': 0.25},
    'log_interval': 100, 'eval': {'fid': 40.94, 'precision': 0.734, 'recall': 0.5,
                                  'density': 0.6, 'coverage': 0.7, 'confident_percent': 97.55,
                                  'classes_present': 9.0},
    'eval_protocol': {'num_generated': 5000, 'num_reference': 4500, 'features': 'f'},
    'final_grid': 'step_0005000.png', 'grid_shape': [10, 8], 'row_per_class': True,
    'digit_accuracy': 0.9276, 'grid_classes': [8] * 10, 'fresh_classes': [0] + [25] * 4 + [0] * 5}


def test_report_states_the_runs_numbers():
  study = engine.load(STUDY)
  (run,) = study.runs
  text = '\n'.join(study.report(spec.Results(runs=[run], records={
      run.name: {'result': RESULT}})).lines)
  assert ('(experiments/dcgan_mnist.py, 5000 steps at batch 32 on mnist5k) took **10.0 '
          'minutes** of wall time, compilation and its final evaluation (12 s) included, on M;'
          ) in text
  assert ('(5,000 samples against the 4,500 training digits, f features): FID 40.9, precision '
          '0.73, recall 0.50, density 0.60, coverage 0.70; 97.5% of samples labelled with '
          'confidence >= 0.9, 9 of 10 classes present.') in text
  assert '![final samples](dcgan_mnist_samples.png)' in text
  assert 'Final grid: step_0005000.png (10x8, the run\'s fixed latent batch, a row per class).' \
      in text
  assert '| steps/s (median of logged intervals after the first) | 11.91 |' in text
  assert '| final d_loss / g_loss (mean of last 100 steps) | 1.308 / 0.900 |' in text
  assert '| classes in 100 fresh samples, counts 0..9 | 4 of 10: [0, 25, 25, 25, 25, 0,' in text
  assert '| classes in the 80-sample grid (per that classifier), counts 0..9 | 10 of 10:' in text


@pytest.mark.slow  # Trains dcgan_mnist:runlocal (4 steps) and reads its samples: 1-2 minutes.
def test_runlocal_study_trains_reads_copies_and_reports_again_byte_for_byte(tmp_path):
  from gan_jax.reports import pages
  from gan_jax.study import __main__ as cli
  study = engine.load(STUDY, 'runlocal')
  picture = tmp_path / 'samples.png'
  run = dataclasses.replace(study.runs[0], args={**study.runs[0].args,
                                                 'samples_png': str(picture)})
  study = dataclasses.replace(study, runs=[run])
  workdir, docs = str(tmp_path / 'runs'), str(tmp_path / 'docs')
  assert engine.work(study, workdir, None, {}) == 1
  cli.report(study, engine.collect(study, workdir, {}), docs)
  r = engine.collect(study, workdir, {})[run.name]['result']
  assert r['step'] == 4 and r['final_grid'] == 'step_0000004.png' and r['row_per_class']
  assert picture.read_bytes() == open(os.path.join(workdir, run.name, 'samples',
                                                   r['final_grid']), 'rb').read()
  assert sum(r['grid_classes']) == 80 and sum(r['fresh_classes']) == 100
  assert r['digit_accuracy'] > 0.85  # Logistic regression on pixels (the page's run: 0.928).
  first = {p: open(os.path.join(docs, p), 'rb').read() for p in os.listdir(docs)}
  saved = pages.saved_records(pages.read(docs, study.name))
  cli.report(study, {x.name: saved.get(x.name) for x in study.runs}, docs)
  assert {p: open(os.path.join(docs, p), 'rb').read() for p in os.listdir(docs)} == first
