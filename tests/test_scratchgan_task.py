"""ScratchGAN's training (gan_jax/applications/text/scratchgan_task.py): D's loss with the
reference's L2 convention, G learning a two-word language from D's rewards alone, resume equal to
an uninterrupted run (D, both optimizers and the baseline included), the experiment's runlocal,
and the configs it refuses."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import writers
from gan_jax.applications.text import config as config_lib
from gan_jax.applications.text import lm
from gan_jax.applications.text import model as model_lib
from gan_jax.applications.text import scratchgan as sg
from gan_jax.applications.text import scratchgan_task as sgt

LANGUAGE = ('ab', 'cd')  # The two words of the learning test's data.


def scratchgan_config(path: str, **train):
  """ScratchGAN on a text file of LANGUAGE's words (rows of 3 tokens: 2 letters and the end
  symbol; V = 5), small G and D."""
  config = configs.base_config()
  config.lm = config_lib.defaults()
  config.lm.update(embed=8, hidden=32, objective='scratchgan', temperatures=(1.0,))
  config.scratchgan = config_lib.scratchgan_defaults()
  config.scratchgan.update(d_embed=8, d_hidden=32, g_lr=1e-2, d_lr=1e-2)
  config.data.source = f'text_file:{path}'
  config.data.text.length = 3
  config.data.batch_size = 64
  config.train.update({'num_steps': 300, 'log_every': 100, 'ckpt_every': 100, **train})
  config.eval.num_samples = 64
  return config


@pytest.fixture(scope='module')
def language_file(tmp_path_factory) -> str:
  path = tmp_path_factory.mktemp('language') / 'words.txt'
  path.write_text('\n'.join(LANGUAGE * 100) + '\n')
  return str(path)


def _spec(config):
  task = sgt.ScratchGanTask(config, evaluating=False)
  return task, task.spec


def test_d_loss_is_the_reference_s_with_half_the_squared_weights(language_file):
  """[ref] experiment.py: tf.reduce_mean(disc_loss) + l2_disc * sum(tf.nn.l2_loss(v)), and
  tf.nn.l2_loss(v) = sum(v^2) / 2. Without dropout D's logits are deterministic."""
  config = scratchgan_config(language_file)
  config.scratchgan.update(d_dropout=0.0, d_l2=0.25)
  task, spec = _spec(config)
  state = task.initial_state()
  real, fake = task.device_batch(0), task.device_batch(1)[::-1]
  loss, _, _ = sgt._d_step(spec, state, real, fake, jax.random.PRNGKey(0))
  logits = lambda rows: spec.disc.apply({'params': state.d_params}, rows, train=False)  # noqa
  squares = sum(float(np.sum(np.square(np.asarray(w, np.float64))))
                for w in jax.tree.leaves(state.d_params))
  want = float(sg.d_loss(logits(real), logits(fake))) + 0.25 * squares / 2
  assert float(loss) == pytest.approx(want, rel=1e-5)


def _in_language(task, params, num: int = 500) -> float:
  rows = model_lib.sample(task.model, params, num, task.length, 7, 1.0)
  return float(np.mean([task.source.vocab.decode(r) in LANGUAGE for r in rows]))


def test_g_learns_a_two_word_language_from_d_s_rewards_alone(language_file, tmp_path):
  """G never sees the data, only D's per-token rewards on its own samples: at first 2 of 5^3
  rows (1.6%) are words of the language; after 300 updates most are, and both words are drawn."""
  config = scratchgan_config(language_file)
  task = sgt.ScratchGanTask(config, evaluating=False)
  assert _in_language(task, task.initial_state().params) < 0.05
  state = lm.train(config, str(tmp_path / 'run'))
  assert int(state.step) == 300
  assert _in_language(task, state.params) > 0.6
  rows = model_lib.sample(task.model, state.params, 500, task.length, 8, 1.0)
  drawn = [task.source.vocab.decode(r) for r in rows]
  assert min(drawn.count(w) for w in LANGUAGE) > 50  # Not one word only (no mode collapse).
  logged = writers.read_jsonl(str(tmp_path / 'run' / 'metrics.jsonl'))
  assert {'d_loss', 'g_loss', 'reward', 'd_fake', 'baseline', 'heldout_nll'} <= set(logged[-1])
  assert logged[-1]['reward'] > logged[0]['reward']  # D is fooled more often at the end.


class Stop(Exception):
  pass


def test_interrupted_and_resumed_run_equals_uninterrupted(language_file, tmp_path, monkeypatch):
  config = scratchgan_config(language_file, num_steps=6, log_every=1, ckpt_every=2)
  full = lm.train(config, str(tmp_path / 'full'))
  step_batch = data_lib.Batcher.step_batch

  def stop_at_step_3(self, step, *args):
    if step == 3:
      raise Stop()
    return step_batch(self, step, *args)
  monkeypatch.setattr(data_lib.Batcher, 'step_batch', stop_at_step_3)
  with pytest.raises(Stop):
    lm.train(config, str(tmp_path / 'resumed'))
  monkeypatch.setattr(data_lib.Batcher, 'step_batch', step_batch)
  resumed = lm.train(config, str(tmp_path / 'resumed'))
  assert isinstance(resumed, sgt.ScratchGanState) and float(resumed.baseline) != 0.0
  for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  logs = [[{k: v for k, v in r.items() if k != 'steps_per_s'}
           for r in writers.read_jsonl(str(tmp_path / d / 'metrics.jsonl'))]
          for d in ('full', 'resumed')]
  assert logs[0] == logs[1] and [r['step'] for r in logs[0]] == [1, 2, 3, 4, 5, 6]


def test_one_update_is_a_d_step_then_a_g_step_against_the_updated_d(language_file):
  """The update's wiring: D trains on rows drawn with stream STREAM_FAKE_D at the state's step,
  G on other rows (STREAM_FAKE_G) with the rewards of the updated D; the baseline is updated
  before the advantage."""
  config = scratchgan_config(language_file)
  task, spec = _spec(config)
  state, batch = task.initial_state(), jnp.asarray(task.device_batch(3))
  state = state.replace(step=jnp.int32(3), baseline=jnp.float32(0.4))
  key = lambda stream: jax.random.fold_in(  # noqa: E731
      jax.random.fold_in(jax.random.PRNGKey(config.seed), stream), 3)
  rows = {s: model_lib.draw(spec.model, state.params, key(s), 64, spec.length, 1.0)
          for s in (sgt.STREAM_FAKE_D, sgt.STREAM_FAKE_G)}
  assert not np.array_equal(*rows.values())  # Fresh rows for each step.
  d_loss, d_params, d_opt = sgt._d_step(spec, state, batch, rows[sgt.STREAM_FAKE_D],
                                        key(sgt.STREAM_D_DROPOUT))
  g_metrics, _, g_opt, baseline = sgt._g_step(
      spec, state, d_params, rows[sgt.STREAM_FAKE_G],
      jax.random.fold_in(key(sgt.STREAM_D_DROPOUT), 2))
  new, metrics = sgt.make_update(spec)(state, batch)
  assert int(new.step) == 4
  np.testing.assert_allclose(float(metrics['d_loss'][0, 0]), float(d_loss), rtol=1e-5)
  np.testing.assert_allclose(float(metrics['g_loss'][0, 0]), float(g_metrics['g_loss']),
                             rtol=1e-5)
  np.testing.assert_allclose(float(new.baseline), float(baseline), rtol=1e-6)
  assert float(baseline) != pytest.approx(0.4)
  # Adam's first moments hold (1 - beta1) x the gradients (Adam's first step would amplify
  # float noise in tiny gradients to the learning rate).
  for a, b in zip(jax.tree.leaves((new.d_opt_state, new.opt_state)),
                  jax.tree.leaves((d_opt, g_opt)), strict=True):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-7)


def test_g_s_log_probabilities_are_those_its_rows_were_drawn_with(language_file):
  """REINFORCE needs log p of each drawn token under the distribution it was drawn from: the
  teacher-forced log p (model.token_nll, what G's loss uses) equals log softmax of the sampler's
  own logits, step by step from the start token."""
  task, spec = _spec(scratchgan_config(language_file))
  params = task.initial_state().params
  key = jax.random.PRNGKey(5)
  rows = model_lib.draw(spec.model, params, key, 16, spec.length, 1.0)
  carry, tokens = spec.model.apply({'params': params}, 16, method='initial_carry'), None
  tokens = jnp.full((16,), spec.model.vocab_size, jnp.int32)  # The start token.
  by_step = []
  for t in range(spec.length):
    carry, logits = spec.model.apply({'params': params}, carry, tokens,
                                     method=model_lib.LanguageModel.step)
    drawn = jax.random.categorical(jax.random.fold_in(key, t), logits)
    np.testing.assert_array_equal(drawn, rows[:, t])  # The sampler's own draw.
    by_step.append(jnp.take_along_axis(jax.nn.log_softmax(logits), drawn[:, None], 1)[:, 0])
    tokens = drawn
  np.testing.assert_allclose(-model_lib.token_nll(spec.model, params, rows),
                             jnp.stack(by_step, 1), rtol=1e-5, atol=1e-6)


def test_problems_name_every_bad_scratchgan_field(language_file):
  config = scratchgan_config(language_file)
  assert config_lib.problems(config) == []
  config.scratchgan.update(g_lr=0.0, d_lr=-1.0, beta1=1.0, d_dropout=1.5, discount=-0.1,
                           baseline_decay=1.0, d_embed=0, d_hidden=-3, d_l2=-1.0)
  config.lm.dropout = 0.2
  found = '\n'.join(config_lib.problems(config))
  for field in ('scratchgan.g_lr', 'scratchgan.d_lr', 'scratchgan.beta1', 'scratchgan.d_dropout',
                'scratchgan.discount', 'scratchgan.baseline_decay', 'scratchgan.d_embed',
                'scratchgan.d_hidden', 'scratchgan.d_l2', 'lm.dropout must be 0'):
    assert field in found, (field, found)
  del config['scratchgan']
  assert 'needs a scratchgan section' in '\n'.join(config_lib.problems(config))
  config.lm.objective = 'gan'
  assert "Unknown lm.objective 'gan'; valid: ['mle', 'scratchgan']" in '\n'.join(
      config_lib.problems(config))


@pytest.mark.parametrize('benchmark', ['words', 'oracle'])  # oracle: no end symbol.
def test_the_experiment_s_runlocal_trains_and_evaluates_at_t_1(benchmark, tmp_path):
  from tests.conftest import load_experiment
  config = load_experiment('text_scratchgan', f'{benchmark},runlocal')
  mle = load_experiment('text_lm', f'{benchmark},runlocal')
  assert config.data.to_dict() == mle.data.to_dict() and config.lm.hidden == mle.lm.hidden
  e = lm.run(config, str(tmp_path / 'run'))
  assert list(e['temperatures']) == ['1.0'] and np.isfinite(e['heldout_nll'])
  assert os.path.exists(tmp_path / 'run' / 'samples' / 'temperature_1.0.txt')
