"""gan_jax.main: one table of modes, each a function of (config, workdir) imported only when its
mode runs, so importing main imports none of them (no import circle through main)."""
import importlib
import inspect
import subprocess
import sys

from gan_jax import main
from tests.conftest import REPO

MODE_MODULES = ('gan_jax.train', 'gan_jax.evaluation', 'gan_jax.applications',
                'gan_jax.experiment')


def test_every_mode_is_a_function_of_config_and_workdir():
  assert list(main.MODES) == ['train', 'eval', 'lm', 'augment']
  assert main.FLAGS['mode'].parser.enum_values == list(main.MODES)
  for name, mode in main.MODES.items():
    fn = getattr(importlib.import_module(mode.module), mode.function)
    params = list(inspect.signature(fn).parameters)
    assert params[:2] == ['config', 'workdir'], (name, params)
    assert f'{name}: {mode.help}' in main.FLAGS['mode'].help


def test_importing_main_imports_no_mode_s_module():
  code = 'import sys, gan_jax.main; print(" ".join(sorted(sys.modules)))'
  r = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                     timeout=120)
  assert r.returncode == 0, r.stderr[-2000:]
  loaded = r.stdout.split()
  assert 'gan_jax.main' in loaded
  assert not [m for m in loaded if m.startswith(MODE_MODULES)], loaded
