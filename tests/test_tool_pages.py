"""gan_jax/reports/tool_pages.py: a tool's page (NAME.md and NAME.json) written whole."""
import json
import os

from gan_jax.reports import pages
from gan_jax.reports import tool_pages


def test_a_tool_page_is_its_lines_and_its_numbers(tmp_path):
  out = str(tmp_path / 'docs' / 'bench_x')  # The folder does not exist yet.
  payload = {'device': 'cpu', 'rows': [{'steps_per_s': 12.5, 'batch': 64}]}
  written = tool_pages.write(out, ['# Bench', '', '| a | b |', '', ''], payload)
  assert written == [out + '.md', out + '.json']
  # One newline at the end, however many blank lines the tool left.
  assert open(out + '.md').read() == '# Bench\n\n| a | b |\n'
  assert open(out + '.json').read() == pages.json_text(payload)
  assert json.load(open(out + '.json')) == payload
  assert sorted(os.listdir(tmp_path / 'docs')) == ['bench_x.json', 'bench_x.md']  # No temp files.
  tool_pages.write(out, ['# Bench again'], {'rows': []})  # Rewritten in place.
  assert open(out + '.md').read() == '# Bench again\n'
