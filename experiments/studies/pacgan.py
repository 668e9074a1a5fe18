"""Mode collapse on ring8 and grid25: a GAN against PacGAN2, beside PacGAN's Table 1.

  python -m gan_jax.study experiments/studies/pacgan.py [--shard i/n] [--report_only]
  python -m gan_jax.study experiments/studies/pacgan.py:runlocal     (seconds: the smoke test)

experiments/ring8.py and grid25.py with model.pack 1 (GAN) and 2 (PacGAN2: batches of 100 packs,
data.batch_size 200), 10,000 steps, 5 seeds, seed-major (a stopped table is balanced). Each run
is evaluated by mode coverage on 2,500 samples (gan_jax/evaluators/): a sample is high quality
within 3 std of its nearest mode; KL of the high-quality samples' histogram over the modes to
uniform. Paper: Lin et al. (2018), "PacGAN", Table 1, mean of 10 runs after 400 epochs
(400,000 steps); the unpacked GAN there is their own baseline, not ours.
"""
import os

from gan_jax import configs
from gan_jax.evaluators import mode_coverage
from gan_jax.reports import stats
from gan_jax.reports import tables
from gan_jax.study import Run, Study, spec

STEPS, EVAL_EVERY, SEEDS, BATCH = 10000, 2500, 5, 100  # BATCH: of the GAN; PacGAN2's is 2x.
# Lin et al. (2018), Table 1: mean over 10 runs (modes, % high quality, KL).
PAPER = {('ring8', 1): (6.3, 98.2, 0.45), ('ring8', 2): (7.9, 95.6, 0.07),
         ('grid25', 1): (17.3, 94.8, 0.70), ('grid25', 2): (23.8, 91.3, 0.13)}
METRICS = ('modes_captured', 'high_quality_percent', 'kl_to_uniform')
COMMAND = 'python -m gan_jax.study experiments/studies/pacgan.py'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def runs(steps: int, eval_every: int, seeds: int, batch: int, arg: str = '') -> list:
  out = []
  for seed in range(seeds):
    for data in ('ring8', 'grid25'):
      for pack in (1, 2):
        out.append(Run(
            name=f'{data}_pack{pack}/seed{seed}', config=f'experiments/{data}.py{arg}',
            seed=seed, labels={'data': data, 'pack': pack},
            overrides={'model.pack': pack, 'data.batch_size': batch * pack,
                       'train.num_steps': steps, 'train.eval_every': eval_every,
                       'train.ckpt_every': eval_every, 'train.sample_every': eval_every}))
  return out


def _kl(v) -> str:
  return '—' if v is None else f'{v:.2f}'


def eval_samples(arg: str = '') -> int:
  """Samples a run's evaluation draws, as declared: experiments/ring8.py[:arg]'s eval.num_samples,
  else mode coverage's default (grid25.py evaluates as ring8.py does)."""
  config = configs.load_experiment(os.path.join(REPO, 'experiments', 'ring8.py'), arg or None)
  return config.eval.num_samples or mode_coverage.ModeCoverage.default_num_samples


def steps_text(results: spec.Results) -> str:
  """The steps the finished runs reached, from their records ('10,000', or '4 / 10,000'; '—'
  before any run finished)."""
  steps = sorted({results.result(r)['step'] for r in results.finished()})
  return ' / '.join(f'{n:,}' for n in steps) or '—'


def make_report(command: str, batch: int, samples: int):
  """The report of a study made by `command`, with batches of `batch` and `samples` evaluated."""
  def report(results: spec.Results) -> spec.Page:
    lines = [
        '# Mode collapse: GAN vs PacGAN2 on ring8 and grid25', '',
        f'Made by `{command}` (experiments/ring8.py, grid25.py; PacGAN2 adds '
        f'`--config.model.pack=2 --config.data.batch_size={2 * batch}`); do not edit by hand. '
        f'Evaluation: {samples:,} samples per run, a sample is high quality within 3 std of its '
        'nearest mode, KL(histogram of high-quality samples over the modes || uniform) '
        '(gan_jax/evaluators/). Ours: mean ± sample std over seeds after '
        f'{steps_text(results)} steps; paper: Lin et al. (2018), Table 1, mean of 10 runs after '
        '400 epochs (400,000 steps).', '']
    rows, summary, per_run = table(results)
    lines += tables.markdown(['data', 'D', 'seeds', 'modes (ours)', 'modes (paper)',
                              '% high quality (ours)', '(paper)', 'KL (ours)', 'KL (paper)'], rows)
    lines += ['', 'Per run (seed: modes / % high quality / KL):', ''] + per_run
    return spec.Page(lines=lines, summary=summary)
  return report


def table(results: spec.Results) -> tuple:
  """(table rows, summary, per-run lines) of the finished runs beside the paper's numbers."""
  rows, summary, per_run = [], {}, []
  for (data, pack), paper in PAPER.items():
    by_seed = {s: r['metrics'] for s, r in results.by_seed(data=data, pack=pack).items()}
    st = {k: stats.mean_std([m[k] for m in by_seed.values()]) for k in METRICS}
    summary[f'{data}_pack{pack}'] = {k: {'mean': v[0], 'std': v[1], 'count': v[2]}
                                     for k, v in st.items()}
    kl_note = '' if st['kl_to_uniform'][2] == len(by_seed) else (
        f' ({st["kl_to_uniform"][2]} runs with a high-quality sample)')
    rows.append([data, 'GAN' if pack == 1 else f'PacGAN{pack}', len(by_seed),
                 stats.fmt(*st['modes_captured'][:2]), paper[0],
                 stats.fmt(*st['high_quality_percent'][:2]), paper[1],
                 stats.fmt(*st['kl_to_uniform'][:2], 2) + kl_note, paper[2]])
    per_run.append(f'- {data}_pack{pack}: ' + '; '.join(
        f'{s}: {m["modes_captured"]} / {m["high_quality_percent"]:.1f} / '
        f'{_kl(m["kl_to_uniform"])}' for s, m in by_seed.items()))
  return rows, summary, per_run


def get_study(arg=None) -> Study:
  if arg == 'runlocal':  # A minute: one seed of each, 4 steps (the study's smoke test).
    command = f'{COMMAND}:runlocal'
    return Study(name='pacgan_runlocal', runs=runs(4, 2, 1, 8, ':runlocal'), command=command,
                 report=make_report(command, 8, eval_samples('runlocal')))
  if arg:
    raise configs.ConfigError(f'Unknown study argument {arg!r}; valid: runlocal.')
  return Study(name='pacgan', runs=runs(STEPS, EVAL_EVERY, SEEDS, BATCH), command=COMMAND,
               report=make_report(COMMAND, BATCH, eval_samples()))
