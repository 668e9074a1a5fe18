"""Command-line errors: one line, no traceback, the valid choices listed."""
import os
import subprocess
import sys

import pytest

from gan_jax import cli
from tests.conftest import REPO


@pytest.mark.parametrize('args, expected', [
    (['--config=experiments/dcgan_mnist.py:runlocal', '--config.train.nope=1'],
     "Unknown config field 'train.nope'.*valid: \\['ckpt_every'"),
    (['--config=experiments/dcgan_mnist.py:runlocal', '--config.loss.penalties.nope=1.0'],
     "loss.penalties has no field 'nope'; valid: \\['dragan', 'gradient_penalty', 'r1', 'r2'\\]"),
    (['--config=experiments/nope.py'], "No experiment file 'experiments/nope.py'.*dcgan_mnist.py"),
    (['--config=experiments/dcgan_mnist.py:nope'], "Unknown config argument 'nope'; valid: runlocal"),
])
def test_bad_command_lines_are_one_line(args, expected, tmp_path):
  r = subprocess.run([sys.executable, '-m', 'gan_jax.main', *args, f'--workdir={tmp_path / "w"}'],
                     cwd=REPO, capture_output=True, text=True, timeout=120,
                     env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
  import re
  assert re.search(expected, r.stderr), r.stderr[-2000:]
  assert not (tmp_path / 'w').exists()


@pytest.mark.slow
@pytest.mark.parametrize('module, args, expected', [
    ('gan_jax.main', ['--mode=augment', '--config=experiments/augment_mnist.py:runlocal',
                      "--config.protocol.ratios=(0.001,)"],
     'ConfigError: protocol.ratios=\\(0.001,\\) gives no generated image'),
    ('gan_jax.main', ['--mode=augment', '--config=experiments/dcgan_mnist.py:runlocal'],
     'ConfigError: Invalid config:\n  - The config has no protocol or classifier section'),
])
def test_bad_protocol_command_lines_are_one_line(module, args, expected, tmp_path):
  r = subprocess.run([sys.executable, '-m', module, *args, f'--workdir={tmp_path / "w"}'],
                     cwd=REPO, capture_output=True, text=True, timeout=120,
                     env={**os.environ, 'JAX_PLATFORMS': 'cpu'})
  assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
  import re
  assert re.search(expected, r.stderr), r.stderr[-2000:]
  assert not (tmp_path / 'w').exists()


def test_prepare_installs_the_log_filter_once():
  from absl import logging
  cli.prepare()
  cli.prepare()
  assert logging.get_absl_handler().filters.count(cli.quiet_orbax) == 1


def test_orbax_log_filter_drops_chatter_and_full_disk_errors_only():
  import logging as py_logging
  orbax = '/x/site-packages/orbax/checkpoint/_src/futures/future.py'

  def record(path, level, msg, exc=None):
    return py_logging.LogRecord('absl', level, path, 1, msg, None,
                                (type(exc), exc, None) if exc else None)
  full = ("_SignalingThread.run() raised an exception: RESOURCE_EXHAUSTED: Failed to write 171 "
          "bytes to file 20: No space left on device [os_error_code='28']")
  assert not cli.quiet_orbax(record(orbax, py_logging.INFO, 'Saving checkpoint'))
  assert not cli.quiet_orbax(record(orbax, py_logging.ERROR, full))
  assert not cli.quiet_orbax(record(orbax, py_logging.ERROR, 'raised an exception',
                                    ValueError('RESOURCE_EXHAUSTED: Error writing')))
  assert cli.quiet_orbax(record(orbax, py_logging.ERROR, 'raised an exception: ValueError: bad'))
  assert cli.quiet_orbax(record(orbax, py_logging.WARNING, 'Deprecated option'))
  # gan_jax's own records always show, its full-disk line included.
  assert cli.quiet_orbax(record('/w/gan_jax/cli.py', py_logging.INFO, 'step 1'))
  assert cli.quiet_orbax(record('/w/gan_jax/cli.py', py_logging.ERROR, full))


def test_closed_event_loop_callbacks_are_dropped_others_reported(monkeypatch):
  import types
  seen = []
  monkeypatch.setattr(sys, '__unraisablehook__', seen.append)
  closed = types.SimpleNamespace(exc_value=RuntimeError('Event loop is closed'))
  other = types.SimpleNamespace(exc_value=RuntimeError('something else'))
  cli._closed_loop_callbacks_dropped(closed)
  cli._closed_loop_callbacks_dropped(other)
  assert seen == [other]
