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


def test_a_dead_tensorboard_writer_thread_does_not_block_the_run(tmp_path, caplog):
  # A full disk kills tensorboardX's writer thread; nothing then empties its bounded queue, and
  # before the fix the write after it filled blocked for ever (a chaos run hung until killed).
  import threading
  writer = writers.MetricWriter(str(tmp_path))
  event_writer = writer._tb.file_writer.event_writer

  def full_disk(event):
    raise OSError(28, 'No space left on device')
  event_writer._ev_writer.write_event = full_disk
  hook, threading.excepthook = threading.excepthook, lambda args: None  # The thread's error.
  try:
    def log_many():
      for step in range(3 * writers.TB_MAX_QUEUE):
        writer.write_scalars(step, {'d_loss': 1.0}, seed=0)
        writer.write_text(step, 'samples', 'ab')
      writer.close()
    worker = threading.Thread(target=log_many, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), 'writing after the TensorBoard thread died blocked'
  finally:
    threading.excepthook = hook
  assert not event_writer._worker.is_alive()
  assert "TensorBoard's event writer" in caplog.text and 'has stopped' in caplog.text
  lines = writers.read_jsonl(str(tmp_path / 'metrics.jsonl'))
  assert len(lines) == 3 * writers.TB_MAX_QUEUE  # metrics.jsonl kept every line.
