"""scripts/text_table.py: the text application's results page, end to end on cfg (runlocal runs,
2 steps, into temporary folders), and its matched-diversity reading on hand-made numbers."""
import json
import os
import subprocess
import sys

from PIL import Image
import pytest

from scripts import text_table
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # Trains three runlocal runs in subprocesses.


def _script(workdir, docs):
  cmd = [sys.executable, 'scripts/text_table.py', '--benchmarks=cfg', '--runlocal', '--seeds=1',
         '--gan_steps=2', '--lm_steps=2', f'--workdir={workdir}', f'--docs_dir={docs}',
         '--extra=--config.optim.n_critic=1']
  r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
  return r.stdout


@pytest.fixture(scope='module')
def page(tmp_path_factory):
  """(workdir, docs folder, first output, second output) of two invocations."""
  root = tmp_path_factory.mktemp('text_table')
  workdir, docs = str(root / 'runs'), str(root / 'docs')
  repo_page = [os.path.join(REPO, 'docs', f'text.{ext}') for ext in ('md', 'json', 'png')]
  before = [os.path.exists(p) and os.path.getmtime(p) for p in repo_page]
  first = _script(workdir, docs)
  evals = {m: os.path.join(text_table.run_dir(workdir, 'cfg', m, 0), 'eval.json')
           for m in text_table.METHODS}
  mtimes = {m: os.path.getmtime(p) for m, p in evals.items()}
  second = _script(workdir, docs)
  assert {m: os.path.getmtime(p) for m, p in evals.items()} == mtimes
  assert [os.path.exists(p) and os.path.getmtime(p) for p in repo_page] == before  # Untouched.
  return workdir, docs, first, second


def test_runs_train_once_and_record_wall_time(page):
  workdir, _, first, second = page
  assert '3 runs trained by this process (shard 0/1); 3 of 3 finished.' in first
  assert '0 runs trained by this process (shard 0/1); 3 of 3 finished.' in second
  for m in text_table.METHODS:
    d = text_table.run_dir(workdir, 'cfg', m, 0)
    with open(os.path.join(d, 'wall.json')) as f:
      wall = json.load(f)
    assert wall['seconds'] > 0 and wall['invocations'] == 1
    assert not os.path.exists(os.path.join(d, 'wall_partial.json'))


def test_page_has_the_cfg_table_reading_samples_and_figure(page):
  _, docs, _, _ = page
  md = open(os.path.join(docs, 'text.md')).read()
  assert 'do not edit by hand' in md and 'scripts/text_table.py --benchmarks=cfg' in md
  assert '## cfg' in md and '## words' not in md
  rows = [line for line in md.splitlines() if line.startswith('| ')]
  names = [r.split(' | ')[0][2:] for r in rows[1:]]
  assert names[:3] == ['real data (train vs held-out)', 'GAN WGAN-GP softmax',
                       'GAN Gumbel-softmax']
  assert names[3:] == [f'MLE, T={t}' for t in ('0.5', '0.7', '0.85', '1.0', '1.2')]
  assert '| accepted % |' in rows[0] and rows[1].split(' | ')[2] == '100.0'
  assert 'Reading (cfg' in md and 'MLE, T=1.0 (samples/temperature_1.0.txt)' in md
  assert 'MLE, T=0.5 (samples/temperature_0.5.txt)' in md and '```' in md
  with Image.open(os.path.join(docs, 'text.png')) as img:
    assert img.size[0] > 300 and img.size[1] > 200
  with open(os.path.join(docs, 'text.json')) as f:
    payload = json.load(f)
  assert set(payload['runs']['cfg']) == set(text_table.METHODS)
  assert payload['table']['cfg']['real']['accepted_percent'] == 100.0


def test_cost_is_median_minutes_times_runs():
  tables = {'cfg': {'wall_minutes': {'softmax': text_table.median_range([30.0, 90.0, 31.0]),
                                     'gumbel': None, 'lm': text_table.median_range([6.0])}},
            'words': {'wall_minutes': {'softmax': text_table.median_range([18.0, 20.0])}}}
  assert text_table.cost_lines(tables)[0] == (  # 31 * 3 + 6 + 19 * 2 = 137 minutes.
      "Cost of the page: about 2.3 single-core hours of runs (each method's median minutes a run "
      'times its runs), about 1.1 hours as two single-core shards on a 2-core CPU.')


def test_wall_time_is_read_by_its_median_and_range():
  w = text_table.median_range([3.0, None, 40.0, 5.0])
  assert w == {'median': 5.0, 'min': 3.0, 'max': 40.0, 'count': 3}
  assert text_table.minutes_cell(w) == '5.0 (3.0–40.0)'
  assert text_table.minutes_cell(text_table.median_range([2.0])) == '2.0'
  assert text_table.minutes_cell(text_table.median_range([None])) == '—'


CURVE = [('0.5', 0.8, 90.0), ('1.0', 0.4, 50.0), ('1.2', 0.2, 30.0)]


@pytest.mark.parametrize('diversity, quality, lm, advantage, verdict, inside', [
    (0.6, 80.0, 70.0, 10.0, 'better', True),  # Above the curve, between T 0.5 and 1.0.
    (0.3, 20.0, 40.0, -20.0, 'worse', True),  # Below it, between T 1.0 and 1.2.
    (0.9, 60.0, 90.0, -30.0, 'worse', False),  # Less diverse than every T: nearest T 0.5.
    (0.1, 35.0, 30.0, 5.0, 'better', False),  # More diverse than every T: nearest T 1.2.
])
def test_compare_at_diversity(diversity, quality, lm, advantage, verdict, inside):
  c = text_table.compare_at_diversity(diversity, quality, CURVE)
  assert c['lm_quality'] == pytest.approx(lm) and c['advantage'] == pytest.approx(advantage)
  assert c['verdict'] == verdict and c['inside'] == inside


def test_compare_at_diversity_lower_is_better_and_several_crossings():
  c = text_table.compare_at_diversity(0.5, 3.0, [('0.5', 0.8, 2.0), ('1.0', 0.4, 4.0)], False)
  assert c['lm_quality'] == pytest.approx(3.5) and c['advantage'] == pytest.approx(0.5)
  assert c['segment'] == ('0.5', '1.0')
  # A curve not monotone in self-BLEU crosses 0.5 twice (70 and 40): the better LM value counts.
  c = text_table.compare_at_diversity(0.5, 60.0, [('0.5', 0.4, 80.0), ('0.7', 0.6, 60.0),
                                                  ('1.0', 0.4, 20.0)])
  assert c['lm_quality'] == pytest.approx(70.0) and c['verdict'] == 'worse'


def _stats(**values):
  return {k: {'mean': v, 'std': 0.0, 'count': 1} for k, v in values.items()}


def _table(softmax, gumbel):
  lm = {t: _stats(accepted_percent=q, self_bleu_4=d) for t, d, q in CURVE}
  return {'real': {'accepted_percent': 100.0, 'self_bleu_4': 0.3},
          'softmax': _stats(accepted_percent=softmax[1], self_bleu_4=softmax[0]),
          'gumbel': _stats(accepted_percent=gumbel[1], self_bleu_4=gumbel[0]), 'lm': lm}


def test_reading_says_plainly_when_every_gan_loses():
  lines, results = text_table.reading('cfg', _table((0.3, 20.0), (0.9, 60.0)))
  text = '\n'.join(lines)
  assert results['softmax']['lm_quality'] == pytest.approx(40.0)
  assert 'between T=1.0 and T=1.2) reaches accepted % 40: the GAN is worse than MLE by 20 ' \
         'points' in text
  assert 'outside the MLE curve (the GAN is less diverse than every temperature); the nearest ' \
         'MLE point, T=0.5 (self-BLEU-4 0.8), has accepted % 90: the GAN is worse than MLE by ' \
         '30 points of accepted % (MLE at T=0.5 is both more diverse and better)' in text
  assert 'On cfg every GAN loses: each is worse than the MLE language model' in text
  assert 'and worse than real data.' in text


def test_reading_names_a_gan_ahead_of_the_curve():
  lines, _ = text_table.reading('cfg', _table((0.6, 80.0), (0.3, 20.0)))
  text = '\n'.join(lines)
  assert 'the GAN is better than MLE by 10 points of accepted %' in text
  assert 'every GAN loses' not in text
  assert 'ahead of MLE at matched diversity: GAN WGAN-GP softmax; not ahead: GAN ' \
         'Gumbel-softmax.' in text
