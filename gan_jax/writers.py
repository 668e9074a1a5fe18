"""Run outputs: metrics.jsonl, TensorBoard event files (tensorboardX, no TensorFlow) and PNG grids."""
import json
import os
from typing import Optional

from absl import logging
import numpy as np

from gan_jax import atomic_files


def image_grid(images_NxHxWxC: np.ndarray, rows: int, cols: int, pad: int = 2) -> np.ndarray:
  """Tiles images in [-1, 1] into one uint8 (H', W', C) grid with `pad` pixels of border."""
  n, h, w, c = images_NxHxWxC.shape
  if n != rows * cols:
    raise ValueError(f'{n} images do not fill a {rows}x{cols} grid.')
  pixels = np.clip(np.round((np.asarray(images_NxHxWxC, np.float32) + 1.0) * 127.5), 0, 255)
  grid = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), np.uint8)
  for i in range(n):
    r, q = divmod(i, cols)
    y, x = pad + r * (h + pad), pad + q * (w + pad)
    grid[y:y + h, x:x + w] = pixels[i].astype(np.uint8)
  return grid


def scatter_image(points_Nx2: np.ndarray, size: int = 256, pad: float = 0.1) -> np.ndarray:
  """A uint8 (size, size, 1) picture of 2-D points (white dots on black), axes scaled to the
  points' extent (at least [-1, 1]) plus `pad`; for samples of the 2-D mixtures."""
  p = np.asarray(points_Nx2, np.float64).reshape(len(points_Nx2), -1)[:, :2]
  p = p[np.isfinite(p).all(axis=1)]
  lim = max(1.0, float(np.abs(p).max()) if len(p) else 1.0) * (1 + pad)
  pix = np.clip(((p / lim + 1) / 2 * (size - 1)).round().astype(int), 1, size - 2)
  img = np.zeros((size, size, 1), np.uint8)
  img[size // 2, :] = img[:, size // 2] = 60  # Axes through the origin.
  for dy in (-1, 0, 1):
    for dx in (-1, 0, 1):
      img[size - 1 - (pix[:, 1] + dy), pix[:, 0] + dx] = 255
  return img


def save_png(path: str, grid_HxWxC: np.ndarray) -> None:
  from PIL import Image
  img = grid_HxWxC[..., 0] if grid_HxWxC.shape[-1] == 1 else grid_HxWxC
  atomic_files.write_atomically(path, lambda f: Image.fromarray(img).save(f, format='PNG'), 'wb')


def read_jsonl(path: str) -> list[dict]:
  """The records of a JSON-lines file. A torn last line (a kill or a full disk mid-write) is
  dropped with a warning; a bad line before the last is an error naming it."""
  if not os.path.exists(path):
    return []
  with open(path) as f:
    lines = [line for line in f.read().split('\n') if line.strip()]
  records = []
  for i, line in enumerate(lines):
    try:
      records.append(json.loads(line))
    except ValueError as e:
      if i < len(lines) - 1:
        raise ValueError(f'{path}, line {i + 1}, is not JSON ({e}): {line[:200]!r}') from e
      logging.warning('Dropping the torn last line of %s (%d characters: %r...); the %d lines '
                      'before it are kept.', path, len(line), line[:80], len(records))
  return records


# TensorBoard events queued for tensorboardX's writer thread at most (its default is 10): a write
# blocks only when this many wait.
TB_MAX_QUEUE = 1000


class MetricWriter:
  """Appends to workdir/metrics.jsonl and TensorBoard; only one process should own one.

  `resume_step`: lines logged after this step (by a run stopped before its next checkpoint) are
  dropped, and so is a torn last line, so a resumed run's file reads as an uninterrupted run's.
  """

  def __init__(self, workdir: str, resume_step: Optional[int] = None):
    self.path = os.path.join(workdir, 'metrics.jsonl')
    if resume_step is not None and os.path.exists(self.path):
      kept = [r for r in read_jsonl(self.path) if r.get('step', 0) <= resume_step]
      atomic_files.write_text(self.path, ''.join(json.dumps(r) + '\n' for r in kept))
    self._file = open(self.path, 'a')
    from tensorboardX import SummaryWriter
    self._tb = SummaryWriter(logdir=workdir, max_queue=TB_MAX_QUEUE)
    self._tb_stopped = False

  def _tb_alive(self) -> bool:
    """False once TensorBoard's writer thread has died (an OSError there, a full disk, is one
    warning line: cli.py): nothing would empty its bounded queue, and the write after it filled
    would block the run for ever (measured: a full-disk chaos run hung until killed at 900 s).
    The run goes on without TensorBoard; metrics.jsonl keeps every line."""
    if not self._tb_stopped:
      event_writer = getattr(getattr(self._tb, 'file_writer', None), 'event_writer', None)
      worker = getattr(event_writer, '_worker', None)
      if worker is not None and not worker.is_alive():
        self._tb_stopped = True
        logging.warning('TensorBoard\'s event writer for %s has stopped: no more TensorBoard '
                        'events this run (metrics.jsonl has them all).', os.path.dirname(self.path))
    return not self._tb_stopped

  def write_scalars(self, step: int, scalars: dict, seed: int, tag_suffix: str = '') -> None:
    record = {'step': int(step), 'seed': int(seed), **{k: float(v) for k, v in scalars.items()}}
    self._file.write(json.dumps(record) + '\n')
    self._file.flush()
    if self._tb_alive():
      for k, v in scalars.items():
        self._tb.add_scalar(k + tag_suffix, float(v), int(step))

  def write_image(self, step: int, tag: str, grid_HxWxC: np.ndarray) -> None:
    if self._tb_alive():
      self._tb.add_image(tag, grid_HxWxC, int(step), dataformats='HWC')

  def write_text(self, step: int, tag: str, text: str) -> None:
    """Text as TensorBoard shows it verbatim: a fenced code block (its markdown would merge
    the lines and read symbols such as '*' as emphasis)."""
    if self._tb_alive():
      self._tb.add_text(tag, '```\n' + text.rstrip('\n') + '\n```', int(step))

  def close(self) -> None:
    """Closes the files; a failure here (a full disk) is logged, not raised, so the error that
    stopped the run is the one reported. A stopped TensorBoard writer is left as it is (its
    close would wait on the dead thread's queue)."""
    for close in (self._file.close, self._tb.close if self._tb_alive() else None):
      try:
        if close is not None:
          close()
      except OSError as e:
        logging.warning('Closing %s failed: %s', self.path, e)


class NullWriter:
  """What processes other than 0 write: nothing."""

  def write_scalars(self, step, scalars, seed, tag_suffix=''):
    pass

  def write_image(self, step, tag, grid):
    pass

  def write_text(self, step, tag, text):
    pass

  def close(self):
    pass
