"""End to end: the text GAN experiments (experiments/text_gan.py:<benchmark>[,gumbel],runlocal)
train, write text samples, vocab.json and the text evaluation; bad inputs fail before compiling."""
import json
import os

import numpy as np
import pytest

from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import sampling
from gan_jax import experiment
from gan_jax import train
from gan_jax import workdir as workdir_lib
from tests.conftest import load_experiment


@pytest.fixture(scope='module')
def cfg_run(tmp_path_factory):
  """(config, workdir) of one text_gan:cfg,runlocal run (WGAN-GP, 10 critic steps)."""
  config = load_experiment('text_gan', 'cfg,runlocal')
  workdir = str(tmp_path_factory.mktemp('text') / 'cfg')
  train.train_and_evaluate(config, workdir)
  return config, workdir


@pytest.mark.slow
def test_cfg_run_writes_text_samples_vocab_and_evaluation(cfg_run):
  config, workdir = cfg_run
  exp = experiment.Experiment(config)
  vocab = exp.source.vocab
  with open(os.path.join(workdir, 'vocab.json')) as f:
    assert json.load(f) == vocab.to_json()
  # The samples file holds the final G's 64 fixed-latent samples, decoded by argmax.
  ckpt = checkpoint_lib.Checkpointer(workdir_lib.checkpoint_dir(workdir))
  try:
    state = ckpt.restore(exp.place(exp.init_state()), 4)
  finally:
    ckpt.close()
  pictures = sampling.SamplePictures(exp.generator, config.model, 0, 'tokens', exp.seeds)
  probs = pictures.samples(exp.sampling_params(state), exp.sampling_vars(state))[0]
  assert probs.shape == (64, 20, vocab.size)
  expected = []
  for row in probs.argmax(-1).tolist():
    kept = row[:row.index(vocab.end_id)] if vocab.end_id in row else row
    expected.append(' '.join(vocab.tokens[t] for t in kept))
  assert open(os.path.join(workdir, 'samples', 'step_0000004.txt')).read().splitlines() == expected
  with open(os.path.join(workdir, 'eval.json')) as f:
    e = json.load(f)
  assert e['protocol']['kind'] == 'text' and e['protocol']['num_generated'] == 256
  assert e['protocol']['real_train_vs_heldout']['accepted_percent'] == 100.0
  metrics = e['seeds'][str(config.seed)]
  assert 0 <= metrics['accepted_percent'] <= 100 and 0 < metrics['js_1'] <= np.log(2)


def test_resume_with_another_vocabulary_is_refused(cfg_run, tmp_path):
  config, workdir = cfg_run
  path = os.path.join(workdir, 'vocab.json')
  saved = open(path).read()
  vocab = json.loads(saved)
  vocab['tokens'][0] = 'changed'
  with open(path, 'w') as f:
    json.dump(vocab, f)
  try:
    with pytest.raises(workdir_lib.WorkdirError, match='another vocabulary'):
      train.train_and_evaluate(config, workdir)
  finally:
    with open(path, 'w') as f:
      f.write(saved)


@pytest.mark.slow
@pytest.mark.parametrize('arg, metric', [('words,gumbel,runlocal', 'dictionary_percent'),
                                         ('oracle,runlocal', 'nll_oracle')])
def test_other_benchmarks_train_and_evaluate(tmp_path, arg, metric):
  config = load_experiment('text_gan', arg)
  config.optim.n_critic = 1  # The runs above compiled the 10 critic steps; keep these short.
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  with open(os.path.join(workdir, 'eval.json')) as f:
    e = json.load(f)
  assert np.isfinite(e['mean'][metric]) and metric in e['protocol']['real_train_vs_heldout']


def test_sequence_model_and_image_data_do_not_mix():
  config = load_experiment('dcgan_mnist', 'runlocal')
  config.model.generator = 'conv1d_resnet'
  with pytest.raises(configs.ConfigError, match="model.generator='conv1d_resnet' takes token "
                     r"sequences; data.source='mnist5k' is image.*\['dcgan', 'mlp'"):
    experiment.Experiment(config)
  config = load_experiment('text_gan', 'cfg,runlocal')
  config.model.discriminator = 'dcgan'
  with pytest.raises(configs.ConfigError, match="model.discriminator='dcgan' takes images or "
                     r"points; data.source='cfg' is tokens.*\['conv1d_resnet'\]"):
    experiment.Experiment(config)


def test_bad_text_config_values_fail_before_anything_compiles():
  config = load_experiment('text_gan', 'cfg,gumbel,runlocal')
  config.model.g_kwargs.conv1d_resnet.gumbel_temperature = 0.0
  with pytest.raises(configs.ConfigError, match='gumbel_temperature must be a number > 0'):
    configs.validate(config)
  config = load_experiment('text_gan', 'cfg,runlocal')
  config.data.text.length = 1  # The random grammar's shortest sentence has 2 tokens.
  from gan_jax import data as data_lib
  with pytest.raises(data_lib.DataError, match='shortest sentence has 2 tokens. Raise '
                     'data.text.length'):
    experiment.Experiment(config)


def test_text_gan_arguments():
  config = load_experiment('text_gan', 'oracle,gumbel')
  assert config.data.source == 'oracle' and config.eval.text_decode == 'sample'
  assert config.model.g_kwargs.conv1d_resnet.output == 'gumbel'
  config.train.num_steps = 123  # As --config.train.num_steps=123 sets it.
  assert config.model.g_kwargs.to_dict()['conv1d_resnet']['gumbel_anneal_steps'] == 123
  config.model.g_kwargs.conv1d_resnet.gumbel_anneal_steps = 50  # Its own value: unlinked ...
  assert config.train.num_steps == 123  # ... and the training length stays.
  config.train.num_steps = 200
  assert config.model.g_kwargs.conv1d_resnet.gumbel_anneal_steps == 50
  assert load_experiment('text_gan').data.source == 'words'
  for bad in ('cfg,words', 'word', 'wide,wide'):
    with pytest.raises(configs.ConfigError, match=r"one benchmark \['words', 'cfg', 'oracle'\]"):
      load_experiment('text_gan', bad)
  wide = load_experiment('text_gan', 'words,wide')
  assert (wide.model.g_kwargs.conv1d_resnet.dim, wide.model.d_kwargs.conv1d_resnet.dim,
          load_experiment('text_gan', 'words').model.g_kwargs.conv1d_resnet.dim) == (128, 128, 32)
  assert load_experiment('text_gan', 'words,wide,runlocal').train.num_steps == 4


@pytest.mark.slow
def test_the_update_sets_gumbel_schedule_to_the_training_step():
  """The Gumbel G reads its temperature's step from the 'schedule' collection, which the update
  sets to the state's step before G runs: from step 7, a state whose schedule still says 0 and
  one already at 7 give the same G loss, and both come out at 7."""
  import functools
  import jax
  from gan_jax import step as step_lib
  exp = experiment.Experiment(load_experiment('text_gan', 'cfg,gumbel,runlocal'))
  state = exp._init_seed_state(0).replace(step=np.int32(7))
  assert float(state.g_vars['schedule']['step']) == 0.0
  length, batch = exp.dataset.element_shape[0], exp.config.data.batch_size
  data = {'tokens': np.zeros((1, batch, length), np.int32),
          'label': np.zeros((1, batch), np.int32)}
  update = jax.jit(functools.partial(step_lib.update, exp.update_spec(None)))
  at_seven = state.replace(g_vars={**state.g_vars, 'schedule': jax.tree.map(
      lambda x: x + 7, state.g_vars['schedule'])})
  (new_0, m_0), (new_7, m_7) = update(state, data), update(at_seven, data)
  assert float(m_0['g_loss']) == float(m_7['g_loss'])
  for new in (new_0, new_7):
    assert float(new.g_vars['schedule']['step']) == 7.0 and int(new.step) == 8
