"""gan_jax's XLA defaults: merged into XLA_FLAGS without overriding the user's, in effect once an
entry point applies them (cli.prepare), and never applied by a mere import."""
import os
import subprocess
import sys

import pytest

from gan_jax import xla_defaults
from tests.conftest import REPO

FLAG = 'xla_cpu_experimental_ynn_fusion_type'
SLOW = pytest.mark.slow  # The probes start fresh processes: in `make test-all` only.

PROBE = '''
import gan_jax, gan_jax.train, gan_jax.sweep, jax, jax.numpy as jnp
from gan_jax import cli
if PREPARE:
  cli.prepare()
f = jax.jit(lambda x, k: jax.lax.conv_general_dilated(x, k, (2, 2), 'SAME',
                                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC')))
text = f.lower(jnp.ones((8, 14, 14, 16)), jnp.ones((4, 4, 16, 32))).compile().as_text()
import os
print('FLAGS', os.environ.get('XLA_FLAGS', ''))
print('YNN', '__ynn_fusion' in text)
'''


def test_merged_flags_keeps_the_users():
  assert xla_defaults.merged_flags('') == f'--{FLAG}='
  assert xla_defaults.merged_flags('--xla_force_host_platform_device_count=8') == (
      f'--xla_force_host_platform_device_count=8 --{FLAG}=')
  for own in (f'--{FLAG}=individual_convolution', f'--{FLAG}', f'  --{FLAG}=dot  '):
    assert xla_defaults.merged_flags(own) == own
  assert xla_defaults.merged_flags('--a=1', {'b': '2', 'a': '3'}) == '--a=1 --b=2'


def _probe(prepare=True, **env):
  full = {k: v for k, v in os.environ.items() if k not in ('XLA_FLAGS', 'GAN_JAX_XLA_DEFAULTS')}
  full.update(JAX_PLATFORMS='cpu', **env)
  r = subprocess.run([sys.executable, '-c', f'PREPARE = {prepare}\n' + PROBE], env=full, cwd=REPO, capture_output=True,
                     text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  out = dict(line.split(' ', 1) for line in r.stdout.splitlines() if ' ' in line)
  return out['FLAGS'].strip(), out['YNN'] == 'True'


@SLOW
@pytest.mark.parametrize('env, ynn', [
    ({}, False),  # gan_jax's default: Eigen convolutions, no YNNPACK fusion.
    ({'XLA_FLAGS': f'--{FLAG}=individual_convolution'}, True),  # The user's own setting wins.
    ({'GAN_JAX_XLA_DEFAULTS': '0'}, True),  # Opted out: XLA's own default (YNNPACK).
])
def test_defaults_take_effect_in_a_fresh_process(env, ynn):
  flags, used_ynn = _probe(**env)
  assert used_ynn == ynn, flags


@SLOW
def test_importing_gan_jax_changes_nothing_global():
  flags, used_ynn = _probe(prepare=False)
  assert flags == '' and used_ynn  # XLA's own default, untouched by the imports.
