"""Writing a generated page of docs/: docs/<name>.md from its lines and docs/<name>.json."""
import json
import os

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'docs')


def write(name: str, lines: list, payload: dict) -> None:
  """docs/<name>.json (the numbers) and docs/<name>.md (the page), then prints the page."""
  with open(os.path.join(DOCS, f'{name}.json'), 'w') as f:
    json.dump(payload, f, indent=2)
  with open(os.path.join(DOCS, f'{name}.md'), 'w') as f:
    f.write('\n'.join(lines))
  print('\n'.join(lines))
