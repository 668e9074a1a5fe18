"""scripts/ttq_screen.py: candidates trained to a few steps, scored at each, and its page."""
import json
import os
import subprocess
import sys

import pytest

from scripts import ttq_screen
from tests.conftest import REPO


def _result(fid, confident, rate):
  m = {'fid': fid, 'confident_percent': confident, 'classes_present': 10, 'precision': 0.5,
       'recall': 0.5, 'density': 0.5, 'coverage': 0.5}
  return {'overrides': {}, 'scores': {'2': m, '4': m}, 'steps_per_s': rate}


def test_reading_ranks_candidates_against_the_default_with_cost_ratios():
  results = {'default': _result(300.0, 80.0, 8.0), 'd64': _result(150.0, 90.0, 4.0),
             'g64': _result(450.0, 70.0, 10.0)}
  lines = ttq_screen.reading(results, [2, 4])
  assert lines[0] == ("Reading (generated from the table), at step 4 against the default's "
                      "FID 300.0:")
  assert lines[2:] == ["- d64: FID 150.0 (0.50x), 90.0% confident; a step costs 2.00x the "
                       "default's.",
                       "- g64: FID 450.0 (1.50x), 70.0% confident; a step costs 0.80x the "
                       "default's."]
  table = ttq_screen.table_lines(results, [2, 4])
  assert table[0].startswith('| candidate | steps/s (1 core) | FID @2 | FID @4 | '
                             'confident_percent @4 |')
  assert table[3] == ('| d64 | 4.00 | 150.0 | 150.0 | 90.0 | 10 | 0.50 | 0.50 | 0.50 | 0.50 |')


@pytest.mark.parametrize('flags, message', [
    (['--steps=3,5'], 'each a multiple of the smallest'),
    (['--steps=x'], 'takes positive integers'),
    (['--candidates=default,wide'], "unknown candidates \\['wide'\\]"),
    (['--shard=2/2'], 'with 0 <= i < n'),
])
def test_bad_arguments_are_named(flags, message, capsys):
  with pytest.raises(SystemExit):
    ttq_screen.parse_args(flags)
  assert __import__('re').search(message, capsys.readouterr().err)


@pytest.mark.slow  # Trains one candidate 2 steps in a subprocess and scores 2 checkpoints.
def test_a_candidate_trains_scores_resumes_and_is_read_back(tmp_path):
  cmd = [sys.executable, 'scripts/ttq_screen.py', '--candidates=g64', '--steps=1,2',
         f'--workdir={tmp_path}', '--shard=0/1']
  first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-4000:]
  with open(tmp_path / 'g64' / 'screen.json') as f:
    r = json.load(f)
  assert set(r['scores']) == {'1', '2'}
  assert all(0 <= m['fid'] and 0 <= m['confident_percent'] <= 100 for m in r['scores'].values())
  assert r['overrides'] == ttq_screen.CANDIDATES['g64'][0]
  second = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  assert '0 runs trained by this process (shard 0/1); 1 of 1 finished.' in second.stdout
  docs = tmp_path / 'docs'
  table = subprocess.run(cmd[:-1] + ['--table_only', f'--docs_dir={docs}'], cwd=REPO,
                         capture_output=True, text=True)
  assert table.returncode == 0, table.stderr[-3000:]
  md = (docs / 'ttq_screen.md').read_text()
  assert 'do not edit by hand' in md and '| g64 |' in md
  assert '`model.g_kwargs.dcgan.base_features=64`' in md
  with open(tmp_path / 'g64' / 'config.json') as f:
    config = json.load(f)  # Screened on the earlier default, whatever the default is today.
  assert (config['model']['conditional'], config['optim']['g_lr']) == (False, 2e-4)
  args = ttq_screen.parse_args(['--candidates=g64', '--steps=1,2', f'--workdir={tmp_path}'])
  assert ttq_screen.finished('g64', args)
  config['optim']['d_lr'] = 1e-3  # As if trained under another definition: not read.
  with open(tmp_path / 'g64' / 'config.json', 'w') as f:
    json.dump(config, f)
  assert ttq_screen.finished('g64', args) is None
