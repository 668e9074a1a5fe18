"""Run kind 'lm': the text application's likelihood baseline, an MLE language model sampled at
several temperatures (experiments/text_lm.py:<benchmark>).

It trains as `python -m gan_jax.main --mode=lm --config=<run.config> --workdir=<run dir>` with the
run's seed and overrides as flags. Its result, once the run's eval.json is at train.num_steps and
its config.json is the run's config (cadences aside):
  {'step', 'temperatures': {T: the text evaluator's numbers of the samples at T},
   'real': the evaluator's real-data floor (protocol.real_train_vs_heldout) or None,
   'heldout_nll': NLL per token of the test split,
   'samples': {T: the first NUM_SHOWN_SAMPLES lines of samples/temperature_<T>.txt, where written},
   'seconds': training seconds (kinds.training_seconds of its metrics.jsonl) or None}.
"""
import os
from typing import Optional

from gan_jax import configs
from gan_jax.study import kinds

NUM_SHOWN_SAMPLES = 5  # Sample lines kept per temperature (what a page shows).


def train(run, run_dir: str) -> None:
  kinds.run_main(run, run_dir, mode='lm')


def first_lines(path: str, count: int = NUM_SHOWN_SAMPLES) -> Optional[list]:
  """The first `count` lines of a text file, None when there is none."""
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return f.read().splitlines()[:count]


def result(run, run_dir: str) -> Optional[dict]:
  """The run's numbers when it finished under the run's config, else None."""
  config = kinds.experiment_config(run)
  e = kinds.read_json(os.path.join(run_dir, 'eval.json'))
  saved = kinds.read_json(os.path.join(run_dir, 'config.json'))
  if (not e or e.get('step') != config.train.num_steps or 'temperatures' not in e
      or not configs.trained_under(saved or {}, config)):
    return None
  samples = {}
  for t in e['temperatures']:
    lines = first_lines(os.path.join(run_dir, 'samples', f'temperature_{t}.txt'))
    if lines is not None:
      samples[t] = lines
  return {'step': e['step'], 'temperatures': e['temperatures'],
          'real': (e.get('protocol') or {}).get('real_train_vs_heldout'),
          'heldout_nll': e.get('heldout_nll'), 'samples': samples,
          'seconds': kinds.training_seconds(run_dir)}


KIND = kinds.Kind(config=kinds.experiment_config, train=train, result=result)
