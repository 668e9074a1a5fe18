"""Evaluation of a run's generators: the runner the training loop calls, and eval.json.

`EvalRunner` builds the evaluators that config.eval selects (gan_jax/evaluators), then at each
evaluation draws every seed's samples and gives them to each evaluator. Generated samples come
from G (its EMA, when optim.ema_decay > 0: the caller passes the parameters to sample) in
evaluation mode (running batch-norm statistics), with latents drawn from a fixed key per seed (the
same at every evaluation), in chunks of `eval.batch_size`. Each seed's samples are drawn once, as
many as the most any selected evaluator takes; an evaluator taking fewer reads their prefix (the
same samples it would draw alone, since chunk i's latents depend on i only).

eval.json holds every seed's numbers, their mean and sample std over seeds, and the protocol. With
one evaluator, `protocol` is that evaluator's dict ({'kind': ..., 'features': ..., ...}); with
several, `protocol` is {evaluator name: its dict} and each seed's numbers are the union of the
evaluators' (their metric names never collide: gan_jax.evaluators.check_metric_names).
"""
import os
import time
from typing import Optional

import jax
import numpy as np
from absl import logging

from gan_jax import atomic_files
from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import evaluators as evaluators_lib
from gan_jax import experiment as experiment_lib
from gan_jax import parallel
from gan_jax import sampling
from gan_jax import state as state_lib
from gan_jax import workdir as workdir_lib
from gan_jax import writers
from gan_jax.seed_stats import mean_std  # noqa: F401 -- evaluation.mean_std, as before.

EVAL_JSON = 'eval.json'


def summarize(step: int, per_seed: dict, protocol: dict) -> dict:
  """eval.json's content: every seed's numbers, their mean and std over seeds, the protocol.

  A metric that is undefined for a seed (None, e.g. the KL of a run without one high-quality
  sample) is left out of its mean; `count` says over how many seeds each mean is.
  """
  keys = list(next(iter(per_seed.values())))
  stats = {k: mean_std([m[k] for m in per_seed.values()]) for k in keys}
  return {'step': int(step), 'protocol': protocol,
          'seeds': {str(s): m for s, m in per_seed.items()},
          'mean': {k: v[0] for k, v in stats.items()},
          'std': {k: v[1] for k, v in stats.items()},
          'count': {k: v[2] for k, v in stats.items()},
          'std_note': 'sample standard deviation over seeds (ddof=1)',
          'num_seeds': len(per_seed)}


def write_eval_json(workdir: str, summary: dict) -> str:
  """Writes (atomically) workdir/eval.json; NaN or inf is an error, never written."""
  return atomic_files.write_json(os.path.join(workdir, EVAL_JSON), summary, indent=2,
                                 allow_nan=False)


def generator_text(config) -> str:
  """eval.json's description of the generator that made the samples."""
  o = config.optim
  stats = ('standing batch-norm statistics of the sampling parameters (eval.bn_stats)'
           if config.eval.bn_stats == 'standing'
           else 'running batch-norm statistics')
  if o.ema_decay > 0:
    return (f'EMA of G\'s parameters (optim.ema_decay={o.ema_decay}, ema_start='
            f'{o.ema_start}) with the {stats}, evaluation mode')
  return f'G in evaluation mode ({stats})'


def merge_metrics(parts: list) -> dict:
  """One seed's numbers: the union of each evaluator's dict; a repeated name is an error."""
  out = {}
  for ev, m in parts:
    clash = sorted(set(out) & set(m))
    if clash:
      raise evaluators_lib.EvalError(f'Evaluator {ev.name!r} reports {clash}, already reported '
                                     'by another selected evaluator.')
    out.update(m)
  return out


class EvalRunner:
  """Built once per run: the selected evaluators (extractors, reference features) and the
  sampler of G in evaluation mode; `run` evaluates every seed of a state's generators."""

  def __init__(self, config, source, element_shape, num_classes: int, generator, seeds: list,
               cache: Optional[dict] = None):
    """`source`: the data source; `element_shape`: one sample's shape; `num_classes`: the
    classes of a conditional G (0: unconditional); `generator`: G's module; `seeds`: the run's
    seeds, in the order of the state's seed axis; `cache`: see gan_jax.evaluators.build.
    Raises EvalError (before anything compiles) when the selection cannot evaluate the data."""
    self.config, self.seeds, self.num_classes = config, list(seeds), num_classes
    self.evaluators = evaluators_lib.build(config, source, element_shape, num_classes, cache)
    self.num_samples = max((ev.num_samples for ev in self.evaluators), default=0)
    self._sample = sampling.make_eval_sampler(generator)

  @property
  def enabled(self) -> bool:
    return bool(self.evaluators)

  def describe(self) -> dict:
    """eval.json's protocol: the evaluator's dict, or {name: dict} for several."""
    shared = {'generator': generator_text(self.config),
              'latents': 'fixed per seed (state.STREAM_EVAL_Z)'}
    parts = {ev.name: {**ev.describe(), **shared} for ev in self.evaluators}
    return next(iter(parts.values())) if len(parts) == 1 else parts

  def generate(self, g_params, g_vars, seed: int, num: int) -> np.ndarray:
    """`num` samples of one seed's generator, from that seed's fixed eval latents."""
    chunk, m = self.config.eval.batch_size, self.config.model
    key = jax.random.fold_in(jax.random.PRNGKey(seed), state_lib.STREAM_EVAL_Z)
    out = []
    for i in range(-(-num // chunk)):
      z = state_lib.sample_latent(jax.random.fold_in(key, i), chunk, m.latent_dim,
                                  m.latent_dist)
      labels = state_lib.sample_labels(jax.random.fold_in(jax.random.fold_in(key, i), 1), chunk,
                                       self.num_classes)  # Uniform classes, if conditional.
      out.append(np.asarray(self._sample(g_params, g_vars, z, labels)))
    return np.concatenate(out)[:num]

  def evaluate(self, g_params_S, g_vars_S) -> dict:
    """{seed: metrics} of each seed's generator; the trees are stacked over seeds."""
    g = parallel.to_host((g_params_S, g_vars_S))
    results = {}
    for i, seed in enumerate(self.seeds):
      samples = self.generate(*state_lib.replica(g, i), seed, self.num_samples)
      results[seed] = merge_metrics(
          [(ev, ev.metrics_of_samples(samples[:ev.num_samples])) for ev in self.evaluators])
    return results

  def run(self, g_params_S, g_vars_S, step: int, workdir: str, writer, is_writer: bool) -> dict:
    """Evaluates every seed; appends eval/* lines to metrics.jsonl (through `writer`), rewrites
    eval.json (when `is_writer`) and logs one line. Returns eval.json's content."""
    start = time.time()
    per_seed = self.evaluate(g_params_S, g_vars_S)
    summary = summarize(step, per_seed, self.describe())
    multi_seed = len(self.seeds) > 1
    for seed, m in per_seed.items():
      name = workdir_lib.seed_name(seed, len(self.seeds))  # TensorBoard tags of several seeds.
      writer.write_scalars(step, {f'eval/{k}': v for k, v in m.items() if v is not None}, seed,
                           tag_suffix=f'/{name}' if name else '')
    if is_writer:
      write_eval_json(workdir, summary)
    logging.info('eval at step %d (%s, %d samples%s, %.1fs): %s', step,
                 '+'.join(ev.name for ev in self.evaluators), self.num_samples,
                 f', mean of {len(self.seeds)} seeds' if multi_seed else '', time.time() - start,
                 ', '.join(f'{k} {v:.4g}' for k, v in summary['mean'].items() if v is not None))
    return summary


def evaluate_checkpoint(config, workdir: str) -> dict:
  """`--mode=eval`: evaluates the workdir's latest checkpoint and writes workdir/eval.json."""
  workdir = workdir_lib.check_workdir(config, workdir)
  if jax.process_index() == 0:
    workdir_lib.WorkdirLock(workdir).ensure_free()  # Not while a run trains there.
  exp = experiment_lib.Experiment(config)
  if exp.source.vocab is not None:  # Token ids must mean the tokens the run trained on.
    workdir_lib.check_vocab(workdir, exp.source.vocab.to_json())
  runner = EvalRunner(config, exp.source, exp.dataset.element_shape, exp.num_classes,
                      exp.generator, exp.seeds)
  if not runner.enabled:
    raise configs.ConfigError('Evaluation is off (eval.features=none or eval.evaluators=()): '
                              'nothing to evaluate; set eval.features or eval.evaluators.')
  ckpt = checkpoint_lib.Checkpointer(workdir_lib.checkpoint_dir(workdir))
  try:
    step = ckpt.latest_step()
    if step is None:
      raise workdir_lib.WorkdirError(
          f'--workdir={workdir} has no checkpoint to evaluate; train first (--mode=train), or '
          'point --workdir at a trained run.')
    state = ckpt.restore(exp.place(exp.init_state()), step)
  finally:
    ckpt.close()
  is_writer = jax.process_index() == 0
  writer = writers.MetricWriter(workdir) if is_writer else writers.NullWriter()
  try:
    return runner.run(exp.sampling_params(state), exp.sampling_vars(state), step, workdir, writer,
                      is_writer)
  finally:
    writer.close()
