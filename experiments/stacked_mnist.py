"""DCGAN on Stacked MNIST (1,000 modes), the setting of PacGAN's Stacked MNIST experiment.

Lin et al. (2018), PacGAN, Sec. 5.2 and fjxmlzn/PacGAN stacked_MNIST_experiments/VEEGAN_experiment
(after VEEGAN): 128,000 training images of three MNIST digits as the RGB channels, batch 64,
Adam lr 2e-4 beta1 0.5, a 100-d latent, 50 epochs (100,000 steps); evaluated on 26,000 samples,
each channel labelled by a classifier: modes captured (of 1,000) and KL(histogram || uniform).
PacGAN2: --config.model.pack=2 --config.data.batch_size=128 (64 packs).
Differences: the digits are mnist5k's 4,500 training digits (not MNIST's 60,000), the classifier
is gan_jax's mnist_classifier (docs/mnist_classifier.md), and the networks are gan_jax's DCGAN
(the TensorFlow tutorial's, 3 output channels) rather than PacGAN's TensorFlow DCGAN. 100,000
steps take many hours on a 2-core CPU; :runlocal is the smoke test.

  python -m gan_jax.main --config=experiments/stacked_mnist.py --workdir=runs/stacked_mnist
"""
from gan_jax import configs


def get_config(arg=None):
  config = configs.base_config()
  config.data.source = 'stacked_mnist'
  config.data.batch_size = 64
  config.model.generator = 'dcgan'
  config.model.discriminator = 'dcgan'
  config.model.latent_dim = 100
  config.model.latent_dist = 'uniform'
  config.model.d_kwargs.dcgan.dropout = 0.0
  config.loss.name = 'non_saturating'
  config.optim.g_lr = 2e-4
  config.optim.d_lr = 2e-4
  config.optim.b1 = 0.5
  config.train.num_steps = 100_000
  config.train.log_every = 500
  config.train.sample_every = 5000
  config.train.ckpt_every = 5000
  config.train.eval_every = 25_000
  config.eval.num_samples = 26_000
  return configs.experiment_arg(config, arg)
