"""A tool's page of docs/ (a benchmark or a profile of scripts/, not a study): NAME.md from its
lines and NAME.json from its numbers, each written atomically."""
import os

from gan_jax import atomic_files
from gan_jax.reports import pages


def write(out: str, lines: list, payload) -> list:
  """Writes `out`.md (the lines, newline-ended) and `out`.json (the payload, as a study page's
  .json is written); `out` is a path without extension. Returns the two paths."""
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  md, js = out + '.md', out + '.json'
  atomic_files.write_text(md, '\n'.join(lines).rstrip('\n') + '\n')
  atomic_files.write_text(js, pages.json_text(payload))
  return [md, js]
