"""A run kind's numbers kept in its run directory: result.json, written once the run is done.

The file keeps the run's args beside its numbers, so a run directory left by a run with other
args (a changed study) is not read as this run's result.
"""
import json
import os
from typing import Optional

from gan_jax import atomic_files

NAME = 'result.json'


def save(run, run_dir: str, result: dict) -> str:
  """Writes {'args': run.args, 'seed': run.seed, 'result': result} to run_dir/result.json."""
  os.makedirs(run_dir, exist_ok=True)
  return atomic_files.write_json(os.path.join(run_dir, NAME),
                                 {'args': run.args, 'seed': run.seed, 'result': result}, indent=1)


def load(run, run_dir: str) -> Optional[dict]:
  """The result `save` wrote for this run (same args and seed), else None."""
  try:
    with open(os.path.join(run_dir, NAME)) as f:
      saved = json.load(f)
  except (OSError, ValueError):
    return None
  same = (saved.get('seed') == run.seed and
          json.dumps(saved.get('args'), sort_keys=True) == json.dumps(run.args, sort_keys=True))
  return saved['result'] if same else None
