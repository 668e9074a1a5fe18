"""Screening candidate recipes for the default experiment by quality against training steps.

  .venv/bin/python scripts/ttq_screen.py [--candidates a,b] [--steps 1000,2000,4000,6000]
      [--workdir runs/ttq_screen] [--shard i/n] [--table_only] [--docs_dir docs]
  make ttq-screen [SHARD=i/n]

The time-to-quality benchmark (scripts/ttq.py) times each recipe alone on the whole machine, ten
minutes a recipe: too dear to try many. This screen asks the cheaper question first: what quality
does each candidate (CANDIDATES: overrides of the default they were screened on, which is
experiments/dcgan_mnist.py with scripts/ttq.py's EARLIER_DEFAULT) reach after the same number of
steps? Quality against steps does not depend on the cores a run gets, so candidates
train side by side as single-core shards (`--shard i/n`, scripts/shards.py):

  XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c i \\
      .venv/bin/python scripts/ttq_screen.py --shard i/2

Each candidate trains once (seed 0) to the largest of --steps as a `gan_jax.main` subprocess in
<workdir>/<name> (resumable: a stopped run resumes from its checkpoints), keeping a checkpoint at
every step of --steps; each is scored by gan_jax's feature protocol (scripts/ttq.py's, 5,000
samples against the 4,500 mnist5k training digits in the mnist_classifier's space) and written to
<name>/screen.json. Its cost is the median steps/s of its training log on the one core it had,
beside the default's on a neighbouring core: a ratio, not a time. A candidate that wins here goes
to scripts/ttq.py, which alone decides the default. Without --shard, or with --table_only, the
finished candidates are written to docs/ttq_screen.md and .json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from gan_jax import atomic_files  # noqa: E402
from gan_jax import configs  # noqa: E402
from scripts import doc_files  # noqa: E402
from scripts import shards  # noqa: E402
from scripts import ttq  # noqa: E402

# name -> (overrides of the earlier default, what it tries): round 1 fixed before any result,
# round 2 (ROUND_2) after round 1 and before any of its own.
CANDIDATES = {
    'default': ({}, 'the default the candidates were screened on (issue 16\'s first recipe, '
                    'docs/ttq.md\'s ema999)'),
    'd64': ({'model.d_kwargs.dcgan.base_features': 64}, 'a D twice as wide (64, 128)'),
    'lr5e-4': ({'optim.g_lr': 5e-4, 'optim.d_lr': 5e-4}, 'learning rates 5e-4 for both'),
    'ttur': ({'optim.g_lr': 1e-4, 'optim.d_lr': 4e-4},
             'two time-scale learning rates (Heusel et al. 2017): G 1e-4, D 4e-4'),
    'hinge_sn': ({'loss.name': 'hinge', 'model.d_kwargs.dcgan.spectral_norm': True},
                 'hinge loss, spectral norm in D (Miyato et al. 2018)'),
    'r1': ({'loss.penalties.r1': 1.0, 'loss.lazy_every': 16},
           'R1 on real data, weight 1 (gamma 2), lazy every 16 steps (Mescheder et al. 2018, '
           'Karras et al. 2020)'),
    'batch64': ({'data.batch_size': 64}, 'batches of 64'),
    'batch16': ({'data.batch_size': 16}, 'batches of 16: cheaper steps'),
    'no_augment': ({'augment.policy': ''}, 'the default without DiffAugment'),
    'no_ema': ({'optim.ema_decay': 0.0, 'optim.ema_start': 0, 'eval.bn_stats': 'running'},
               'the default sampled from the live G (no EMA), running batch-norm statistics'),
    'cutout': ({'augment.policy': 'translation,cutout'}, 'DiffAugment translation and cutout'),
    'g64': ({'model.g_kwargs.dcgan.base_features': 64}, 'a G half as wide: cheaper steps'),
    'conditional': ({'model.conditional': True},
                    'class-conditional G (conditional batch norm) and projection D on the '
                    'digits\' labels'),
    # Round 2, fixed once round 1 had shown `conditional` far ahead (FID 41 at step 6000 against
    # the default's 315; round 1 was cut short there, three of its candidates screened), before
    # any round-2 result: changes on top of it that may buy more
    # quality within the time budget (cheaper steps, faster learning, less EMA lag).
    'cond_lr5e-4': ({'model.conditional': True, 'optim.g_lr': 5e-4, 'optim.d_lr': 5e-4},
                    'conditional, learning rates 5e-4 for both'),
    'cond_batch16': ({'model.conditional': True, 'data.batch_size': 16},
                     'conditional, batches of 16: cheaper steps'),
    'cond_g64': ({'model.conditional': True, 'model.g_kwargs.dcgan.base_features': 64},
                 'conditional, a G half as wide: cheaper steps'),
    'cond_no_ema': ({'model.conditional': True, 'optim.ema_decay': 0.0, 'optim.ema_start': 0,
                     'eval.bn_stats': 'running'},
                    'conditional, sampled from the live G (no EMA lag), running batch-norm '
                    'statistics'),
    'cond_ema99': ({'model.conditional': True, 'optim.ema_decay': 0.99},
                   'conditional, EMA decay 0.99 (a 100-step horizon instead of 1,000)'),
    'cond_hinge_sn': ({'model.conditional': True, 'loss.name': 'hinge',
                       'model.d_kwargs.dcgan.spectral_norm': True},
                      'conditional, hinge loss, spectral norm in D'),
}
ROUND_2 = ('cond_lr5e-4', 'cond_batch16', 'cond_g64', 'cond_no_ema', 'cond_ema99',
           'cond_hinge_sn')
STEPS = (1000, 2000, 4000, 6000)
SHOWN = ('fid', 'confident_percent', 'classes_present', 'precision', 'recall', 'density',
         'coverage')


def run_dir(workdir: str, name: str) -> str:
  return os.path.join(workdir, name)


def finished(name: str, args):
  """The candidate's screen.json when it holds every step of --steps and its run trained under
  today's definition (the run's config.json equal to `run_config` in every field but the
  cadences), else None."""
  d = run_dir(args.workdir, name)
  r = ttq.load_results(os.path.join(d, 'screen.json'))
  saved = ttq.load_results(os.path.join(d, 'config.json'))
  today = json.loads(json.dumps(CANDIDATES[name][0]))  # As read back (tuples become lists).
  ok = (r and r['overrides'] == today and
        all(str(s) in r['scores'] for s in args.steps) and
        configs.trained_under(saved, run_config(name, args)))
  return r if ok else None


def run_overrides(name: str, args) -> dict:
  """What a candidate's run trains: the earlier default, its overrides, the screen's fields."""
  return {**ttq.EARLIER_DEFAULT, **CANDIDATES[name][0], 'train.num_steps': max(args.steps),
          'train.ckpt_every': min(args.steps), 'train.ckpt_keep': 0, 'eval.features': 'none'}


def run_config(name: str, args):
  return ttq.recipe_config(run_overrides(name, args))


def median_rate(workdir: str) -> float:
  """The median steps/s of a run's training log (metrics.jsonl), or None without one."""
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    rates = [json.loads(line).get('steps_per_s') for line in f if line.strip()]
  rates = [r for r in rates if r]
  return float(np.median(rates)) if rates else None


def train_and_score(name: str, args, cache: dict) -> dict:
  """Trains one candidate to the last of --steps (resuming), scores its checkpoints there."""
  overrides, d = CANDIDATES[name][0], run_dir(args.workdir, name)
  trained = run_overrides(name, args)  # The screen's base stays what it was (EARLIER_DEFAULT).
  check_checkpoint_spacing(d, args.steps)
  cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={ttq.CONFIG}', f'--workdir={d}',
         *(f'--config.{k}={ttq.flag(v)}' for k, v in trained.items())]
  print(' '.join(cmd[1:]), flush=True)
  start = time.time()
  subprocess.run(cmd, cwd=ROOT, check=True)
  seconds = time.time() - start
  scored = {k: v for k, v in trained.items() if k != 'eval.features'}  # Features on to score.
  scores = ttq.score_checkpoints(scored, d, list(args.steps),
                                 cache)
  for step, m in scores.items():
    print(f'  {name} step {step}: {ttq.fmt_metrics(m)}', flush=True)
  result = {'overrides': overrides, 'scores': {str(s): m for s, m in scores.items()},
            'steps_per_s': median_rate(d), 'last_invocation_seconds': round(seconds, 1)}
  atomic_files.write_json(os.path.join(d, 'screen.json'), result, indent=2)  # Others read it.
  return result


def check_checkpoint_spacing(d: str, steps: tuple) -> None:
  """Refuses a run dir whose run keeps checkpoints at other steps than --steps needs."""
  saved = ttq.load_results(os.path.join(d, 'config.json'))
  every = saved and saved['train']['ckpt_every']
  if every and any(s % every for s in steps):
    raise SystemExit(f'{d} keeps a checkpoint every {every} steps, and --steps '
                     f'{",".join(map(str, steps))} needs others: use multiples of {every}, or a '
                     'new --workdir.')


def table_lines(results: dict, steps: list) -> list:
  last = str(max(steps))
  head = (['candidate', 'steps/s (1 core)'] + [f'FID @{s}' for s in steps] +
          [f'{k} @{last}' for k in SHOWN[1:]])
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for name, r in results.items():
    rate = '—' if r['steps_per_s'] is None else f'{r["steps_per_s"]:.2f}'
    cells = [ttq.cell(r['scores'][str(s)], 'fid') for s in steps]
    cells += [ttq.cell(r['scores'][last], k) for k in SHOWN[1:]]
    lines.append(f'| {name} | {rate} | ' + ' | '.join(cells) + ' |')
  return lines


def reading(results: dict, steps: list) -> list:
  """Generated: each candidate's FID and cost at the last step against the default's."""
  if 'default' not in results:
    return []
  last, base = str(max(steps)), results['default']
  fid0, rate0 = base['scores'][last]['fid'], base['steps_per_s']
  out = [f'Reading (generated from the table), at step {last} against the default\'s FID '
         f'{fid0:.1f}:', '']
  for name, r in sorted(results.items(), key=lambda kv: kv[1]['scores'][last]['fid']):
    if name == 'default':
      continue
    m = r['scores'][last]
    cost = ('' if not (rate0 and r['steps_per_s']) else
            f'; a step costs {rate0 / r["steps_per_s"]:.2f}x the default\'s')
    out.append(f'- {name}: FID {m["fid"]:.1f} ({m["fid"] / fid0:.2f}x), '
               f'{m["confident_percent"]:.1f}% confident{cost}.')
  return out


def write_docs(args) -> None:
  results = {n: r for n in args.candidates if (r := finished(n, args))}
  steps = list(args.steps)
  lines = [
      '# Screening recipes for the default: quality against training steps', '',
      'Generated by `.venv/bin/python scripts/ttq_screen.py` (its docstring is the protocol); do '
      'not edit by hand. Each candidate trained once (seed 0) as a single-core shard beside '
      'another; scores: the feature protocol of docs/ttq.md (5,000 samples against the 4,500 '
      'mnist5k training digits, mnist_classifier features) at each step. steps/s: the median of '
      'the run\'s training log on its one core, comparable between rows, not a wall time; '
      'docs/ttq.md times the recipes that go on, alone on the machine.', '',
      *table_lines(results, steps), '', *reading(results, steps), '',
      'Candidates (overrides of the default they were screened on: experiments/dcgan_mnist.py '
      'with ' + (' '.join(f'`{k}={ttq.flag(v)}`' for k, v in ttq.EARLIER_DEFAULT.items())) +
      ', issue 16\'s first recipe):', '']
  for name in results:
    over, what = CANDIDATES[name]
    shown = ' '.join(f'`{k}={ttq.flag(v)}`' for k, v in over.items()) or '—'
    lines.append(f'- **{name}**{" (round 2)" if name in ROUND_2 else ""}: {what}. {shown}')
  missing = [n for n in args.candidates if n not in results]
  if missing:
    lines += ['', 'Not (yet) screened, so not in the table: ' + ', '.join(missing) + '.']
  os.makedirs(args.docs_dir, exist_ok=True)
  doc_files.DOCS = args.docs_dir  # doc_files writes to its DOCS folder.
  doc_files.write('ttq_screen', lines + [''], {'steps': steps, 'results': results})


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--candidates', default=','.join(CANDIDATES))
  parser.add_argument('--steps', default=','.join(map(str, STEPS)))
  parser.add_argument('--workdir', default=os.path.join(ROOT, 'runs', 'ttq_screen'))
  parser.add_argument('--shard', default=None, help='i/n (scripts/shards.py).')
  parser.add_argument('--table_only', action='store_true')
  parser.add_argument('--docs_dir', default=doc_files.DOCS)
  args = parser.parse_args(argv)
  args.candidates = [c for c in args.candidates.split(',') if c]
  unknown = sorted(set(args.candidates) - set(CANDIDATES))
  if unknown:
    parser.error(f'unknown candidates {unknown}; valid: {list(CANDIDATES)}')
  shards.check(parser, args.shard)
  raw = args.steps
  try:
    args.steps = tuple(sorted(int(s) for s in raw.split(',')))
  except ValueError:
    args.steps = ()
  if not args.steps or args.steps[0] <= 0 or any(s % args.steps[0] for s in args.steps):
    parser.error(f'--steps takes positive integers, each a multiple of the smallest (a '
                 f'checkpoint is kept every smallest step), got {raw!r}.')
  args.workdir = os.path.abspath(args.workdir)
  return args


def main():
  args = parse_args()
  cache = {}
  if not args.table_only:
    shards.work(args.candidates, args.shard, lambda n: finished(n, args),
                lambda n: train_and_score(n, args, cache), lambda n: run_dir(args.workdir, n))
  if args.shard is None or args.table_only:
    write_docs(args)


if __name__ == '__main__':
  main()
