"""Run outputs: JSON lines that survive a torn tail, atomic PNGs."""
import json
import os

import numpy as np
import pytest

from gan_jax import writers


def test_torn_last_line_is_dropped_and_earlier_lines_kept(tmp_path, caplog):
  path = tmp_path / 'metrics.jsonl'
  path.write_text(json.dumps({'step': 2, 'd_loss': 1.0}) + '\n' + '{"step": 4, "d_lo')
  with caplog.at_level('WARNING'):
    assert writers.read_jsonl(str(path)) == [{'step': 2, 'd_loss': 1.0}]
  assert 'torn last line' in caplog.text
  path.write_text('{"step": 2, "d_lo\n' + json.dumps({'step': 4}) + '\n')
  with pytest.raises(ValueError, match='line 1, is not JSON'):
    writers.read_jsonl(str(path))  # Damage before the last line is not a torn tail.


def test_metric_writer_repairs_a_torn_tail_before_appending(tmp_path):
  path = tmp_path / 'metrics.jsonl'
  path.write_text(json.dumps({'step': 2, 'seed': 0}) + '\n' + '{"step": 4, "se')
  writer = writers.MetricWriter(str(tmp_path), resume_step=2)
  writer.write_scalars(4, {'d_loss': 0.5}, seed=0)
  writer.close()
  assert [r['step'] for r in writers.read_jsonl(str(path))] == [2, 4]
  assert open(path).read().count('\n') == 2


def test_png_is_written_whole(tmp_path):
  path = str(tmp_path / 'g.png')
  writers.save_png(path, np.zeros((4, 4, 1), np.uint8))
  assert os.listdir(tmp_path) == ['g.png']
