"""After `make test`: does the fast suite run every module of gan_jax/?

Reads the coverage data pytest-cov left (.coverage) and fails, naming them, for the modules of
gan_jax/ of which no line inside a function or method body ran: a module only imported (its
`def` lines executed) is not exercised. Modules without any function count when any line ran.
Prints the total line coverage, the figure the README states.

  .venv/bin/python -m scripts.coverage_check [--data .coverage]
"""
import argparse
import ast
import io
import os
import sys

import coverage

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def body_lines(path: str) -> set:
  """The line numbers of statements inside function bodies (nested ones included)."""
  tree = ast.parse(open(path).read())
  lines = set()
  for node in ast.walk(tree):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
      body = node.body if isinstance(node.body, list) else [node.body]
      for stmt in body:
        lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
  return lines


def unexercised(cov: coverage.Coverage, package: str) -> list:
  """The package's modules none of whose function bodies ran (relative paths)."""
  data, missing = cov.get_data(), []
  for root, _, files in os.walk(package):
    for name in sorted(files):
      if not name.endswith('.py'):
        continue
      path = os.path.abspath(os.path.join(root, name))
      executed = set(data.lines(path) or ())
      inside = body_lines(path)
      ran = executed & inside if inside else executed
      if not ran and os.path.getsize(path) > 0 and name != '__init__.py':
        missing.append(os.path.relpath(path, REPO))
  return sorted(missing)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--data', default=os.path.join(REPO, '.coverage'))
  args = parser.parse_args()
  if not os.path.exists(args.data):
    print(f'No coverage data at {args.data}: run `make test` first.', file=sys.stderr)
    return 2
  cov = coverage.Coverage(data_file=args.data)
  cov.load()
  missing = unexercised(cov, os.path.join(REPO, 'gan_jax'))
  total = cov.report(file=io.StringIO())
  print(f'Line coverage of gan_jax/: {total:.1f}% (`.venv/bin/python -m coverage report` for each '
        'file).')
  if missing:
    print(f'{len(missing)} module(s) of gan_jax/ not run by these tests (only imported, or not '
          f'even that): {", ".join(missing)}. Add a test that runs each.', file=sys.stderr)
    return 1
  print('Every module of gan_jax/ ran inside at least one of its functions.')
  return 0


if __name__ == '__main__':
  sys.exit(main())
