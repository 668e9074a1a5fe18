"""What a run left in its workdir, and how that differs from the reference run's."""
import hashlib
import json
import os
import re
from typing import Optional

TMP_FILE = re.compile(r'\.tmp$')  # atomic_files' temporary names: <name>.<pid>.<hex>.tmp


def _sha256(path: str) -> str:
  with open(path, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def _read_bytes(path: str) -> Optional[bytes]:
  if not os.path.exists(path):
    return None
  with open(path, 'rb') as f:
    return f.read()


def metrics_records(path: str) -> list:
  """metrics.jsonl's records without steps_per_s; a line that is not JSON is kept as an error."""
  records = []
  if os.path.exists(path):
    with open(path, 'rb') as f:
      for i, raw in enumerate(f.read().split(b'\n')):
        if not raw.strip():
          continue
        try:
          record = json.loads(raw)
        except ValueError:
          record = None
        if isinstance(record, dict):
          record.pop('steps_per_s', None)
        else:
          record = {'NOT JSON (line %d)' % (i + 1): raw[:80].decode('utf-8', 'replace')}
        records.append(record)
  return records


def checkpoint_entries(workdir: str) -> tuple:
  """(steps of checkpoints/, its other entries: temporary directories a kill left)."""
  path = os.path.join(workdir, 'checkpoints')
  names = sorted(os.listdir(path)) if os.path.isdir(path) else []
  return sorted(int(n) for n in names if n.isdigit()), [n for n in names if not n.isdigit()]


def leftovers(workdir: str) -> list:
  """What kills left that no run reads: temporary files, orbax's unfinished checkpoints."""
  found = [os.path.relpath(os.path.join(root, name), workdir)
           for root, _, files in os.walk(workdir) for name in files if TMP_FILE.search(name)]
  return sorted(found) + ['checkpoints/' + n for n in checkpoint_entries(workdir)[1]]


def outputs(workdir: str) -> dict:
  """What a finished run is compared by."""
  samples_dir = os.path.join(workdir, 'samples')
  samples = {}
  for root, _, files in os.walk(samples_dir):
    for name in files:
      if TMP_FILE.search(name):
        continue
      path = os.path.join(root, name)
      samples[os.path.relpath(path, samples_dir)] = _sha256(path)
  steps, others = checkpoint_entries(workdir)
  return {'metrics': metrics_records(os.path.join(workdir, 'metrics.jsonl')),
          'samples': samples, 'checkpoints': steps, 'checkpoint_others': others,
          'eval.json': _read_bytes(os.path.join(workdir, 'eval.json')),
          'config.json': _read_bytes(os.path.join(workdir, 'config.json'))}


def _metrics_difference(a: list, b: list) -> list:
  """metrics.jsonl's first differing record, b (the run's) against a (the reference's)."""
  if a == b:
    return []
  first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
  return [f'metrics.jsonl: {len(b)} records vs {len(a)} in the reference; first '
          f'difference at record {first}: {b[first] if first < len(b) else None} vs '
          f'{a[first] if first < len(a) else None}']


def differences(ref: dict, workdir: str) -> list:
  """How the workdir's outputs differ from the reference's ([] when bit for bit the same)."""
  got = outputs(workdir)
  diffs = _metrics_difference(ref['metrics'], got['metrics'])
  missing = sorted(set(ref['samples']) - set(got['samples']))
  extra = sorted(set(got['samples']) - set(ref['samples']))
  changed = sorted(k for k in set(ref['samples']) & set(got['samples'])
                   if ref['samples'][k] != got['samples'][k])
  for what, names in (('missing', missing), ('not in the reference', extra),
                      ('different bytes', changed)):
    if names:
      diffs.append(f'samples {what}: {names}')
  for name in ('eval.json', 'config.json'):
    if got[name] != ref[name]:
      diffs.append(f'{name}: ' + ('missing' if got[name] is None else
                                  f'{len(got[name])} bytes differ from the reference\'s'))
  if got['checkpoints'] != ref['checkpoints']:
    diffs.append(f'checkpoint steps {got["checkpoints"]} vs {ref["checkpoints"]}')
  return diffs


def workdir_state(workdir: str) -> dict:
  """path -> (size, mtime_ns) of everything under the workdir: to tell that nothing changed."""
  state = {}
  for root, dirs, files in os.walk(workdir):
    for name in dirs + files:
      path = os.path.join(root, name)
      try:
        st = os.lstat(path)
      except FileNotFoundError:
        continue
      state[os.path.relpath(path, workdir)] = (st.st_size, st.st_mtime_ns)
  return state


def top_entries(workdir: str) -> list:
  """The workdir's top-level names ([] when it does not exist)."""
  try:
    return sorted(os.listdir(workdir))
  except FileNotFoundError:
    return []
