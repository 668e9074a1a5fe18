"""Checkpoints of the GANState through orbax's CheckpointManager.

Always an absolute directory (orbax fails on relative paths in a background thread); saves are
synchronous, so a step that donates the state's buffers right after a save cannot race the write,
and a checkpoint on disk is complete once `save` returns (orbax writes to a temporary directory and
renames it, so an interrupted save never shadows the previous one).

Restoring the latest checkpoint (`restore_latest`) tells two failures apart: a checkpoint whose
saved tree does not match this config's state (another model or optimizer: CheckpointError, the
fix is another --workdir) and a checkpoint whose files cannot be read (damaged: moved aside to
`<directory>.damaged/`, never deleted, with a warning, and the next older one is tried).
"""
import errno
import os
import shutil
import time
from typing import Any, Optional

from absl import logging
import jax
import orbax.checkpoint as ocp

from gan_jax import errors


class CheckpointError(errors.UserError, RuntimeError):
  """A checkpoint cannot be restored; the message names it and what to do."""


class DamagedCheckpointError(CheckpointError):
  """A checkpoint's files cannot be read."""


def _tree_signature(tree) -> list:
  """The sorted (shape, dtype) of every leaf of a tree of arrays, shape-dtype structs or orbax
  metadata (orbax may store a dataclass as a dict, so paths are not compared)."""
  return sorted((tuple(getattr(x, 'shape', ())), str(getattr(x, 'dtype', '')))
                for x in jax.tree.leaves(tree))


class Checkpointer:

  def __init__(self, directory: str, max_to_keep: Optional[int] = 3):
    """`max_to_keep`: the newest checkpoints kept; None keeps every one."""
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(
        self.directory, item_handlers=ocp.StandardCheckpointHandler(),  # Metadata in any process.
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False,
                                             cleanup_tmp_directories=True))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state: Any) -> None:
    if step in self._manager.all_steps():
      return
    self._manager.save(step, args=ocp.args.StandardSave(state))
    self._manager.wait_until_finished()

  def _mismatch(self, step: int, target) -> Optional[str]:
    """How checkpoint `step`'s saved tree differs from `target`'s, or None when it matches;
    raises whatever reading its metadata raises (a damaged checkpoint)."""
    saved = _tree_signature(self._manager.item_metadata(step))
    wanted = _tree_signature(target)
    if saved == wanted:
      return None
    only_saved = [x for x in saved if x not in wanted][:3]
    only_wanted = [x for x in wanted if x not in saved][:3]
    return (f'{len(saved)} saved arrays against {len(wanted)} expected; saved only: '
            f'{only_saved}, expected only: {only_wanted}')

  def restore(self, target: Any, step: Optional[int] = None) -> Any:
    """Restores checkpoint `step` (default: the latest) into the structure, shapes and dtypes of
    `target` (a state or its eval_shape); CheckpointError if it does not match or is damaged."""
    step = self.latest_step() if step is None else step
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    try:
      mismatch = self._mismatch(step, abstract)
    except Exception as e:  # orbax raises several types for unreadable metadata.
      raise DamagedCheckpointError(f'Checkpoint step {step} in {self.directory} is damaged: its '
                            f'metadata cannot be read ({type(e).__name__}: {str(e)[:300]}).') from e
    if mismatch:
      raise CheckpointError(
          f'Cannot restore checkpoint step {step} from {self.directory}: it does not match this '
          f'config\'s model and optimizer ({mismatch}). Use another --workdir, or move '
          f'{self.directory} aside to start afresh.')
    try:
      return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
    except Exception as e:  # Metadata matched: the arrays' files are damaged.
      raise DamagedCheckpointError(f'Checkpoint step {step} in {self.directory} is damaged: '
                            f'{type(e).__name__}: {str(e)[:300]}') from e

  def _move_aside(self, step: int) -> str:
    aside = os.path.join(f'{self.directory}.damaged', f'{step}.{time.strftime("%Y%m%d-%H%M%S")}')
    os.makedirs(os.path.dirname(aside), exist_ok=True)
    shutil.move(os.path.join(self.directory, str(step)), aside)
    self._manager.reload()
    return aside

  def restore_latest(self, target: Any) -> tuple[Any, Optional[int]]:
    """(state, step) of the newest checkpoint that restores, or (target, None) when there is
    none. A damaged checkpoint is moved aside with a warning (process 0 of a multi-process run
    moves it; the others skip it) and the next older one is tried; a mismatched one fails, and
    so does a directory whose every checkpoint is damaged (nothing is started over silently)."""
    steps = sorted(self.all_steps(), reverse=True)
    for step in steps:
      try:
        return self.restore(target, step), step
      except DamagedCheckpointError as e:
        if jax.process_count() == 1 or jax.process_index() == 0:
          logging.warning('%s Moved aside to %s; trying the next older checkpoint.', e,
                          self._move_aside(step))
    if steps:
      raise DamagedCheckpointError(
          f'No checkpoint in {self.directory} could be restored: steps {steps} are damaged '
          f'(moved to {self.directory}.damaged/). Check the filesystem and orbax version; to '
          'start afresh instead, use a new --workdir.')
    return target, None

  def close(self) -> None:
    self._manager.close()


def is_disk_full(e: BaseException) -> bool:
  """Whether an error (or one it was raised from) is a full disk or quota."""
  while e is not None:
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
      return True
    if any(s in str(e) for s in ('No space left on device', 'RESOURCE_EXHAUSTED: Error writing')):
      return True  # tensorstore (orbax's writer) reports a full disk as RESOURCE_EXHAUSTED.
    e = e.__cause__ or e.__context__
  return False
