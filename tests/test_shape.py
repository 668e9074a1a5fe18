"""The code's shape, as DESIGN.md states it: functions short enough to read at once, imports that
point one way (no circle), scripts/ that are tools rather than a second library, a short README."""
import ast
import glob
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_FUNCTION_LINES = 60


def python_files(*folders) -> list:
  return sorted(p for f in folders for p in glob.glob(os.path.join(REPO, f, '**', '*.py'),
                                                       recursive=True))


def long_functions(path: str) -> list:
  """'file:line name (N lines)' of every function (methods and nested ones too) over the limit."""
  tree = ast.parse(open(path).read())
  return [f'{os.path.relpath(path, REPO)}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} '
          'lines)' for n in ast.walk(tree)
          if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
          and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]


def test_no_function_of_the_library_or_scripts_is_over_60_lines():
  found = [f for p in python_files('gan_jax', 'scripts', 'experiments') for f in long_functions(p)]
  assert not found, 'Functions over 60 lines:\n' + '\n'.join(found)


def test_the_checker_finds_a_long_function(tmp_path):
  path = tmp_path / 'x.py'
  path.write_text('def f():\n' + '  x = 1\n' * 60 + '\n\ndef g():\n  return 1\n')
  assert [s.split()[1] for s in long_functions(str(path))] == ['f']


def module_name(path: str) -> str:
  rel = os.path.relpath(path, REPO)[:-3].replace(os.sep, '.')
  return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def imports_of(path: str, known: set) -> set:
  """gan_jax modules a file imports, anywhere in it (a function-level import is still a
  dependency): 'from gan_jax.x import y' counts gan_jax.x.y when that is a module."""
  out = set()
  package = module_name(path) if path.endswith('__init__.py') else module_name(path).rpartition(
      '.')[0]
  for node in ast.walk(ast.parse(open(path).read())):
    if isinstance(node, ast.Import):
      out.update(a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ''
      if node.level:
        base = '.'.join(package.split('.')[:len(package.split('.')) - node.level + 1] +
                        ([base] if base else []))
      out.update(f'{base}.{a.name}' if f'{base}.{a.name}' in known else base
                 for a in node.names)
  return {m for m in out if m in known}


def cycles(graph: dict) -> list:
  """Every strongly connected component of more than one module (Tarjan)."""
  index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

  def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in graph.get(v, ()):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        out.append(sorted(component))
  for v in sorted(graph):
    if v not in index:
      visit(v)
  return out


def test_gan_jax_has_no_import_circle():
  files = python_files('gan_jax')
  known = {module_name(p) for p in files}
  graph = {module_name(p): imports_of(p, known) - {module_name(p)} for p in files}
  # A package's __init__ importing its own submodules is not a circle of the design.
  graph = {m: {d for d in deps if not d.startswith(m + '.')} for m, deps in graph.items()}
  graph = {m: {d for d in deps if not m.startswith(d + '.')} for m, deps in graph.items()}
  assert not cycles(graph), f'Import circles: {cycles(graph)}'


def test_the_cycle_finder_finds_a_circle():
  assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
  assert cycles({'a': {'b'}, 'b': set()}) == []


def test_scripts_are_tools_not_a_second_library():
  files = python_files('scripts')
  total = sum(len(open(p).read().splitlines()) for p in files)
  assert total < 1500, f'scripts/ holds {total} lines'
  for p in files:
    text = open(p).read()
    assert 'sys.path' not in text, f'{p} edits sys.path'
    tree = ast.parse(text)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or '' for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m == 'scripts' or m.startswith('scripts.') for m in imported), (
        f'{p} imports another script')


def test_readme_is_short_and_starts_with_the_two_commands():
  lines = open(os.path.join(REPO, 'README.md')).read().splitlines()
  assert len(lines) <= 180, f'README.md has {len(lines)} lines'
  start = '\n'.join(lines[:6])
  assert 'make train' in start and 'make test' in start
  long = [i + 1 for i, line in enumerate(lines) if len(line) > 200]
  assert not long, f'README lines over 200 characters: {long}'


@pytest.mark.parametrize('page', ['index.md'])
def test_docs_index_lists_every_page(page):
  text = open(os.path.join(REPO, 'docs', page)).read()
  pages = [os.path.basename(p) for p in glob.glob(os.path.join(REPO, 'docs', '*.md'))]
  missing = [p for p in pages if p != 'index.md' and f'({p})' not in text]
  assert not missing, f'docs/index.md does not list {missing}'


def test_readme_main_job_block_states_the_main_job_page_numbers():
  """The README's block between the main-job markers is docs/main_job.json's summary text."""
  import json
  text = open(os.path.join(REPO, 'README.md')).read()
  block = text[text.index('<!-- main-job:start'):text.index('<!-- main-job:end -->')]
  summary = json.load(open(os.path.join(REPO, 'docs', 'main_job.json')))['summary']['text']
  assert ' '.join(summary.split()) in ' '.join(block.split())


def test_slow_tests_are_marked_one_way():
  """Issue 26: a slow test carries @pytest.mark.slow on its function; no module-wide mark, no
  list of names (`make test` leaves the marked ones out, `make test-all` runs them)."""
  for root, _, files in os.walk(os.path.join(REPO, 'tests')):
    for name in files:
      if name.endswith('.py') and name != 'test_shape.py':
        src = open(os.path.join(root, name)).read()
        assert not re.search(r'^pytestmark\s*=', src, re.M), name
        assert 'SLOW_TESTS' not in src, name
