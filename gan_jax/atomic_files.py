"""Files written whole or not at all: written under a temporary name in the same directory, then
renamed over the target (os.replace is atomic on POSIX), so a reader, a second process or a kill
mid-write never sees a partial file and never loses the previous version."""
import json
import os
import uuid
from typing import Callable


def write_atomically(path: str, write: Callable, mode: str = 'w', **open_kwargs) -> str:
  """Calls write(f) on a temporary file beside `path` (opened with `mode` and `open_kwargs`,
  e.g. newline='' for csv), then renames it over `path`."""
  tmp = f'{os.path.abspath(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp'
  fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)  # Permissions as open()'s.
  try:
    with os.fdopen(fd, mode, **open_kwargs) as f:
      write(f)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
  return path


def write_text(path: str, text: str) -> str:
  return write_atomically(path, lambda f: f.write(text))


def write_json(path: str, obj, **kwargs) -> str:
  return write_atomically(path, lambda f: json.dump(obj, f, **kwargs))
