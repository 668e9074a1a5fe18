"""The record of a chaos run (docs/reliability.json): the machine, the reference, every case."""
import importlib.metadata
import json
import os
import platform
import subprocess

from tests.chaos.launch import REPO


def _version(name: str):
  try:
    return importlib.metadata.version(name)
  except importlib.metadata.PackageNotFoundError:
    return None


def machine() -> dict:
  """The CPU, its cores, the platform, the packages, the commit and the load average."""
  cpu = 'unknown'
  try:
    with open('/proc/cpuinfo') as f:
      cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')),
                 cpu)
  except OSError:
    pass
  commit = subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=REPO,
                          capture_output=True, text=True).stdout.strip()
  return {'cpu': cpu, 'cores': os.cpu_count(), 'platform': platform.platform(),
          'python': platform.python_version(), 'jax': _version('jax'),
          'orbax': _version('orbax-checkpoint'), 'commit': commit or None,
          'load_average_at_start': [round(x, 2) for x in os.getloadavg()]}


def payload(results: list, ref: dict, seed: int, command: str, info: dict, wall_s: float,
            digests=None) -> dict:
  """What docs/reliability.json holds; the scratch directory (gone when it is read) reads
  <scratch> in its paths."""
  info = dict(info, load_average_at_end=[round(x, 2) for x in os.getloadavg()])
  held = all(r['status'] != 'fail' for r in results)
  p = {'command': command, 'seed': seed, 'held': held, 'wall_s': round(wall_s, 1),
       'machine': info, 'run': ' '.join(ref['command'][1:]).replace(ref['workdir'],
                                                                    '<workdir>'),
       'reference': {k: ref[k] for k in ('seconds', 'startup_s', 'eval_s', 'checkpoints')},
       'cases': results, 'digest_cost': digests}
  return json.loads(json.dumps(p, default=str).replace(ref['root'], '<scratch>'))
