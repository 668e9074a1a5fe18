"""GAN vs PacGAN2 on ring8 and grid25 over several seeds, beside PacGAN's Table 1.

  .venv/bin/python scripts/pacgan_table.py [--steps 10000] [--seeds 5] [--workdir runs/pacgan]
      [--shard i/n] [--table_only]

Trains experiments/ring8.py and grid25.py with model.pack 1 (GAN) and 2 (PacGAN2: batches of 100
packs, data.batch_size 200), one run per seed (seed-major, so a stopped table is balanced), each
`python -m gan_jax.main` evaluating by mode coverage on 2,500 samples every --eval_every steps and
at the end. Resumable: a finished run is read, not retrained; a stopped one resumes. A run counts
as finished only if it was trained under today's experiment (its config.json differs from
`run_config` in no field but the cadences): one from an older ring8.py is neither read nor resumed
(gan_jax.main refuses its workdir, naming the fields; pass a new --workdir).
`--shard i/n` trains every n-th run first, then any other not yet taken (scripts/shards.py; two
single-core shells in parallel:
  XLA_FLAGS=--xla_cpu_multi_thread_eigen=false taskset -c i \\
      .venv/bin/python scripts/pacgan_table.py --shard i/2
); without --shard, or with --table_only, it writes docs/pacgan.md and docs/pacgan.json (mean and
sample std over seeds, and every run's numbers).
"""
import argparse
import json
import os
import subprocess
import sys
import time


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from scripts import doc_files  # noqa: E402
from scripts import shards  # noqa: E402
from gan_jax import configs  # noqa: E402
from gan_jax.evaluation import mean_std  # noqa: E402

# Lin et al. (2018), Table 1: mean over 10 runs (modes, % high quality, KL).
PAPER = {
    ('ring8', 1): (6.3, 98.2, 0.45), ('ring8', 2): (7.9, 95.6, 0.07),
    ('grid25', 1): (17.3, 94.8, 0.70), ('grid25', 2): (23.8, 91.3, 0.13),
}
METRICS = ('modes_captured', 'high_quality_percent', 'kl_to_uniform')


def run_dir(workdir, data, pack, seed):
  return os.path.join(workdir, f'{data}_pack{pack}', f'seed{seed}')


def overrides(data, pack, seed, steps, eval_every) -> dict:
  """The run's fields beside experiments/<data>.py (its command line)."""
  return {'seed': seed, 'model.pack': pack, 'data.batch_size': 100 * pack,
          'train.num_steps': steps, 'train.eval_every': eval_every,
          'train.ckpt_every': eval_every, 'train.sample_every': eval_every}


def read_json(path):
  with open(path) as f:
    return json.load(f)


def run_config(data, pack, seed, steps, eval_every):
  """The config `train` runs: experiments/<data>.py with the run's overrides."""
  from gan_jax import sweep
  config = configs.load_experiment(os.path.join(ROOT, 'experiments', f'{data}.py'))
  return sweep.apply_overrides(config, overrides(data, pack, seed, steps, eval_every))


# Fields that change neither what a run trains nor how it is evaluated.
CADENCES = ('train.num_steps', 'train.log_every', 'train.sample_every', 'train.ckpt_every',
            'train.ckpt_keep', 'train.eval_every')


def finished(data, pack, seed, steps, eval_every, workdir):
  """The run's eval.json when it reached --steps under today's experiment (every field of its
  config.json but the cadences equal to `run_config`'s), else None."""
  d = run_dir(workdir, data, pack, seed)
  paths = [os.path.join(d, name) for name in ('eval.json', 'config.json')]
  if not all(os.path.exists(p) for p in paths):
    return None
  e, saved = [read_json(p) for p in paths]
  today = json.loads(run_config(data, pack, seed, steps, eval_every).to_json())  # As main saves.
  if e['step'] < steps or configs.changed(saved, today, lambda key: key in CADENCES):
    return None
  return e


def train(data, pack, seed, steps, eval_every, workdir):
  d = run_dir(workdir, data, pack, seed)
  cmd = [sys.executable, '-m', 'gan_jax.main', f'--config=experiments/{data}.py',
         f'--workdir={d}',
         *(f'--config.{k}={v}' for k, v in overrides(data, pack, seed, steps, eval_every).items())]
  print(' '.join(cmd), flush=True)
  subprocess.run(cmd, cwd=ROOT, check=True)


def collect(workdir, seeds, steps, eval_every):
  rows = {}
  for data in ('ring8', 'grid25'):
    for pack in (1, 2):
      runs = {}
      for seed in range(seeds):
        e = finished(data, pack, seed, steps, eval_every, workdir)
        if e is not None and e['step'] == steps:  # One trained further is not this table's.
          runs[seed] = e['seeds'][str(seed)]
        elif os.path.exists(os.path.join(run_dir(workdir, data, pack, seed), 'eval.json')):
          print(f'{data} pack {pack} seed {seed}: not read (trained under another experiment, '
                f'or not to {steps} steps exactly)', flush=True)
      rows[(data, pack)] = runs
  return rows


def _kl(v):
  return '—' if v is None else f'{v:.2f}'


def fmt(mean, std, digits):
  return '—' if mean is None else f'{mean:.{digits}f} ± {std:.{digits}f}'


def write_docs(rows, args, wall_s):
  lines = [
      '# Mode collapse: GAN vs PacGAN2 on ring8 and grid25',
      '',
      f'Generated by `.venv/bin/python scripts/pacgan_table.py --steps {args.steps} --seeds '
      f'{args.seeds}` (experiments/ring8.py, grid25.py; PacGAN2 adds `--config.model.pack=2 '
      '--config.data.batch_size=200`); do not edit by hand. Evaluation: 2,500 samples per run, a '
      'sample is high quality within 3 std of its nearest mode, KL(histogram of high-quality '
      'samples over the modes || uniform) (gan_jax/evaluators/). Ours: mean ± sample std over '
      f'seeds after {args.steps:,} steps; paper: Lin et al. (2018), Table 1, mean of 10 runs '
      'after 400 epochs (400,000 steps).',
      '',
      '| data | D | seeds | modes (ours) | modes (paper) | % high quality (ours) | '
      '(paper) | KL (ours) | KL (paper) |',
      '|---|---|---|---|---|---|---|---|---|',
  ]
  table = {}
  for (data, pack), runs in rows.items():
    stats = {k: mean_std([r[k] for r in runs.values()]) for k in METRICS}
    table[f'{data}_pack{pack}'] = {'runs': {str(s): r for s, r in runs.items()},
                                   'mean': {k: v[0] for k, v in stats.items()},
                                   'std': {k: v[1] for k, v in stats.items()},
                                   'count': {k: v[2] for k, v in stats.items()},
                                   'paper': dict(zip(METRICS, PAPER[(data, pack)]))}
    p = PAPER[(data, pack)]
    kl_note = '' if stats['kl_to_uniform'][2] == len(runs) else (
        f' ({stats["kl_to_uniform"][2]} runs with a high-quality sample)')
    lines.append(
        f'| {data} | {"GAN" if pack == 1 else f"PacGAN{pack}"} | {len(runs)} | '
        f'{fmt(*stats["modes_captured"][:2], 1)} | {p[0]} | '
        f'{fmt(*stats["high_quality_percent"][:2], 1)} | {p[1]} | '
        f'{fmt(*stats["kl_to_uniform"][:2], 2)}{kl_note} | {p[2]} |')
  lines += ['', 'Per run (seed: modes / % high quality / KL):', '']
  for key, t in table.items():
    per = '; '.join(f'{s}: {r["modes_captured"]} / {r["high_quality_percent"]:.1f} / '
                    f'{_kl(r["kl_to_uniform"])}' for s, r in t['runs'].items())
    lines.append(f'- {key}: {per}')
  lines += ['', f'Wall time of this invocation: {wall_s / 60:.1f} min on this machine '
            '(runs already finished are read, not retrained).', '']
  doc_files.write('pacgan', lines, {'steps': args.steps, 'seeds': args.seeds, 'table': table})


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--steps', type=int, default=10000)
  parser.add_argument('--eval_every', type=int, default=2500)
  parser.add_argument('--seeds', type=int, default=5)
  parser.add_argument('--workdir', default=os.path.join(ROOT, 'runs', 'pacgan'))
  parser.add_argument('--shard', default=None,
                      help='i/n: train every n-th run from the i-th first (scripts/shards.py).')
  parser.add_argument('--table_only', action='store_true', help='Only collect finished runs.')
  args = parser.parse_args()
  shards.check(parser, args.shard)
  start, workdir = time.time(), os.path.abspath(args.workdir)
  runs = [(data, pack, seed) for seed in range(args.seeds) for data in ('ring8', 'grid25')
          for pack in (1, 2)]  # Seed-major: a stopped table is balanced.
  if not args.table_only:
    shards.work(runs, args.shard,
                lambda r: finished(*r, args.steps, args.eval_every, workdir),
                lambda r: train(*r, args.steps, args.eval_every, workdir),
                lambda r: run_dir(workdir, *r),
                label=lambda r: f'{r[0]} pack {r[1]} seed {r[2]}')
  if args.shard is None or args.table_only:
    write_docs(collect(workdir, args.seeds, args.steps, args.eval_every), args,
               time.time() - start)


if __name__ == '__main__':
  main()
