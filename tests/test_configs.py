import pytest

from gan_jax import configs
from tests.conftest import load_experiment


@pytest.mark.parametrize('name', ['dcgan_mnist', 'mlp_mnist', 'ring8', 'grid25'])
@pytest.mark.parametrize('arg', [None, 'runlocal'])
def test_experiments_are_valid(name, arg):
  config = load_experiment(name, arg)
  configs.validate(config)
  assert set(config.keys()) == set(configs.base_config().keys())


def test_unknown_experiment_argument():
  with pytest.raises(configs.ConfigError, match='runlocal'):
    load_experiment('dcgan_mnist', 'runlcoal')


BAD = [
    ('model.generator', 'stylegan', r"model.generator 'stylegan'; valid names: \['dcgan', 'mlp', 'resnet32', 'sngan_cnn32'\]"),
    ('model.discriminator', 'x', r"model.discriminator 'x'; valid names: \['dcgan', 'mlp', 'resnet32', 'sngan_cnn32'\]"),
    ('loss.name', 'hinge2', r"loss.name 'hinge2'; valid names: \['hinge', 'least_squares', 'minimax', 'non_saturating', 'relativistic_average', 'wasserstein'\]"),
    ('loss.lazy_every', 0, 'loss.lazy_every must be an integer >= 1, got 0'),
    ('loss.weight_clip', -0.01, r'loss.weight_clip must be >= 0 \(0: off\)'),
    ('optim.ema_decay', 1.0, r'optim.ema_decay must be in \[0, 1\)'),
    ('optim.ema_start', -1, 'optim.ema_start must be an integer >= 0'),
    ('train.eval_every', -1, 'train.eval_every must be an integer >= 0'),
    ('eval.batch_size', 0, 'eval.batch_size must be a positive integer'),
    ('eval.num_samples', 1, 'eval.num_samples must be an integer >= 2 or None'),
    ('model.pack', 0, 'model.pack must be an integer >= 1'),
    ('data.source', 'cifar', r"data.source 'cifar'; valid sources: \['digits', 'grid25', 'mnist5k', 'ring8', 'stacked_mnist', 'tfds:<name>'\]"),
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
    ('model.latent_dim', 0, 'model.latent_dim must be a positive integer'),
    ('model.latent_dist', 'cauchy', r"latent_dist 'cauchy'; valid: \['normal', 'uniform'\]"),
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
  with pytest.raises(configs.ConfigError) as e:
    configs.validate(config)
  assert 'n_critic' in str(e.value) and 'nope' in str(e.value)


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
