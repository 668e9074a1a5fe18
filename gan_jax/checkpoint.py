"""Checkpoints of the GANState through orbax's CheckpointManager.

Always an absolute directory (orbax fails on relative paths in a background thread); saves are
synchronous, so a step that donates the state's buffers right after a save cannot race the write,
and a checkpoint on disk is complete once `save` returns (orbax writes to a temporary directory and
renames it, so an interrupted save never shadows the previous one).
"""
import os
from typing import Any, Optional

import jax
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """A checkpoint cannot be restored; the message names it and what to do."""


class Checkpointer:

  def __init__(self, directory: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state: Any) -> None:
    if step in self._manager.all_steps():
      return
    self._manager.save(step, args=ocp.args.StandardSave(state))
    self._manager.wait_until_finished()

  def restore(self, target: Any, step: Optional[int] = None) -> Any:
    """Restores into the structure, shapes and dtypes of `target` (a state or its eval_shape)."""
    step = self.latest_step() if step is None else step
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    try:
      return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
    except Exception as e:  # orbax raises several types for missing or mismatched trees.
      raise CheckpointError(
          f'Cannot restore checkpoint step {step} from {self.directory}: {type(e).__name__}: '
          f'{str(e)[:500]}\nIt does not match this config\'s model and optimizer. Use another '
          f'--workdir, or move {self.directory} aside to start afresh.') from e

  def close(self) -> None:
    self._manager.close()
