import json
import os
import subprocess
import sys

import pytest

from gan_jax import ada
from gan_jax import augment
from gan_jax import configs
from gan_jax import data as data_lib
from gan_jax import errors
from gan_jax import evaluators
from gan_jax import losses
from gan_jax import models
from gan_jax import optimizers
from tests.conftest import REPO, load_experiment

EXPERIMENTS = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, 'experiments'))
                     if f.endswith('.py'))


@pytest.mark.parametrize('name', ['dcgan_mnist', 'mlp_mnist', 'ring8', 'grid25'])
@pytest.mark.parametrize('arg', [None, 'runlocal'])
def test_experiments_are_valid(name, arg):
  config = load_experiment(name, arg)
  configs.validate(config)
  assert set(config.keys()) == set(configs.base_config().keys())


@pytest.mark.parametrize('name', ['ring8', 'grid25'])
def test_2d_experiments_draw_pacgans_initial_weights(name):
  """PacGAN's 2-D code draws every weight from N(0, 0.02) (issue 16: Flax's LeCun normal halved
  grid25's high-quality samples, docs/precision_ab.md)."""
  assert load_experiment(name).model.init_std == 0.02


def test_a_run_is_trained_under_a_config_in_all_but_its_cadences():
  config = load_experiment('ring8')
  saved = json.loads(config.to_json())
  saved['train']['num_steps'] += 1000
  assert configs.trained_under(saved, config)  # A longer run of the same config.
  saved['model']['init_std'] = 0.0
  assert not configs.trained_under(saved, config)
  assert not configs.trained_under({}, config)  # A run without a config.json.


@pytest.mark.parametrize('name', EXPERIMENTS)
def test_every_experiment_and_its_runlocal_is_valid(name):
  for arg in (None, 'runlocal'):
    configs.validate(load_experiment(name, arg))


def test_base_config_is_assembled_from_the_sections():
  config = configs.base_config()
  assert set(config) == {'seed', 'num_seeds', 'data', 'model', 'loss', 'optim', 'augment',
                         'ada', 'train', 'eval'}
  for name, section in (('data', data_lib), ('model', models), ('loss', losses),
                        ('optim', optimizers), ('augment', augment), ('ada', ada),
                        ('eval', evaluators)):
    assert config[name].to_dict() == section.defaults().to_dict(), name
    assert section.problems(config) == [], name
  assert configs.problems(config) == []
  assert issubclass(configs.ConfigError, errors.UserError) and configs.ConfigError is (
      errors.ConfigError)


def test_configs_does_not_import_the_update_step():
  code = ('import sys; from gan_jax import configs; configs.validate(configs.base_config()); '
          'print("gan_jax.step" in sys.modules)')
  out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                       env={**os.environ, 'JAX_PLATFORMS': 'cpu'}, check=True)
  assert out.stdout.strip() == 'False'


def test_runlocal_takes_each_registry_entry_s_own_small_sizes():
  config = configs.runlocal(configs.base_config())
  for registry, all_kwargs in ((models.GENERATORS, config.model.g_kwargs),
                               (models.DISCRIMINATORS, config.model.d_kwargs)):
    for name, cls in registry.items():
      for field, default in models.default_kwargs(cls).items():
        assert all_kwargs[name][field] == cls.RUNLOCAL.get(field, default), (name, field)
  assert config.model.latent_dim == models.RUNLOCAL_LATENT_DIM
  assert (config.data.batch_size, config.train.num_steps) == (8, 4)
  assert config.data.source == 'mnist5k'  # Offline sources stay.


def test_runlocal_follows_a_new_registry_entry(monkeypatch):
  """A model registered with its own RUNLOCAL gets it in `:runlocal`: no list to update."""
  class TinyDCGAN(models.DCGANGenerator):
    RUNLOCAL = {'base_features': 4, 'leaky_slope': 0.1}
  monkeypatch.setitem(models.GENERATORS, 'tiny', TinyDCGAN)
  config = configs.runlocal(configs.base_config())
  assert config.model.g_kwargs.tiny.base_features == 4
  assert config.model.g_kwargs.tiny.leaky_slope == 0.1


@pytest.mark.parametrize('source,image_size,expected', [('tfds:cifar10', None, 32),
                                                        ('tfds:celeb_a', 48, 48)])
def test_runlocal_of_any_tfds_source_is_the_offline_stand_in(source, image_size, expected):
  config = configs.base_config()
  config.data.source, config.data.image_size = source, image_size
  config = configs.experiment_arg(config, 'runlocal')
  assert (config.data.source, config.data.image_size) == ('stacked_mnist', expected)
  assert config.eval.features == 'none'
  configs.validate(config)


def test_load_module_gives_the_experiment_file(tmp_path):
  module = configs.load_module(os.path.join(REPO, 'experiments', 'loss_ablation.py'))
  assert callable(module.get_config) and callable(module.get_sweep)
  with pytest.raises(configs.ConfigError, match='No experiment file'):
    configs.load_module(str(tmp_path / 'missing.py'))


def test_unknown_experiment_argument():
  with pytest.raises(configs.ConfigError, match='runlocal'):
    load_experiment('dcgan_mnist', 'runlcoal')


BAD = [
    ('model.generator', 'stylegan', r"model.generator 'stylegan'; valid names: \['conv1d_resnet', 'dcgan', 'mlp', 'r3gan', 'resnet32', 'sngan_cnn32'\]"),
    ('model.discriminator', 'x', r"model.discriminator 'x'; valid names: \['conv1d_resnet', 'dcgan', 'mlp', 'r3gan', 'resnet32', 'sngan_cnn32'\]"),
    ('loss.name', 'hinge2', r"loss.name 'hinge2'; valid names: \['hinge', 'least_squares', 'minimax', 'non_saturating', 'relativistic_average', 'rpgan', 'wasserstein'\]"),
    ('loss.lazy_every', 0, 'loss.lazy_every must be an integer >= 1, got 0'),
    ('loss.weight_clip', -0.01, r'loss.weight_clip must be >= 0 \(0: off\)'),
    ('optim.ema_decay', 1.0, r'optim.ema_decay must be in \[0, 1\)'),
    ('optim.ema_start', -1, 'optim.ema_start must be an integer >= 0'),
    ('train.eval_every', -1, 'train.eval_every must be an integer >= 0'),
    ('eval.batch_size', 0, 'eval.batch_size must be a positive integer'),
    ('eval.num_samples', 1, 'eval.num_samples must be an integer >= 2 or None'),
    ('model.pack', 0, 'model.pack must be an integer >= 1'),
    ('data.source', 'cifar', r"data.source 'cifar'; valid sources: \['cfg', 'digits', 'grid25', 'mnist5k', 'oracle', 'ring8', 'stacked_mnist', 'words', 'tfds:<name>', 'folder:<path>', 'npz:<path>', 'text_file:<path>', 'tfds_text:<name>'\]"),
    ('data.batch_size', 0, 'data.batch_size must be a positive integer, got 0'),
    ('data.batch_size', -8, 'data.batch_size must be a positive integer, got -8'),
    ('optim.g_lr', 0.0, 'optim.g_lr must be a positive number, got 0.0'),
    ('optim.d_lr', -1e-4, 'optim.d_lr must be a positive number'),
    ('optim.b1', 1.0, r'optim.b1 must be in \[0, 1\)'),
    ('optim.n_critic', 0, 'optim.n_critic must be an integer >= 1, got 0'),
    ('train.num_steps', 0, 'train.num_steps must be a positive integer'),
    ('train.log_every', -1, 'train.log_every must be a positive integer'),
    ('train.sample_every', 0, 'train.sample_every must be a positive integer'),
    ('train.ckpt_every', 0, 'train.ckpt_every must be a positive integer'),
    ('train.ckpt_keep', -1, r'train.ckpt_keep must be an integer >= 0 \(0 keeps every'),
    ('model.init_std', -0.5, 'model.init_std must be a number >= 0'),
    ('eval.bn_stats', 'batch', r"Unknown eval.bn_stats 'batch'; valid: \['running', 'standing'\]"),
    ('model.latent_dim', 0, 'model.latent_dim must be a positive integer'),
    ('model.latent_dist', 'cauchy', r"latent_dist 'cauchy'; valid: \['normal', 'uniform'\]"),
    ('model.dtype', 'float16', r"model.dtype 'float16'; valid: \['float32', 'bfloat16'\]"),
    ('model.d_conditioning', 'concat', r"d_conditioning 'concat'; valid: \['projection', 'acgan'\]"),
    ('loss.acgan_weight', -1.0, 'loss.acgan_weight must be >= 0'),
    ('optim.schedule', 'step', r"optim.schedule 'step'; valid: \['constant', 'linear', 'cosine'\]"),
    ('augment.cutout_ratio', 1.5, r'augment.cutout_ratio must be in \[0, 1\]'),
    ('train.seed_layout', 'pmap', r"train.seed_layout 'pmap'; valid: \['loop', 'vmap'\]"),
    ('train.steps_per_call', 0, 'train.steps_per_call must be an integer >= 1'),
    ('data.image_size', 0, 'data.image_size must be a positive integer or None'),
]


@pytest.mark.parametrize('field,value,message', BAD)
def test_each_config_error_names_field_and_valid_values(field, value, message):
  config = load_experiment('dcgan_mnist')
  section, key = field.split('.')
  config[section][key] = value
  with pytest.raises(configs.ConfigError, match=message):
    configs.validate(config)


def test_all_problems_reported_at_once():
  config = load_experiment('dcgan_mnist')
  config.optim.n_critic = 0
  config.loss.name = 'nope'
  config.train.log_every = 0
  config.augment.policy = 'flip'
  config.eval.batch_size = 0
  with pytest.raises(configs.ConfigError) as e:
    configs.validate(config)
  for part in ('n_critic', 'nope', 'train.log_every', 'flip', 'eval.batch_size'):
    assert part in str(e.value)


def test_unknown_model_field():
  config = load_experiment('dcgan_mnist')
  config.model.g_kwargs.dcgan.base_featurs = 8
  with pytest.raises(configs.ConfigError, match=r"\['base_featurs'\].*valid fields"):
    configs.validate(config)
  config = load_experiment('dcgan_mnist')
  config.model.d_kwargs.stylegan = {}
  with pytest.raises(configs.ConfigError, match=r"d_kwargs.stylegan: no discriminator"):
    configs.validate(config)


def test_differences_ignore_resumable_fields():
  a = configs.base_config().to_dict()
  b = configs.base_config()
  b.train.num_steps = 99
  b.train.log_every = 7
  assert configs.differences(a, b.to_dict()) == []
  b.optim.g_lr = 1.0
  assert configs.differences(a, b.to_dict()) == ['optim.g_lr: 0.0002 in the workdir, 1.0 now']


def test_penalty_weights_must_be_non_negative():
  config = load_experiment('dcgan_mnist')
  config.loss.penalties.gradient_penalty = -10.0
  with pytest.raises(configs.ConfigError, match='loss.penalties.gradient_penalty is a weight >= 0'):
    configs.validate(config)


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


def test_a_field_added_since_the_workdir_was_written_counts_only_off_its_default():
  saved = configs.base_config().to_dict()
  del saved['data']['per_class'], saved['data']['subset_seed']  # An older gan_jax's config.
  current = configs.base_config()
  assert configs.differences(saved, current.to_dict()) == []
  current.data.per_class = 10
  assert configs.differences(saved, current.to_dict()) == [
      "data.per_class: '<absent>' in the workdir, 10 now"]
