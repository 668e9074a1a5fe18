"""Checkpoints of the GANState through orbax's CheckpointManager, with digests that prove them.

Always an absolute directory (orbax fails on relative paths in a background thread); saves are
synchronous, so a step that donates the state's buffers right after a save cannot race the write,
and a checkpoint on disk is complete once `save` returns (orbax writes to a temporary directory and
renames it, so an interrupted save never shadows the previous one).

Orbax keeps no checksum of array data, so every checkpoint carries two digests of its own (sha256):
  - of every array of the saved tree (its path, dtype, shape and bytes: parameters, batch
    statistics, both optimizer states, the EMA parameters, the rng; whatever the state holds), in
    orbax's step metadata (`_CHECKPOINT_METADATA`, custom_metadata 'gan_jax_digest'), which orbax
    writes before it renames the checkpoint into place: no checkpoint of this version lacks it;
  - of every file of the checkpoint, in `<step>/gan_jax_manifest.json`, written (atomically, by
    process 0) once orbax has finished the checkpoint.
At restore the files are checked against the manifest before orbax reads them, and the restored
arrays against their digests. A checkpoint without a manifest but with array digests was killed
between orbax's rename and the manifest (milliseconds): its arrays are still verified, with a
warning. One with neither was written before gan_jax kept digests: it is restored unverified, with
a warning (refusing it would strand every older run).

Restoring the latest checkpoint (`restore_latest`) tells two failures apart: a checkpoint whose
saved tree does not match this config's state (another model or optimizer: CheckpointError, the
fix is another --workdir) and a damaged one (a file or an array that differs from its digest, or
files that cannot be read: moved aside to `<directory>.damaged/`, never deleted, with one warning
naming the step and the file, and the next older one is tried).

In a run of several processes every process verifies the same candidate checkpoint and they agree
(processes.share, through jax.distributed's key-value store, with timeouts) before any of
them goes on: a checkpoint any process finds damaged is set aside by process 0 alone, and all reload and try the
same next one, so every process restores the same step and none waits on a barrier another
process never reaches (orbax's restore barrier is not used: arrays are read by its handler).
"""
import errno
import hashlib
import json
import os
import shutil
import time
from typing import Any, Optional

from absl import logging
from etils import epath
import jax
import numpy as np
import orbax.checkpoint as ocp

from gan_jax import atomic_files
from gan_jax import errors
from gan_jax import processes
from gan_jax.processes import ProcessError

DIGEST_KEY = 'gan_jax_digest'  # In orbax's step metadata: the arrays' digests.
MANIFEST_NAME = 'gan_jax_manifest.json'  # In the step directory: the files' digests.
_STEP_METADATA = '_CHECKPOINT_METADATA'  # Orbax's step metadata file (orbax-checkpoint 0.12).
_ITEM = 'default'  # The one item of a single-item CheckpointManager.


class CheckpointError(errors.UserError, RuntimeError):
  """A checkpoint cannot be restored; the message names it and what to do."""


class DamagedCheckpointError(CheckpointError):
  """A checkpoint's files cannot be read, or differ from their digests."""


# --- Digests ----------------------------------------------------------------------------------

def _host_copy(x) -> np.ndarray:
  """A numpy copy of a leaf: the local replica of a replicated array (the GANState is replicated
  over the mesh), so any process of a multi-process run digests the whole array."""
  if isinstance(x, jax.Array) and x.is_fully_replicated:
    x = x.addressable_data(0)
  return np.asarray(x)


def array_digests(tree) -> dict:
  """keystr path -> sha256 of (dtype, shape, bytes) of every leaf of a tree of arrays."""
  digests = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    x = np.ascontiguousarray(_host_copy(leaf))
    h = hashlib.sha256(f'{x.dtype.str} {x.shape} '.encode())
    h.update(x.reshape(-1).view(np.uint8))
    digests[jax.tree_util.keystr(path)] = h.hexdigest()
  return digests


def _file_sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      h.update(block)
  return h.hexdigest()


def file_digests(step_dir: str) -> dict:
  """Relative path -> sha256 of every file of a checkpoint directory but the manifest."""
  digests = {}
  for root, _, files in os.walk(step_dir):
    for name in files:
      path = os.path.join(root, name)
      rel = os.path.relpath(path, step_dir)
      # Not the manifest, nor its temporary file (atomic_files) if a kill left one.
      if rel != MANIFEST_NAME and not name.endswith('.tmp'):
        digests[rel] = _file_sha256(path)
  return dict(sorted(digests.items()))


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
    self._reader = ocp.StandardCheckpointHandler()  # Restores without orbax's barrier.

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def step_dir(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def save(self, step: int, state: Any) -> None:
    """Saves `state` as checkpoint `step` with its digests (process 0 writes them)."""
    if step in self._manager.all_steps():
      return
    writer = jax.process_index() == 0
    digest = {DIGEST_KEY: {'version': 1, 'arrays': array_digests(state)}} if writer else None
    self._manager.save(step, args=ocp.args.StandardSave(state), custom_metadata=digest)
    self._manager.wait_until_finished()
    if writer:  # Orbax has finished every file of the checkpoint.
      atomic_files.write_json(os.path.join(self.step_dir(step), MANIFEST_NAME),
                              {'version': 1, 'files': file_digests(self.step_dir(step))},
                              indent=1)

  def _damaged(self, step: int, what: str) -> DamagedCheckpointError:
    return DamagedCheckpointError(f'Checkpoint step {step} in {self.directory} is damaged: '
                                  f'{what}.')

  def _check_files(self, step: int) -> bool:
    """Checks every file of checkpoint `step` against its manifest; False when it has none."""
    step_dir = self.step_dir(step)
    try:
      with open(os.path.join(step_dir, MANIFEST_NAME), 'rb') as f:
        files = json.loads(f.read())['files']
      files = dict(files)
    except FileNotFoundError:
      return False
    except (OSError, ValueError, KeyError, TypeError) as e:
      raise self._damaged(step, f'{MANIFEST_NAME} cannot be read ({type(e).__name__}: '
                                f'{str(e)[:200]})') from e
    for rel, want in files.items():
      try:
        got = _file_sha256(os.path.join(step_dir, rel))
      except OSError as e:
        raise self._damaged(step, f'{rel} cannot be read ({e})') from e
      if got != want:
        raise self._damaged(step, f'{rel} differs from the digest written with it')
    return True

  def _saved_digests(self, step: int) -> Optional[dict]:
    """The arrays' digests written with checkpoint `step`, or None when it has none."""
    path = os.path.join(self.step_dir(step), _STEP_METADATA)
    try:
      with open(path, 'rb') as f:
        custom = json.loads(f.read()).get('custom_metadata') or {}
      return None if custom.get(DIGEST_KEY) is None else dict(custom[DIGEST_KEY]['arrays'])
    except FileNotFoundError:
      return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
      raise self._damaged(step, f'{_STEP_METADATA} cannot be read ({type(e).__name__}: '
                                f'{str(e)[:200]})') from e

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

  def _check_arrays(self, step: int, restored, saved: Optional[dict], files_checked: bool):
    if saved is None:
      if files_checked:
        raise self._damaged(step, f'{MANIFEST_NAME} is there but {_STEP_METADATA} holds no '
                                  'digest of the arrays')
      logging.warning('Checkpoint step %d in %s carries no digests (written before gan_jax '
                      'kept them): restored unverified.', step, self.directory)
      return
    got = array_digests(restored)
    if set(got) != set(saved):
      raise CheckpointError(
          f'Cannot restore checkpoint step {step} from {self.directory}: its arrays are named '
          f'otherwise than this state\'s (saved only: {sorted(set(saved) - set(got))[:3]}, '
          f'expected only: {sorted(set(got) - set(saved))[:3]}). Use another --workdir.')
    bad = [path for path in got if got[path] != saved[path]]
    if bad:
      raise self._damaged(step, f'{len(bad)} restored arrays differ from their digests '
                                f'({", ".join(bad[:3])})')
    if not files_checked:
      logging.warning('Checkpoint step %d in %s has no %s (killed right after orbax wrote it?): '
                      'its arrays match their digests; its other files are unchecked.', step,
                      self.directory, MANIFEST_NAME)

  def restore(self, target: Any, step: Optional[int] = None) -> Any:
    """Restores checkpoint `step` (default: the latest) into the structure, shapes and dtypes of
    `target` (a state or its eval_shape), checked against its digests; CheckpointError if it
    does not match, DamagedCheckpointError if it is damaged."""
    step = self.latest_step() if step is None else step
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    files_checked = self._check_files(step)
    saved = self._saved_digests(step)
    try:
      mismatch = self._mismatch(step, abstract)
    except Exception as e:  # orbax raises several types for unreadable metadata.
      raise self._damaged(step, f'its metadata cannot be read ({type(e).__name__}: '
                                f'{str(e)[:300]})') from e
    if mismatch:
      raise CheckpointError(
          f'Cannot restore checkpoint step {step} from {self.directory}: it does not match this '
          f'config\'s model and optimizer ({mismatch}). Use another --workdir, or move '
          f'{self.directory} aside to start afresh.')
    try:
      restored = self._reader.restore(epath.Path(self.step_dir(step)) / _ITEM,
                                      args=ocp.args.StandardRestore(abstract))
    except Exception as e:  # Metadata matched: the arrays' files are damaged.
      raise self._damaged(step, f'{type(e).__name__}: {str(e)[:300]}') from e
    self._check_arrays(step, restored, saved, files_checked)
    return restored

  def _attempt(self, target: Any, step: int) -> tuple:
    """(restored state or None, the error restoring checkpoint `step` raised or None)."""
    try:
      return self.restore(target, step), None
    except Exception as e:  # Shared with the other processes before anyone raises.
      return None, e

  def _move_aside(self, step: int) -> str:
    aside = os.path.join(f'{self.directory}.damaged', f'{step}.{time.strftime("%Y%m%d-%H%M%S")}')
    os.makedirs(os.path.dirname(aside), exist_ok=True)
    shutil.move(self.step_dir(step), aside)
    self._manager.reload()
    return aside

  def _set_aside(self, step: int, finder: int, message: str) -> None:
    """Process 0 moves damaged checkpoint `step` aside with one warning line while the others
    wait; then every process forgets it."""
    if finder:
      message += f' (found by process {finder})'

    def move():
      logging.warning('%s Moved aside to %s; trying the next older checkpoint.', message,
                      self._move_aside(step))
    processes.on_process_0('checkpoint_set_aside', move)
    if jax.process_index():
      logging.info('%s Process 0 moved it aside.', message)
      self._manager.reload()

  def restore_latest(self, target: Any) -> tuple[Any, Optional[int]]:
    """(state, step) of the newest checkpoint that restores, or (target, None) when there is
    none. A damaged checkpoint is moved aside with a warning and the next older one is tried; a
    mismatched one fails, and so does a directory whose every checkpoint is damaged (nothing is
    started over silently). Every process of a run tries the same checkpoints (process 0's
    list) and shares its verdict on each: one found damaged anywhere is damaged everywhere."""
    steps = json.loads(processes.share('checkpoint_steps', json.dumps(self.all_steps()))[0])
    for step in sorted(steps, reverse=True):
      state, error = self._attempt(target, step)
      verdicts = processes.share('checkpoint_restore', '' if error is None else json.dumps(
          [isinstance(error, DamagedCheckpointError), f'{type(error).__name__}: {error}'
           if not isinstance(error, CheckpointError) else str(error)]))
      found = [(i, *json.loads(v)) for i, v in enumerate(verdicts) if v]
      if not found:
        return state, step
      fatal = [(i, message) for i, damaged, message in found if not damaged]
      if fatal:  # A mismatch or an unexpected error: no fallback, every process stops.
        if error is not None and not isinstance(error, DamagedCheckpointError):
          raise error
        raise ProcessError(f'Process {fatal[0][0]} could not restore checkpoint step {step}: '
                           f'{fatal[0][1]}')
      self._set_aside(step, found[0][0], found[0][2])
    if steps:
      raise DamagedCheckpointError(
          f'No checkpoint in {self.directory} could be restored: steps {steps} are damaged '
          f'(moved to {self.directory}.damaged/). Check the filesystem and orbax version; to '
          'start afresh instead, use a new --workdir.')
    return target, None

  def close(self) -> None:
    self._manager.close()
    self._reader.close()


def is_disk_full(e: BaseException) -> bool:
  """Whether an error (or one it was raised from) is a full disk or quota."""
  while e is not None:
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
      return True
    if any(s in str(e) for s in ('No space left on device', 'RESOURCE_EXHAUSTED: Error writing')):
      return True  # tensorstore (orbax's writer) reports a full disk as RESOURCE_EXHAUSTED.
    e = e.__cause__ or e.__context__
  return False
