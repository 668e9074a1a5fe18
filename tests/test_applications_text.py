"""The language-model baseline (gan_jax/applications/text): its likelihood against a numpy
recomputation, training through the shared loop, temperature sampling, resume (in process and after
a kill -9), eval.json, samples in TensorBoard, and the configs it refuses."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import workdir as workdir_lib
from gan_jax import writers
from gan_jax.applications.text import config as config_lib
from gan_jax.applications.text import evaluation
from gan_jax.applications.text import lm
from gan_jax.applications.text import model as model_lib
from gan_jax.applications.text import task as task_lib
from tests.conftest import REPO


def lm_config(**train):
  """A tiny LM on a small 'cfg' source: 180 train and 20 held-out sentences, V = 13, L = 20."""
  config = configs.base_config()
  config.lm = config_lib.defaults()
  config.data.source = 'cfg'
  config.data.text.num_sequences = 200
  config.data.batch_size = 32
  config.lm.update(embed=8, hidden=24, lr=1e-2, temperatures=(0.5, 1.0))
  config.train.update({'num_steps': 120, 'log_every': 40, 'ckpt_every': 60, **train})
  config.eval.num_samples = 60
  return config


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  """(config, workdir, eval.json's dict, the final state) of one run of lm_config()."""
  config = lm_config()
  workdir = str(tmp_path_factory.mktemp('lm') / 'run')
  record = lm.run(config, workdir)
  state = lm.train(config, workdir)  # Finished: restores the last checkpoint, trains nothing.
  return config, workdir, record, state


# --- The model's likelihood -------------------------------------------------------------------
def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


def _dense(p, name, x):
  layer = p[name]
  return x @ np.asarray(layer['kernel'], np.float64) + (
      np.asarray(layer['bias'], np.float64) if 'bias' in layer else 0)


def _lstm_step(p, carry, x):
  c, h = carry
  i = _sigmoid(_dense(p, 'ii', x) + _dense(p, 'hi', h))
  f = _sigmoid(_dense(p, 'if', x) + _dense(p, 'hf', h))
  g = np.tanh(_dense(p, 'ig', x) + _dense(p, 'hg', h))
  o = _sigmoid(_dense(p, 'io', x) + _dense(p, 'ho', h))
  c = f * c + i * g
  h = o * np.tanh(c)
  return (c, h), h


def _gru_step(p, h, x):
  r = _sigmoid(_dense(p, 'ir', x) + _dense(p, 'hr', h))
  z = _sigmoid(_dense(p, 'iz', x) + _dense(p, 'hz', h))
  n = np.tanh(_dense(p, 'in', x) + r * _dense(p, 'hn', h))
  h = (1 - z) * n + z * h
  return h, h


def reference_nll(params, cell: str, vocab: int, hidden: int, tokens_NxL) -> np.ndarray:
  """(N, L) NLL per token, step by step in float64 numpy from the parameters: start token id V,
  each layer's cell on the layer below's output, a dense readout, log-softmax."""
  layers = sorted((k for k in params if k.startswith('cells_')), key=lambda k: int(k[6:]))
  step = _lstm_step if cell == 'lstm' else _gru_step
  n, length = tokens_NxL.shape
  zeros = np.zeros((n, hidden))
  carry = [(zeros, zeros) if cell == 'lstm' else zeros for _ in layers]
  table = np.asarray(params['embedding']['embedding'], np.float64)
  prev, out = np.full(n, vocab), np.zeros((n, length))
  for t in range(length):
    x = table[prev]
    for j, name in enumerate(layers):
      carry[j], x = step(params[name], carry[j], x)
    logits = _dense(params, 'readout', x)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    out[:, t] = -logp[np.arange(n), tokens_NxL[:, t]]
    prev = tokens_NxL[:, t]
  return out


@pytest.mark.parametrize('cell', ['lstm', 'gru'])
def test_teacher_forced_nll_equals_a_numpy_recomputation(cell):
  model = model_lib.LanguageModel(3, cell=cell, embed=2, hidden=4, num_layers=2)
  params = model.init(jax.random.PRNGKey(7), jnp.zeros((1, 6), jnp.int32))['params']
  # Larger weights than the initialiser's, so every token's probability differs clearly.
  params = jax.tree.map(lambda p: p * 3.0, params)
  assert set(params) == {'embedding', 'cells_0', 'cells_1', 'readout'}
  assert params['embedding']['embedding'].shape == (4, 2)  # 3 tokens + the start token.
  assert params['readout']['kernel'].shape == (4, 3)  # The start token is never predicted.
  tokens = np.random.default_rng(0).integers(0, 3, (5, 6)).astype(np.int32)
  expected = reference_nll(params, cell, 3, 4, tokens)
  got = np.asarray(model_lib.token_nll(model, params, jnp.asarray(tokens)), np.float64)
  np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
  assert np.ptp(expected) > 0.5  # A test that could tell positions apart.
  assert model_lib.heldout_nll(model, params, tokens) == pytest.approx(expected.mean(), rel=1e-5)
  # With token 2 as the end symbol, each row counts up to and including its first 2.
  counted = np.array([[j <= (list(r).index(2) if 2 in r else 5) for j in range(6)] for r in tokens])
  assert counted.sum() < tokens.size  # Some padding is left out.
  assert model_lib.heldout_nll(model, params, tokens, end_id=2) == pytest.approx(
      expected[counted].mean(), rel=1e-5)


# --- Training, sampling, resume ---------------------------------------------------------------
@pytest.mark.slow
def test_training_lowers_the_heldout_nll(finished_run):
  config, workdir, record, state = finished_run
  task = task_lib.LMTask(config, evaluating=False)
  initial = task.initial_state().params
  end_id = task.source.vocab.end_id
  before = model_lib.heldout_nll(task.model, initial, task.heldout_NxL, end_id)
  uniform = np.log(task.source.vocab.size)
  logged = writers.read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
  assert [r['step'] for r in logged] == [40, 80, 120]
  assert all(set(r) >= {'loss', 'heldout_nll'} for r in logged)
  final = logged[-1]['heldout_nll']
  assert final == pytest.approx(model_lib.heldout_nll(task.model, state.params, task.heldout_NxL,
                                                     end_id))
  # Counted up to each row's end symbol (none of the free padding after it): 120 steps of a tiny
  # LSTM take it from about uniform (2.54 nats here) to about two thirds of it (1.71).
  assert final < 0.75 * uniform and final < 0.75 * before, (final, before, uniform)
  assert record['heldout_nll'] < 0.75 * uniform and int(state.step) == 120


def greedy_by_hand(model, params, length: int) -> list:
  """The argmax continuation of the start token, one `step` at a time."""
  step = jax.jit(lambda carry, token: model.apply({'params': params}, carry, token,
                                                  method=model.step))
  carry = model_lib.zero_carry(model.cell, model.num_layers, model.hidden, 1)
  token, row = np.array([model.vocab_size], np.int32), []
  for _ in range(length):
    carry, logits = step(carry, token)
    token = np.argmax(np.asarray(logits), axis=-1).astype(np.int32)
    row.append(int(token[0]))
  return row


@pytest.mark.slow
def test_low_temperature_is_greedy_and_high_temperature_diverse(finished_run):
  config, _, _, state = finished_run
  task = task_lib.LMTask(config, evaluating=False)
  model, params, length = task.model, state.params, task.length
  n = config.eval.num_samples  # The run's sample count: its compiled sampler again.
  greedy = greedy_by_hand(model, params, length)
  for temperature in (1e-4, 0.0):
    rows = model_lib.sample(model, params, n, length, seed=3, temperature=temperature)
    assert rows.shape == (n, length) and rows.dtype == np.int32
    assert (rows == np.array(greedy)).all(), (temperature, rows[:2], greedy)
  unique = {t: len({tuple(r) for r in model_lib.sample(model, params, n, length, 0, t)})
            for t in (0.3, 1.5)}
  assert unique[1.5] > unique[0.3] + 10, unique
  # A pure function of (params, seed, temperature index, T); another index draws others.
  a = model_lib.sample(model, params, n, length, 0, 1.0, index=1)
  assert (a == model_lib.sample(model, params, n, length, 0, 1.0, index=1)).all()
  assert (a != model_lib.sample(model, params, n, length, 0, 1.0, index=2)).any()


class Stop(Exception):
  pass


@pytest.mark.slow
def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path, monkeypatch):
  config = lm_config(num_steps=6, log_every=1, ckpt_every=2)
  config.lm.dropout = 0.3  # Dropout keys must follow the step, too.
  full = lm.train(config, str(tmp_path / 'full'))
  step_batch, asked = data_lib.Batcher.step_batch, []

  def stop_at_step_3(self, step, *args):
    if step == 3:
      raise Stop()
    return step_batch(self, step, *args)
  monkeypatch.setattr(data_lib.Batcher, 'step_batch', stop_at_step_3)
  with pytest.raises(Stop):  # After the checkpoint at step 2, with step 3's update done.
    lm.train(config, str(tmp_path / 'resumed'))
  assert sorted(os.listdir(tmp_path / 'resumed' / 'checkpoints')) == ['2']

  def counting(self, step, *args):
    asked.append(step)
    return step_batch(self, step, *args)
  monkeypatch.setattr(data_lib.Batcher, 'step_batch', counting)
  resumed = lm.train(config, str(tmp_path / 'resumed'))
  assert asked == [2, 3, 4, 5]  # Resumed from step 2, not started over.
  for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  logs = [[{k: v for k, v in r.items() if k != 'steps_per_s'}
           for r in writers.read_jsonl(str(tmp_path / d / 'metrics.jsonl'))]
          for d in ('full', 'resumed')]
  assert logs[0] == logs[1] and [r['step'] for r in logs[0]] == [1, 2, 3, 4, 5, 6]


# The killed run: cfg,runlocal of experiments/text_lm.py made small, dropout on (its keys must
# follow the step), checkpoints every 4 of 12 steps.
KILLED_OVERRIDES = {'data.text.num_sequences': 200, 'data.batch_size': 32, 'lm.dropout': 0.3,
                    'train.num_steps': 12, 'train.log_every': 2, 'train.sample_every': 4,
                    'train.ckpt_every': 4, 'eval.num_samples': 60}
SLOW_STEP_S = 0.5  # The killed process's delay before each batch: still training when killed.
# gan_jax.main with each step's batch delayed (the numbers are untouched).
SLOW_MAIN = f"""
import time
from absl import app
from gan_jax import cli, data, main
step_batch = data.Batcher.step_batch
def slow(self, *args, **kwargs):
  time.sleep({SLOW_STEP_S})
  return step_batch(self, *args, **kwargs)
data.Batcher.step_batch = slow
app.run(main.main, flags_parser=cli.parse_flags)
"""


def _killed_config():
  from gan_jax import sweep
  from tests.conftest import load_experiment
  return sweep.apply_overrides(load_experiment('text_lm', 'cfg,runlocal'), KILLED_OVERRIDES)


def _kill_after_checkpoint(workdir: str, step: int) -> None:
  """`--mode=lm` in a subprocess, killed (SIGKILL) once its checkpoint `step` is finished (its
  manifest written) while it still trains."""
  flags = [f'--config.{k}={v}' for k, v in KILLED_OVERRIDES.items()]
  proc = subprocess.Popen(
      [sys.executable, '-c', SLOW_MAIN, '--mode=lm', '--config=experiments/text_lm.py:cfg,runlocal',
       f'--workdir={workdir}', *flags], cwd=REPO, stdout=subprocess.DEVNULL,
      stderr=subprocess.PIPE, env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  manifest = os.path.join(workdir, 'checkpoints', str(step), 'gan_jax_manifest.json')
  deadline = time.time() + 300
  while not os.path.exists(manifest) and proc.poll() is None and time.time() < deadline:
    time.sleep(0.02)
  running = proc.poll() is None
  proc.send_signal(signal.SIGKILL)
  _, err = proc.communicate()
  assert running and os.path.exists(manifest), err.decode()[-3000:]


def _outputs(workdir: str) -> dict:
  """What a run leaves, timing aside: metrics.jsonl, eval.json, every sample file."""
  samples = os.path.join(workdir, 'samples')
  return {'metrics': [{k: v for k, v in r.items() if k != 'steps_per_s'}
                      for r in writers.read_jsonl(os.path.join(workdir, 'metrics.jsonl'))],
          'eval': json.load(open(os.path.join(workdir, 'eval.json'))),
          'samples': {n: open(os.path.join(samples, n)).read() for n in os.listdir(samples)}}


@pytest.mark.slow
def test_killed_and_resumed_run_equals_uninterrupted_bit_for_bit(tmp_path, monkeypatch):
  config = _killed_config()
  killed = str(tmp_path / 'killed')
  _kill_after_checkpoint(killed, 4)
  assert os.path.exists(os.path.join(killed, '.lock'))  # A dead run's: taken over on resume.
  step_batch, asked = data_lib.Batcher.step_batch, []

  def counting(self, step, *args):
    asked.append(step)
    return step_batch(self, step, *args)
  monkeypatch.setattr(data_lib.Batcher, 'step_batch', counting)
  resumed_record = lm.run(config, killed)
  first = asked[0]
  assert first in (4, 8) and asked == list(range(first, 12)), asked  # Resumed, not started over.
  monkeypatch.undo()
  full = str(tmp_path / 'full')
  assert lm.run(config, full) == resumed_record
  states = [lm.train(config, d) for d in (full, killed)]  # Finished: restored, not trained.
  for a, b in zip(*map(jax.tree.leaves, states), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  want, got = _outputs(full), _outputs(killed)
  assert [r['step'] for r in want['metrics']] == [2, 4, 6, 8, 10, 12]
  assert sorted(want['samples']) == ['step_0000004.txt', 'step_0000008.txt', 'step_0000012.txt',
                                     *[f'temperature_{t}.txt' for t in ('0.5', '0.7', '0.85',
                                                                        '1.0', '1.2')]]
  assert got == want


# --- Outputs ----------------------------------------------------------------------------------
def test_eval_json_has_every_temperature_and_the_samples(finished_run):
  config, workdir, record, _ = finished_run
  with open(os.path.join(workdir, 'eval.json')) as f:
    saved = json.load(f)
  assert saved == json.loads(json.dumps(record))
  assert saved['kind'] == 'lm' and saved['step'] == 120 and saved['heldout_rows'] == 20
  assert list(saved['temperatures']) == ['0.5', '1.0']
  for metrics in saved['temperatures'].values():
    assert {'js_1', 'bleu_2', 'self_bleu_2', 'unique_percent', 'accepted_percent'} <= set(metrics)
    assert 0 <= metrics['accepted_percent'] <= 100
  assert saved['protocol']['kind'] == 'text' and saved['protocol']['num_generated'] == 60
  vocab = data_lib.get_source(config.data).vocab
  for name in ('0.5', '1.0'):
    with open(os.path.join(workdir, 'samples', f'temperature_{name}.txt')) as f:
      lines = f.read().split('\n')
    assert len(lines) == 61 and lines[-1] == ''  # 60 samples (fewer than 100), one a line.
    assert all(set(line.split()) <= set(vocab.tokens) for line in lines)
  with open(os.path.join(workdir, 'vocab.json')) as f:
    assert json.load(f) == vocab.to_json()
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['lm']['temperatures'] == [0.5, 1.0]


def _text_events(workdir: str) -> list:
  """(step, tag, text) of the TensorBoard text summaries in a workdir's event files (TFRecord
  framing, tensorboardX's protobufs; tensorboardX adds '/text_summary' to the tag)."""
  import struct
  from tensorboardX.proto import event_pb2
  found = []
  for name in sorted(n for n in os.listdir(workdir) if n.startswith('events.out.tfevents')):
    data, pos = open(os.path.join(workdir, name), 'rb').read(), 0
    while pos < len(data):
      (length,) = struct.unpack('<Q', data[pos:pos + 8])
      event = event_pb2.Event()
      event.ParseFromString(data[pos + 12:pos + 12 + length])
      pos += 12 + length + 4
      found += [(event.step, v.tag.removesuffix('/text_summary'), v.tensor.string_val[0].decode())
                for v in event.summary.value if v.tensor.string_val]
  return found


def test_samples_go_to_files_and_tensorboard_as_a_gan_s(finished_run):
  config, workdir, _, _ = finished_run
  vocab = data_lib.get_source(config.data).vocab
  with open(os.path.join(workdir, 'samples', 'step_0000120.txt')) as f:
    picture = f.read()  # train.sample_every=500: the last step's, 64 rows at T = 1.
  lines = picture.split('\n')
  assert len(lines) == task_lib.SAMPLE_TEXTS + 1 and lines[-1] == ''
  assert all(set(line.split()) <= set(vocab.tokens) for line in lines)
  texts = {(step, tag): text for step, tag, text in _text_events(workdir)}
  assert sorted(texts) == [(120, 'samples'), (120, 'samples/temperature_0.5'),
                           (120, 'samples/temperature_1.0')]
  assert texts[120, 'samples'] == '```\n' + picture.rstrip('\n') + '\n```'
  with open(os.path.join(workdir, 'samples', 'temperature_0.5.txt')) as f:
    assert texts[120, 'samples/temperature_0.5'] == '```\n' + f.read().rstrip('\n') + '\n```'


def test_a_finished_run_is_evaluated_again_not_trained(finished_run, tmp_path):
  config, workdir, record, _ = finished_run
  copy = str(tmp_path / 'copy')
  shutil.copytree(workdir, copy)
  os.remove(os.path.join(copy, 'eval.json'))
  before = open(os.path.join(copy, 'metrics.jsonl')).read()
  assert lm.run(config, copy) == record
  assert open(os.path.join(copy, 'metrics.jsonl')).read() == before
  with open(os.path.join(copy, 'eval.json')) as f:
    assert json.load(f) == json.loads(json.dumps(record))
  assert not os.path.exists(os.path.join(copy, '.lock'))


def test_another_vocabulary_is_refused(finished_run, tmp_path):
  config, workdir, _, _ = finished_run
  copy = str(tmp_path / 'copy')
  shutil.copytree(workdir, copy)
  with open(os.path.join(copy, 'vocab.json')) as f:
    vocab = json.load(f)
  vocab['tokens'][2] = 'zz'
  with open(os.path.join(copy, 'vocab.json'), 'w') as f:
    json.dump(vocab, f)
  expected = r"vocab.json records another vocabulary.*'zz'.*new --workdir"
  with pytest.raises(workdir_lib.WorkdirError, match=expected):
    lm.run(config, copy)


# --- Configs refused --------------------------------------------------------------------------
@pytest.mark.parametrize('source, kind', [('ring8', '2-D points'), ('mnist5k', 'images')])
def test_a_non_sequence_source_is_refused_before_anything_is_built(source, kind, tmp_path,
                                                                    monkeypatch):
  def no(*args, **kwargs):
    raise AssertionError('built something')
  monkeypatch.setattr(data_lib, 'get_source', no)
  monkeypatch.setattr(task_lib, 'init_state', no)
  monkeypatch.setattr(task_lib, 'make_update', no)
  config = lm_config()
  config.data.source = source
  with pytest.raises(configs.ConfigError, match=f'the language model takes token sequences; '
                     f'data.source={source!r} is {kind}'):
    lm.run(config, str(tmp_path / 'w'))
  assert not (tmp_path / 'w').exists()


def test_problems_names_every_bad_field():
  config = lm_config()
  config.lm.update(cell='rnn', hidden=0, lr=-1.0, dropout=1.0, temperatures=(1.0, 1.0))
  config.num_seeds = 2
  found = '\n'.join(config_lib.problems(config))
  for field in ("lm.cell 'rnn'", 'lm.hidden', 'lm.lr', 'lm.dropout', 'lm.temperatures',
                'num_seeds'):
    assert field in found, (field, found)
  assert len(config_lib.problems(config)) == 6
  assert config_lib.problems(lm_config()) == []
  del config['lm']
  assert 'no lm section' in config_lib.problems(config)[0]


@pytest.mark.slow
def test_mode_lm_of_a_gan_experiment_is_one_line(tmp_path):
  r = subprocess.run([sys.executable, '-m', 'gan_jax.main', '--mode=lm',
                      '--config=experiments/dcgan_mnist.py:runlocal',
                      f'--workdir={tmp_path / "w"}'], cwd=REPO, capture_output=True, text=True,
                     timeout=120, env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
  assert 'ConfigError: Invalid config:\n  - The config has no lm section' in r.stderr
  assert not (tmp_path / 'w').exists()


@pytest.mark.parametrize('benchmark, metric', [('words', 'heldout_percent'),
                                               ('oracle', 'nll_oracle')])
def test_the_experiment_s_runlocal_trains_and_evaluates(benchmark, metric, tmp_path):
  from tests.conftest import load_experiment
  config = load_experiment('text_lm', f'{benchmark},runlocal')
  gan = load_experiment('text_gan', f'{benchmark},runlocal')
  assert config.data.to_dict() == gan.data.to_dict()  # The GAN's data, split and all.
  e = lm.run(config, str(tmp_path / 'run'))
  assert sorted(e['temperatures']) == sorted(evaluation.temperature_name(t)
                                             for t in config.lm.temperatures)
  assert all(metric in m for m in e['temperatures'].values())
  assert np.isfinite(e['heldout_nll'])
