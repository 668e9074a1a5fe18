"""experiments/studies/text.py and its run kind 'lm' (gan_jax/study/kind_lm.py): the declared
runs, the LM run's result read from a hand-made run directory, the page's generated parts from
hand-made records, a legible figure, and (slow) the `:runlocal` study end to end."""
import json
import os
import subprocess
import sys

import pytest

from gan_jax import configs
from gan_jax.reports import pages
from gan_jax.reports import plots
from gan_jax.study import Run, engine, kinds, spec
from tests.conftest import REPO

STUDY = os.path.join(REPO, 'experiments', 'studies', 'text.py')


def test_runs_are_seed_major_with_a_kind_and_experiment_each():
  study = engine.load(STUDY)
  assert study.name == 'text' and len(study.runs) == 39
  first = study.runs[:4]
  assert [r.name for r in first] == ['words_softmax/seed0', 'words_gumbel/seed0',
                                     'words_scratchgan/seed0', 'words_lm/seed0']
  assert [(r.kind, r.config) for r in first] == [
      ('gan', 'experiments/text_gan.py:words'), ('gan', 'experiments/text_gan.py:words,gumbel'),
      ('lm', 'experiments/text_scratchgan.py:words'), ('lm', 'experiments/text_lm.py:words')]
  assert [r.seed for r in study.runs[:36]] == [s for s in range(3) for _ in range(12)]
  assert [(r.name, r.config) for r in study.runs[36:]] == [  # Last: it costs the most.
      (f'words_softmax_wide/seed{s}', 'experiments/text_gan.py:words,wide') for s in range(3)]
  # The evaluator's version is in every run's args (so in its config hash): records scored by
  # the old evaluator are not reused.
  assert all(r.args == {'evaluation': 2, **({} if r.kind == 'lm' else
                                            {'measures': ['text_samples']})}
             for r in study.runs)
  small = engine.load(STUDY, 'runlocal')
  assert [r.config for r in small.runs] == [
      'experiments/text_gan.py:cfg,runlocal', 'experiments/text_gan.py:cfg,gumbel,runlocal',
      'experiments/text_scratchgan.py:cfg,runlocal', 'experiments/text_lm.py:cfg,runlocal']
  assert kinds.experiment_config(small.runs[2]).lm.objective == 'scratchgan'
  assert kinds.experiment_config(small.runs[3]).train.num_steps == 2


def _lm_run_dir(tmp_path, run, step):
  """A finished LM run as gan_jax.main --mode=lm leaves it (what kind_lm reads of it)."""
  d = tmp_path / 'lm'
  (d / 'samples').mkdir(parents=True)
  (d / 'config.json').write_text(kinds.experiment_config(run).to_json())
  metrics = {'bleu_4': 0.5, 'self_bleu_4': 0.7}
  (d / 'eval.json').write_text(json.dumps({
      'step': step, 'kind': 'lm', 'heldout_nll': 2.5, 'temperatures': {'0.5': metrics},
      'protocol': {'real_train_vs_heldout': {'bleu_4': 0.9}}}))
  (d / 'samples' / 'temperature_0.5.txt').write_text(''.join(f'row {i}\n' for i in range(7)))
  (d / 'metrics.jsonl').write_text('{"step": 2, "steps_per_s": 1.0}\n'
                                   '{"step": 4, "steps_per_s": 2.0}\n')
  return str(d)


def test_lm_kind_reads_a_finished_run_and_refuses_others(tmp_path):
  kind = kinds.get('lm')
  run = Run(name='x', kind='lm', config='experiments/text_lm.py:cfg,runlocal', seed=1)
  d = _lm_run_dir(tmp_path, run, 4)
  assert kind.result(run, d) == {  # 2 steps at 1 step/s, then 2 at 2: 3 s.
      'step': 4, 'temperatures': {'0.5': {'bleu_4': 0.5, 'self_bleu_4': 0.7}},
      'real': {'bleu_4': 0.9}, 'heldout_nll': 2.5,
      'samples': {'0.5': [f'row {i}' for i in range(5)]}, 'seconds': 3.0}
  assert kind.result(Run(name='x', kind='lm', config=run.config, seed=1,
                         overrides={'train.num_steps': 8}), d) is None  # Not at its last step.
  assert kind.result(Run(name='x', kind='lm', config=run.config, seed=1,
                         overrides={'lm.hidden': 32}), d) is None  # Trained under another config.
  assert kind.result(run, str(tmp_path / 'nothing')) is None


def _records(seconds=None, wall=None):
  """Hand-made records of the cfg runs of seed 0: a GAN at step 2, the LM at T 0.5 and 1.0."""
  gan = {'accepted_percent': 20.0, 'self_bleu_4': 0.9, 'bleu_4': 0.5}
  lm = {t: {'accepted_percent': q, 'self_bleu_4': d} for t, d, q in
        (('0.5', 0.95, 99.0), ('0.7', 0.9, 95.0), ('1.0', 0.85, 90.0))}
  out = {'cfg_softmax/seed0': {'step': 2, 'metrics': gan, 'seconds': seconds,
                               'text_samples': {'file': 'step_0000002.txt',
                                                'lines': ['t1 t2', 't3']}},
         'cfg_gumbel/seed0': {'step': 2, 'metrics': gan, 'seconds': seconds,
                              'text_samples': {'file': None, 'lines': []}},
         'cfg_lm/seed0': {'step': 3, 'temperatures': lm, 'real': {'accepted_percent': 100.0,
                                                                  'self_bleu_4': 0.8},
                          'samples': {'0.5': ['a'], '0.7': ['b'], '1.0': ['c']},
                          'seconds': seconds}}
  if wall is not None:
    out['cfg_lm/seed0']['wall_minutes'] = wall
  return {k: {'result': v} for k, v in out.items()}


def _page(records):
  study = engine.load(STUDY, 'runlocal')
  return study.report(spec.Results(runs=list(study.runs), records=records))


def test_page_from_records_has_steps_samples_and_what_minutes_are():
  page = _page(_records(seconds=120.0))
  md = '\n'.join(page.lines)
  assert 'GANs 2 steps, MLE 3 steps, the `:runlocal` smoke-test sizes.' in md
  assert "minutes a run: the median (range) over seeds of a run's training time" in md
  assert 'GAN WGAN-GP softmax (samples/step_0000002.txt):\n\n```\nt1 t2\nt3\n```' in md
  assert 'GAN Gumbel-softmax (samples' not in md  # It wrote none.
  assert 'MLE, T=0.5 (samples/temperature_0.5.txt):\n\n```\na\n```' in md
  assert 'MLE, T=1.0 (samples/temperature_1.0.txt):\n\n```\nc\n```' in md
  assert 'T=0.7 (samples' not in md  # The lowest T and 1.0 only.
  assert ('Not finished yet, so not in the tables: 1 of 4 declared runs (cfg scratchgan, seed '
          '0); the study resumes them.') in md
  assert '| GAN WGAN-GP softmax | 1 | — | 20.0 ± 0.0 |' in md and '| 2.0 |' in md  # 120 s.
  assert page.summary['table']['cfg']['real']['accepted_percent'] == 100.0
  # At self-BLEU-4 0.9 the curve has 95 (T=0.7): 75 points worse.
  assert page.summary['reading']['cfg']['softmax']['advantage'] == pytest.approx(-75.0)
  plots.png_bytes(page.figure)
  mixed = '\n'.join(_page(_records(seconds=120.0, wall=3.0)).lines)
  assert 'kept by the old scripts/text_table.py, which made some of these runs' in mixed
  assert "or a run's training time" in mixed


def test_slowed_run_note_only_for_the_old_scripts_records():
  """The note on a run slowed by the test suite is about the converted runs, named by their
  machine note; the study's own records do not get it."""
  own = _records(seconds=120.0)
  assert 'test suite' not in '\n'.join(_page(own).lines)
  note = 'not recorded (runs of scripts/text_table.py, page of 2026-11-29; converted from ...)'
  converted = {k: {**v, 'machine': note} for k, v in _records(wall=3.0).items()}
  md = '\n'.join(_page(converted).lines)
  assert ('with 1 seed, one run that shared its core with other work (the test suite) shows in '
          'the range, not the median.') in md


def test_figure_labels_do_not_overlap_each_other_or_leave_their_panel():
  """The committed page's figure: every T label inside its panel, none on top of another."""
  tables = pages.read(os.path.join(REPO, 'docs'), 'text')['summary']['table']
  fig = configs.load_module(STUDY).figure(tables)
  with plots.plt.rc_context(plots.STYLE):
    fig.tight_layout()
  fig.canvas.draw()
  renderer = fig.canvas.get_renderer()
  for ax in fig.axes:
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == len(tables[ax.get_title().split()[0]]['lm'])
    frame = ax.get_window_extent(renderer)
    for i, b in enumerate(boxes):
      assert frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1
      assert not any(b.overlaps(c) for c in boxes[i + 1:]), ax.get_title()
  plots.plt.close(fig)


def test_figure_draws_every_method_of_the_report():
  """Every GAN of reports/text.GAN_NAMES (the wide one included) has a colour, a marker and a
  legend entry."""
  from gan_jax.reports import text
  metrics = lambda q, d: {'dictionary_lift': q, 'self_bleu_4': d}  # noqa: E731
  runs = {m: {0: {'metrics': metrics(1.0 + i, 0.5 + 0.1 * i)}}
          for i, m in enumerate(text.GAN_NAMES) if m != 'scratchgan'}
  runs['scratchgan'] = {0: {'temperatures': {'1.0': metrics(2.5, 0.62)}}}
  runs['lm'] = {0: {'temperatures': {'0.5': metrics(9.0, 0.9), '1.0': metrics(4.0, 0.6)}}}
  table = text.aggregate('words', runs, metrics(99.0, 0.6))
  fig = configs.load_module(STUDY).figure({'words': table})
  legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
  assert set(text.GAN_NAMES.values()) <= set(legend)
  plots.plt.close(fig)


def _study(*args, workdir, docs):
  cmd = [sys.executable, '-m', 'gan_jax.study', f'{STUDY}:runlocal', f'--workdir={workdir}',
         f'--docs_dir={docs}', *args]
  r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
  return r.stdout + r.stderr  # The engine logs its progress (absl, stderr).


def _files(docs):
  return {p: open(os.path.join(docs, p), 'rb').read() for p in sorted(os.listdir(docs))}


@pytest.mark.slow  # Trains four runlocal runs (two GANs, ScratchGAN, the LM) in subprocesses.
def test_runlocal_study_trains_once_and_its_page_regenerates_from_the_json(tmp_path):
  workdir, docs = str(tmp_path / 'runs'), str(tmp_path / 'docs')
  first = _study(workdir=workdir, docs=docs)
  assert '4 runs trained by this process; 4 of 4 finished.' in first
  written = _files(docs)
  assert sorted(written) == ['text_runlocal.json', 'text_runlocal.md', 'text_runlocal.png']
  assert '0 runs trained by this process; 4 of 4 finished.' in _study(workdir=workdir, docs=docs)
  assert _files(docs) == written
  _study('--report_only', workdir=str(tmp_path / 'none'), docs=docs)
  assert _files(docs) == written
  md = written['text_runlocal.md'].decode()
  rows = [line for line in md.splitlines() if line.startswith('| ')]
  assert [r.split(' | ')[0][2:] for r in rows[1:]] == [
      'real data (train vs held-out)', 'GAN WGAN-GP softmax', 'GAN Gumbel-softmax',
      'ScratchGAN (REINFORCE, T=1)', *(f'MLE, T={t}' for t in ('0.5', '0.7', '0.85', '1.0', '1.2'))]
  real = rows[1].split(' | ')
  assert float(real[2]) > 95 and real[3] == '100.0' and 'Reading (cfg' in md  # Lift, rate.
  assert 'GAN WGAN-GP softmax (samples/step_0000002.txt)' in md
  assert 'MLE, T=1.0 (samples/temperature_1.0.txt)' in md
  assert 'ScratchGAN (REINFORCE, T=1) (samples/temperature_1.0.txt)' in md
  assert 'Not finished' not in md
  records = json.loads(written['text_runlocal.json'])['runs']
  assert records['cfg_lm/seed0']['result']['seconds'] > 0
  assert len(records['cfg_softmax/seed0']['result']['text_samples']['lines']) == 5
