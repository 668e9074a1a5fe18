"""Reading a launch's output: its error records (log lines and Python warnings left out)."""
import re

_LOG_NOISE = re.compile(r'^[IW]\d{4} ')  # absl INFO and WARNING lines
_PY_WARNING = re.compile(r'^\S+:\d+: \w*Warning: ')
IN_USE = 'is in use by another run'
NO_SPACE = 'No space left'


def error_records(output: str) -> list:
  """The output's records other than INFO/WARNING log lines and Python warnings: a record is a
  line and the indented lines that continue it. A one-line error is exactly one record."""
  records, skip_source = [], False
  for line in output.splitlines():
    if skip_source and line.startswith((' ', '\t')):
      skip_source = False
      continue
    skip_source = False
    if not line.strip() or _LOG_NOISE.match(line):
      continue
    if _PY_WARNING.match(line):
      skip_source = True
      continue
    if line.startswith((' ', '\t')) and records:
      records[-1] += '\n' + line
    else:
      records.append(line)
  return records


def one_line_problems(output: str, phrase: str) -> list:
  """What keeps `output` from being one error line containing `phrase`, without a traceback."""
  problems = []
  if 'Traceback' in output:
    problems.append('a traceback')
  records = error_records(output)
  if len(records) != 1:
    problems.append(f'{len(records)} error records instead of one: {records[:4]}')
  elif '\n' in records[0]:
    problems.append(f'the error spans {records[0].count(chr(10)) + 1} lines')
  if not any(phrase in r for r in records):
    problems.append(f'no error line containing {phrase!r}')
  return problems


def warnings_with(output: str, *words: str) -> list:
  """The WARNING lines containing every word (case-insensitive)."""
  return [line for line in output.splitlines()
          if line.startswith('W') and all(w.lower() in line.lower() for w in words)]
