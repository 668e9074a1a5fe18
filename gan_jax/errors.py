"""UserError: the base of every error whose message says what to fix.

Each module raises its own subclass (configs.ConfigError, data.DataError, workdir.WorkdirError,
checkpoint.CheckpointError, ...); the entry points (gan_jax/cli.py) show any UserError as one line
without a traceback and exit with status 1.
"""


class UserError(Exception):
  """A problem the user can fix (a config value, a path, a file); the message names the fix."""


class ConfigError(UserError, ValueError):
  """An invalid config; the message lists every problem and the valid values."""
