"""Text GANs on token sequences: Gulrajani et al. 2017's WGAN-GP language model, or a
Gumbel-softmax G (RelGAN, Nie et al. 2019), on one benchmark of gan_jax/data/text_sources.py.

  python -m gan_jax.main --config=experiments/text_gan.py:words --workdir=runs/text_words
  python -m gan_jax.main --config=experiments/text_gan.py:cfg,gumbel --workdir=runs/text_cfg_gumbel

The argument is a benchmark, `words` (default), `cfg` or `oracle`, optionally followed by
`,gumbel`, `,wide` (both models WIDE_DIM wide instead of DIM) and `,runlocal`. Evaluated by
the `text` evaluator (gan_jax/evaluators/text.py: JS-1..4 and BLEU against the held-out split,
self-BLEU, % unique, and each benchmark's own number) on 1,000 samples; the MLE baseline of the
same benchmarks is experiments/text_lm.py.

softmax (Gulrajani et al., their gan_language.py): G maps 128-d noise through a dense layer and 5
residual blocks of 1-D convolutions (kernel 5) to a softmax over the vocabulary at each position;
D reads the softmax (real data one-hot) through the same blocks; WGAN-GP (penalty 10), 10 critic
steps per G step, Adam 1e-4 (0.5, 0.9), batch 64. Samples decode by argmax. The paper's width is
512 and it trains 200,000 steps on a GPU; here `model.*_kwargs.conv1d_resnet.dim` is 32 (128
with `,wide`) and train.num_steps 3,000, a CPU budget (docs/text.md gives each run's minutes on
one core; a step of width 128 costs about 10x one of width 32 there).
gumbel: G's softmax is replaced by a Gumbel-softmax in training, its temperature annealed as
RelGAN's exponential schedule from 1 to 0.01 (beta_max 100) over train.num_steps; the relativistic
average loss, one D step per G step, Adam 1e-4 (0.9, 0.999) as RelGAN; samples are drawn from
G's distribution (eval.text_decode=sample). Unlike RelGAN, D has a gradient penalty (10), which
D needs here: without it D can tell G's near-one-hot rows from the one-hot data by their soft
values alone (`--config.loss.penalties.gradient_penalty=0` gives RelGAN's own setting).
"""
from gan_jax import configs

BENCHMARKS = {  # Benchmark -> (data.source, train.num_steps).
    'words': ('words', 3000),
    'cfg': ('cfg', 3000),
    'oracle': ('oracle', 3000),
}
VARIANTS = ('softmax', 'gumbel')
DIM, WIDE_DIM = 32, 128  # conv1d_resnet.dim of G and D; `,wide`: WIDE_DIM (the paper: 512).
OPTIONS = ('wide', 'runlocal')


def parse(arg) -> tuple:
  """'cfg,gumbel,wide,runlocal' -> ('cfg', 'gumbel', True, 'runlocal'); defaults words,
  softmax, False, None."""
  parts = [p for p in (arg or '').split(',') if p]
  benchmark = [p for p in parts if p in BENCHMARKS] or ['words']
  variant = [p for p in parts if p in VARIANTS] or ['softmax']
  rest = [p for p in parts if p not in BENCHMARKS and p not in VARIANTS]
  if (len(benchmark) > 1 or len(variant) > 1 or len(set(rest)) < len(rest) or
      not set(rest) <= set(OPTIONS)):
    raise configs.ConfigError(f'experiments/text_gan.py takes one benchmark {list(BENCHMARKS)}, '
                              f'one variant {list(VARIANTS)}, wide and runlocal, comma-separated; '
                              f'got {arg!r}.')
  return benchmark[0], variant[0], 'wide' in rest, 'runlocal' if 'runlocal' in rest else None


def get_config(arg=None):
  benchmark, variant, wide, rest = parse(arg)
  config = configs.base_config()
  config.data.source, config.train.num_steps = BENCHMARKS[benchmark]
  config.data.batch_size = 64
  config.data.text.oracle_vocab = 500 if benchmark == 'oracle' else 5000  # CPU: V = 500.
  config.model.generator = config.model.discriminator = 'conv1d_resnet'
  config.model.latent_dim = 128
  for kwargs in (config.model.g_kwargs, config.model.d_kwargs):
    kwargs.conv1d_resnet.dim = WIDE_DIM if wide else DIM
  if variant == 'softmax':
    config.loss.name = 'wasserstein'
    config.loss.penalties.gradient_penalty = 10.0
    config.optim.n_critic = 10
    config.optim.b1, config.optim.b2 = 0.5, 0.9
  else:
    config.model.g_kwargs.conv1d_resnet.output = 'gumbel'
    config.model.g_kwargs.conv1d_resnet.gumbel_temperature = 0.01
    # Follows a command-line train.num_steps: a derived reference (+ 0), so that setting the
    # anneal steps themselves unlinks them and leaves train.num_steps alone.
    config.model.g_kwargs.conv1d_resnet.gumbel_anneal_steps = config.train.get_ref('num_steps') + 0
    config.loss.name = 'relativistic_average'
    config.loss.penalties.gradient_penalty = 10.0
    config.optim.b1, config.optim.b2 = 0.9, 0.999
    config.eval.text_decode = 'sample'
  config.optim.g_lr = config.optim.d_lr = 1e-4
  config.train.log_every = 100
  config.train.sample_every = 500
  config.train.ckpt_every = 500
  return configs.experiment_arg(config, rest)
