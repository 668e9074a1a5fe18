"""What every command-line entry point (gan_jax.main, gan_jax.sweep) does around its work.

`prepare()` applies gan_jax's XLA defaults (xla_defaults.py; before JAX opens a backend) and
installs the log filter that quiets orbax's per-save chatter, once per process however often it is
called. `report_user_errors(fn)` runs fn and shows any errors.UserError as one line without a
traceback, exiting with status 1. `parse_flags` (absl's flags_parser) does the same for the
command line itself: an unknown config field, a missing experiment file or an unknown config
argument is one line listing the valid choices. Importing gan_jax changes nothing global: only
these calls do.
"""
import glob
import logging as logging_levels
import os
import sys
import threading
from typing import Callable, Optional

from absl import flags
from absl import logging

from gan_jax import errors
from gan_jax import xla_defaults


# What orbax's writer threads say when the disk is full (ENOSPC as tensorstore words it): the
# save then fails in the main thread, which says it once (workdir.DiskFullError).
DISK_FULL_MARKS = ('No space left on device', 'RESOURCE_EXHAUSTED', 'os_error_code=\'28\'')


def quiet_orbax(record) -> bool:
  """An absl log filter for orbax's records: drops its per-save INFO chatter, and its threads'
  errors (with their tracebacks) about a full disk, which the run reports in one line itself.
  Other warnings and errors still show."""
  if '/orbax/' not in record.pathname:
    return True
  if record.levelno < logging_levels.WARNING:
    return False
  text = record.getMessage() + (repr(record.exc_info[1]) if record.exc_info else '')
  return not any(mark in text for mark in DISK_FULL_MARKS)


def _thread_errors_as_warnings(args) -> None:
  """threading.excepthook: a background writer (TensorBoard's, orbax's) that fails with an OSError
  (a full disk) is one warning line; the run's own error says what to do. Others as usual."""
  if isinstance(args.exc_value, OSError):
    logging.warning('A background writer thread (%s) failed: %s: %s',
                    getattr(args.thread, 'name', '?'), type(args.exc_value).__name__,
                    args.exc_value)
    return
  threading.__excepthook__(args)


def _closed_loop_callbacks_dropped(unraisable) -> None:
  """sys.unraisablehook: drops the RuntimeError('Event loop is closed') that tensorstore's write
  callbacks raise into orbax's event loop after a checkpoint save failed and closed it (a full
  disk: dozens of them, after the run's own one-line error). Others as usual."""
  e = unraisable.exc_value
  if isinstance(e, RuntimeError) and str(e) == 'Event loop is closed':
    return
  sys.__unraisablehook__(unraisable)


def prepare() -> None:
  """XLA defaults (if JAX has no backend yet), the log filter (once), one-line warnings for
  background writer threads that fail with an OSError, and quiet closed-loop callbacks."""
  xla_defaults.apply()
  handler = logging.get_absl_handler()
  if quiet_orbax not in handler.filters:
    handler.addFilter(quiet_orbax)
  threading.excepthook = _thread_errors_as_warnings
  sys.unraisablehook = _closed_loop_callbacks_dropped


def report_user_errors(fn: Callable, *args, **kwargs):
  """fn(*args, **kwargs); a UserError is logged as one line (type: message) and exits with 1."""
  try:
    return fn(*args, **kwargs)
  except errors.UserError as e:
    logging.error('%s: %s', type(e).__name__, e)
    sys.exit(1)


def _config_flag(argv: list) -> Optional[str]:
  for a in argv:
    if a.startswith('--config='):
      return a[len('--config='):]
  return None


def _unknown_override(config, argv: list) -> Optional[str]:
  """The first --config.<field>=<value> naming no field of `config`, explained with the valid
  fields at that level; None when every override names a field."""
  for a in argv:
    if not a.startswith('--config.'):
      continue
    dotted = a[len('--config.'):].split('=', 1)[0]
    node, seen = config, []
    for part in dotted.split('.'):
      if not hasattr(node, 'keys') or part not in node:
        where = '.'.join(seen) or 'the config'
        valid = sorted(node.keys()) if hasattr(node, 'keys') else []
        return (f'Unknown config field {dotted!r} ({a}): {where} has no field {part!r}; '
                f'valid: {valid}.')
      node, seen = node[part], seen + [part]
  return None


def explain_flag_error(argv: list, error: BaseException) -> str:
  """One line saying what is wrong with the command line and how to fix it."""
  spec = _config_flag(argv)
  if spec:
    path, _, arg = spec.partition(':')
    if not os.path.isfile(path):
      here = sorted(os.path.basename(p) for p in glob.glob(os.path.join(os.path.dirname(path) or '.', '*.py')))
      return f'No experiment file {path!r} (--config={spec}); experiment files there: {here}.'
    try:
      from gan_jax import configs
      config = configs.load_experiment(path, arg or None)
    except errors.UserError as e:
      return f'--config={spec}: {e}'
    unknown = _unknown_override(config, argv)
    if unknown:
      return unknown
  return f'{type(error).__name__}: {error}'.splitlines()[0]


def parse_flags(argv: list) -> list:
  """absl's flag parsing, with every command-line error answered in one line (exit status 1)."""
  try:
    rest = flags.FLAGS(argv)
    if 'config' in flags.FLAGS and flags.FLAGS.config is not None:
      flags.FLAGS.config.to_dict()  # A config file that failed to load raises only when read.
    return rest
  except Exception as e:  # noqa: BLE001 -- config files and overrides raise many kinds.
    message = explain_flag_error(argv[1:], e)
    sys.stderr.write(f'Error: {message} (--help lists the flags.)\n')
    sys.exit(1)
