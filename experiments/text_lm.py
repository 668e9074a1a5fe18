"""The likelihood baseline of the text benchmarks: an LSTM language model trained by maximum
likelihood, sampled at several temperatures (Caccia et al. 2020; gan_jax/applications/text).

  python -m gan_jax.main --mode=lm --config=experiments/text_lm.py:words --workdir=runs/lm_words

The argument is the benchmark of experiments/text_gan.py (`words` (default), `cfg`, `oracle`),
optionally followed by `,runlocal`; the data are exactly the GAN's (the same source fields, so
the same train / held-out split and the same text evaluator on 1,000 samples a temperature).
One LSTM layer of 256 units over 64-d embeddings, Adam 1e-3, batch 64.
"""
import os

from gan_jax import configs
from gan_jax.applications.text import config as lm_config

BENCHMARK_STEPS = {'words': 3000, 'cfg': 3000, 'oracle': 3000}  # train.num_steps.


def get_config(arg=None):
  parts = [p for p in (arg or '').split(',') if p]
  benchmark = [p for p in parts if p in BENCHMARK_STEPS] or ['words']
  rest = [p for p in parts if p not in BENCHMARK_STEPS]
  if len(benchmark) > 1 or rest not in ([], ['runlocal']):
    raise configs.ConfigError(f'experiments/text_lm.py takes one benchmark '
                              f'{list(BENCHMARK_STEPS)} and runlocal, comma-separated; got '
                              f'{arg!r}.')
  gan = configs.load_experiment(os.path.join(os.path.dirname(__file__), 'text_gan.py'),
                                benchmark[0])
  config = configs.base_config()
  config.data = gan.data
  config.lm = lm_config.defaults()
  config.train.num_steps = BENCHMARK_STEPS[benchmark[0]]
  config.train.log_every = 100
  config.train.ckpt_every = 500
  config = configs.experiment_arg(config, rest[0] if rest else None)
  if rest:  # runlocal: a small model as well.
    config.lm.hidden, config.lm.embed = 16, 8
  return config
