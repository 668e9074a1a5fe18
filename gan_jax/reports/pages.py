"""A study's page on disk: docs/NAME.md (the report's lines and a provenance footer), NAME.json
(every run's record and the report's summary) and NAME.png (the report's figure), each written
atomically and each a pure function of the records, so that the page regenerates byte for byte."""
import collections
import json
import os
from typing import Optional

from gan_jax import atomic_files
from gan_jax import errors


def json_text(payload: dict) -> str:
  return json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False) + '\n'


def read(docs_dir: str, name: str) -> dict:
  """The committed .json of a page ({} when there is none yet)."""
  path = os.path.join(docs_dir, f'{name}.json')
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def saved_records(payload: dict) -> dict:
  """{run name: record} of a page's .json ({} when it has none); a record without its result or
  config hash is an error naming it (silently dropping it would retrain it)."""
  runs = payload.get('runs') or {}
  bad = [name for name, r in runs.items() if not (isinstance(r, dict) and 'result' in r
                                                  and 'config_hash' in r)]
  if not isinstance(runs, dict) or bad:
    raise errors.UserError(f'The page\'s .json has malformed run records: {bad[:5]}; restore it from '
                     'git, or delete the record to retrain that run.')
  return runs


def footer(records: dict, declared: int) -> list:
  """Where the numbers were made: runs finished, machines, versions, summed training time."""
  done = [r for r in records.values() if r is not None]
  machines = collections.Counter(r['machine'] for r in done)
  versions = collections.Counter(json.dumps(r['versions'], sort_keys=True) for r in done)
  seconds = [r['result'].get('seconds') for r in done if isinstance(r['result'], dict)]
  known = [s for s in seconds if s is not None]
  made = '; '.join(f'{m} ({n} runs)' for m, n in sorted(machines.items())) or 'none yet'
  lines = ['', '---', '', f'{len(done)} of {declared} runs finished. Made on: {made}.']
  for v, n in sorted(versions.items()):
    listed = ', '.join(f'{k} {x}' for k, x in json.loads(v).items()) or 'not recorded'
    lines.append(f'Versions ({n} runs): {listed}.')
  if known:
    lines.append(f'Time summed over the {len(known)} runs that record it (as each run kind '
                 f'measures it: gan_jax/study/kind_*.py): {sum(known) / 60:.1f} min.')
  return lines


def write(docs_dir: str, name: str, header: dict, records: dict, page) -> list:
  """Writes NAME.md, NAME.json and (when the page has a figure) NAME.png; returns their paths."""
  from gan_jax.reports import plots
  os.makedirs(docs_dir, exist_ok=True)
  kept = {k: v for k, v in records.items() if v is not None}
  payload = {**header, 'summary': page.summary, 'runs': kept}
  paths = [os.path.join(docs_dir, f'{name}.{ext}') for ext in ('md', 'json')]
  text = '\n'.join(page.lines + footer(records, len(records))) + '\n'
  atomic_files.write_text(paths[0], text)
  atomic_files.write_text(paths[1], json_text(payload))
  if page.figure is not None:
    png: Optional[bytes] = plots.png_bytes(page.figure)
    paths.append(os.path.join(docs_dir, f'{name}.png'))
    atomic_files.write_atomically(paths[-1], lambda f: f.write(png), 'wb')
  return paths
