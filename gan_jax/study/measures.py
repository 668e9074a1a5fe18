"""Measures: numbers a study takes from a finished gan_jax run beyond its final eval.json.

A 'gan' run of a study lists them as `args={'measures': [...]}` (gan_jax/study/kinds.py); each is
`get(name)(config, run_dir) -> JSON-able dict`, computed once when the run is first read as
finished, cached in run_dir/measures.json and kept in the run's record under its name. Keys are
strings (a seed as '0', a step as '2500'), so a record reads back from JSON unchanged.

  mid_run_evals           the evaluations the run logged before its final step (metrics.jsonl):
                          {step: {seed: {metric: value}}}; a metric that was undefined (None)
                          at a step is absent, as metrics.jsonl leaves it out.
  train_mode_bn_coverage  mode coverage of the final G's samples with its batch norm in training
                          mode (the statistics of the sample batch itself, not the running ones
                          the library's evaluation uses): {seed: mode coverage numbers}.
  text_samples            the first lines of a token-sequence run's last text samples:
                          {'file': 'step_NNNNNNN.txt', 'lines': [...]}.
"""
import os

from gan_jax import configs

# The latents of train_mode_bn_coverage: PRNGKey(LATENT_KEY + seed), apart from training's.
LATENT_KEY = 10_000


def mid_run_evals(config, run_dir: str) -> dict:
  """{str(step): {str(seed): {metric: value}}} of the eval/* lines of run_dir/metrics.jsonl at
  steps before config.train.num_steps (a step logged twice, by a resumed run: the last line)."""
  from gan_jax import writers
  out = {}
  for r in writers.read_jsonl(os.path.join(run_dir, 'metrics.jsonl')):
    numbers = {k[len('eval/'):]: v for k, v in r.items() if k.startswith('eval/')}
    if numbers and r['step'] < config.train.num_steps:
      out.setdefault(str(r['step']), {})[str(r.get('seed', config.seed))] = numbers
  return out


def train_mode_bn_coverage(config, run_dir: str) -> dict:
  """{str(seed): mode coverage} of eval.num_samples (default 2,500) points of each seed's final G
  (its EMA when it keeps one) sampled with batch norm in training mode, from latents
  PRNGKey(10,000 + seed); scored as the mode_coverage evaluator scores the library's samples."""
  import jax
  import numpy as np
  from gan_jax import checkpoint as checkpoint_lib
  from gan_jax import state as state_lib
  from gan_jax import workdir as workdir_lib
  from gan_jax.evaluators import mode_coverage
  from gan_jax.experiment import Experiment
  reason = mode_coverage.ModeCoverage.rejects_data(config, None)
  if reason:
    raise configs.ConfigError(f'Measure train_mode_bn_coverage: {reason}')
  exp = Experiment(config)
  ckpt = checkpoint_lib.Checkpointer(workdir_lib.checkpoint_dir(run_dir))
  try:
    state = ckpt.restore(exp.place(exp.init_state()), ckpt.latest_step())
  finally:
    ckpt.close()
  scorer = mode_coverage.ModeCoverage(config, None, None, 0, {})
  trees = jax.device_get((exp.sampling_params(state), state.g_vars))
  out = {}
  for i, seed in enumerate(exp.seeds):
    g_params, g_vars = state_lib.replica(trees, i)
    z = state_lib.sample_latent(jax.random.PRNGKey(LATENT_KEY + seed), scorer.num_samples,
                                config.model.latent_dim, config.model.latent_dist)
    points, _ = exp.generator.apply({'params': g_params, **g_vars}, z, train=True,
                                    mutable=['batch_stats'])
    out[str(seed)] = scorer.metrics_of_samples(np.asarray(points))
  return out


TEXT_SAMPLE_LINES = 5  # Lines of text samples a page shows.


def text_samples(config, run_dir: str) -> dict:
  """The first TEXT_SAMPLE_LINES lines of a token-sequence run's last samples
  (samples/[seed_<s>/]step_NNNNNNN.txt, its config.seed's): {'file': 'step_0003000.txt',
  'lines': [...]}, or {'file': None, 'lines': []} when it wrote none."""
  import glob
  from gan_jax import workdir as workdir_lib
  folder = workdir_lib.sample_dir(run_dir, config.seed, config.get('num_seeds', 1))
  paths = sorted(glob.glob(os.path.join(folder, 'step_*.txt')))
  if not paths:
    return {'file': None, 'lines': []}
  with open(paths[-1]) as f:
    return {'file': os.path.basename(paths[-1]),
            'lines': f.read().splitlines()[:TEXT_SAMPLE_LINES]}


MEASURES = {'mid_run_evals': mid_run_evals, 'train_mode_bn_coverage': train_mode_bn_coverage,
            'text_samples': text_samples}


def get(name: str):
  """The measure called `name`; an unknown name fails listing the valid ones."""
  if name not in MEASURES:
    raise configs.ConfigError(f'Unknown measure {name!r}; valid measures: {sorted(MEASURES)}.')
  return MEASURES[name]
