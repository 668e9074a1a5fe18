"""The language model's evaluation at temperatures, written to eval.json.

For each temperature T of lm.temperatures, the evaluator's num_samples rows sampled ancestrally
from softmax(logits / T) (T = 0: the argmax, greedy) are scored by gan_jax/evaluators/text.py (the
same Text protocol that scores the GANs), beside the NLL per counted token of the whole test
split; workdir/eval.json holds
{"step", "kind": "lm", "heldout_nll", "heldout_rows", "temperatures": {"<T>": {metric: value}},
"protocol"}, samples/temperature_<T>.txt the first NUM_WRITTEN_SAMPLES decoded rows (also in
TensorBoard as samples/temperature_<T>). Samples at the i-th temperature use the key
fold_in(fold_in(PRNGKey(seed), model.STREAM_SAMPLES), i): a pure function of (params, seed, i, T).
"""
import os
import time

from absl import logging
import numpy as np

from gan_jax import atomic_files
from gan_jax import data as data_lib
from gan_jax.applications.text import model as model_lib

NUM_WRITTEN_SAMPLES = 100  # Decoded samples written per temperature.
EVAL_JSON = 'eval.json'  # As gan_jax/evaluation.py's.
# eval.json's protocol 'decode': how the language model's rows are drawn.
SAMPLING = ('ancestral sampling from softmax(logits / T) at each temperature T (T = 0: argmax), '
            'from the start token, L tokens (gan_jax/applications/text/model.py)')


def temperature_name(temperature: float) -> str:
  """eval.json's key and the sample file's suffix: '0.5', '1.0', '0.85'."""
  return str(float(temperature))


def _plain(value):
  """A JSON-ready copy: numpy scalars and arrays as Python's, NaN and inf as None."""
  if isinstance(value, dict):
    return {str(k): _plain(v) for k, v in value.items()}
  if isinstance(value, (list, tuple, np.ndarray)):
    return [_plain(v) for v in value]
  if isinstance(value, np.generic):
    value = value.item()
  if isinstance(value, float) and not np.isfinite(value):
    return None
  return value


def decoded(rows_NxL: np.ndarray, vocab) -> str:
  """The rows decoded, a line each."""
  return ''.join(vocab.decode(row) + '\n' for row in rows_NxL)


def _write_samples(workdir: str, step: int, temperature: float, rows_NxL: np.ndarray, vocab,
                   writer) -> str:
  name = temperature_name(temperature)
  text = decoded(rows_NxL[:NUM_WRITTEN_SAMPLES], vocab)
  if writer is not None:
    writer.write_text(step, f'samples/temperature_{name}', text)
  path = os.path.join(workdir, 'samples', f'temperature_{name}.txt')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  return atomic_files.write_text(path, text)


def evaluate(task, params, step: int, workdir: str, writer=None) -> dict:
  """Samples at every lm.temperatures, scored by the task's Text evaluator, and the NLL per token
  of the whole test split; writes eval.json and samples/temperature_<T>.txt (and, through
  `writer`, the samples to TensorBoard). Returns eval.json's dict."""
  config, start = task.config, time.time()
  test = data_lib.get_split(task.source, 'test')
  vocab = task.source.vocab
  nll = model_lib.heldout_nll(task.model, params, test.get(np.arange(test.size)), vocab.end_id)
  per_temperature = {}
  for i, temperature in enumerate(config.lm.temperatures):
    rows = model_lib.sample(task.model, params, task.evaluator.num_samples, task.length,
                            config.seed, temperature, i)
    metrics = _plain(task.evaluator.metrics_of_tokens(rows))
    per_temperature[temperature_name(temperature)] = metrics
    _write_samples(workdir, step, temperature, rows, vocab, writer)
    logging.info('lm eval, temperature %s (%d samples): %s', temperature_name(temperature),
                 len(rows), ', '.join(f'{k} {v:.4g}' for k, v in metrics.items()
                                      if isinstance(v, (int, float))))
  record = {'step': int(step), 'kind': 'lm', 'heldout_nll': nll, 'heldout_rows': int(test.size),
            'temperatures': per_temperature,
            'protocol': {**_plain(task.evaluator.describe()), 'decode': SAMPLING}}
  atomic_files.write_json(os.path.join(workdir, EVAL_JSON), record, indent=2, allow_nan=False)
  logging.info('lm eval at step %d (%.1fs): held-out NLL %.4f nats per token over %d rows; '
               '%s', step, time.time() - start, nll, test.size,
               os.path.join(workdir, EVAL_JSON))
  return record
