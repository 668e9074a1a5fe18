"""`python -m tests.chaos`: the command line of make chaos (see tests/chaos/__init__.py)."""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

from tests.chaos import cli, damage, full_disk, kills, page, record, second, torn
from tests.chaos.digest_cost import digest_cost, digest_cost_child
from tests.chaos.launch import REPO, Setup, reap_all
from tests.chaos.runs import reference

CASES = ('kills', 'damage', 'torn', 'full_disk', 'second', 'cli')


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog='python -m tests.chaos',
                                   description=sys.modules['tests.chaos'].__doc__.split('\n')[0])
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--kills', type=int, default=20, help='SIGKILLs in the kills case')
  parser.add_argument('--rounds', type=int, default=3, help='fresh workdirs the kills span')
  parser.add_argument('--only', default=','.join(CASES), help=f'cases, of {",".join(CASES)}')
  parser.add_argument('--root', default=None, help='scratch directory (default: a new one)')
  parser.add_argument('--keep', action='store_true', help='keep the scratch directory')
  parser.add_argument('--report-dir', default=os.path.join(REPO, 'docs'),
                      help='where reliability.md/.json go; "" writes none')
  parser.add_argument('--report_only', action='store_true',
                      help='only rewrite reliability.md from the reliability.json there')
  parser.add_argument('--digest-cost-child', nargs=2, metavar=('DIR', 'N'),
                      help='only measure the digests\' cost (N saves in DIR): one RESULT line')
  return parser


def _run_cases(setup: Setup, args, cases: list) -> tuple:
  """The reference, then each case: (the reference, the cases' results, the digests' cost)."""
  ref = reference(setup)
  run = {'kills': lambda: kills.case(setup, ref, args.kills, args.rounds, args.seed),
         'damage': lambda: damage.case(setup, ref, seed=args.seed),
         'torn': lambda: torn.case(setup, ref, seed=args.seed),
         'full_disk': lambda: full_disk.case(setup, ref, seed=args.seed),
         'second': lambda: second.case(setup, ref, seed=args.seed),
         'cli': lambda: cli.case(setup)}
  results = []
  for name in cases:
    setup.log(f'--- {name}')
    results.append(run[name]())
    setup.log(f'{name}: {results[-1]["status"].upper()}: {results[-1]["summary"]}')
  cost = digest_cost(setup) if 'damage' in cases else None
  return ref, results, cost


def _chaos(args, cases: list, command: str) -> int:
  """Runs the cases in a scratch directory (removed after, unless --keep), writes the report."""
  root = args.root or tempfile.mkdtemp(prefix='gan_jax_chaos_')
  os.makedirs(root, exist_ok=True)
  t0 = time.monotonic()

  def log(msg):
    s = int(time.monotonic() - t0)
    print(f'[chaos {s // 60}:{s % 60:02d}] {msg}', flush=True)

  setup, info = Setup(root=root, log=log), record.machine()
  log(f'scratch {root}; cases {cases}; seed {args.seed}')
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
  try:
    ref, results, cost = _run_cases(setup, args, cases)
  finally:
    reap_all()
    if not args.keep:
      shutil.rmtree(root, ignore_errors=True)
  wall = time.monotonic() - t0
  if args.report_dir:
    p = record.payload(results, ref, args.seed, command, info, wall, cost)
    paths = page.write(p, args.report_dir)
    log(f'wrote {", ".join(os.path.relpath(path, REPO) for path in paths)}')
  held = all(r['status'] != 'fail' for r in results)
  log(('every case held' if held else 'FAILED: ' + ', '.join(
      r['case'] for r in results if r['status'] == 'fail')) + f' ({wall / 60:.1f} min)')
  return 0 if held else 1


def main(argv=None) -> int:
  """Parses the command line: the digests' child, --report_only, or the cases."""
  parser = _parser()
  argv = sys.argv[1:] if argv is None else list(argv)
  args = parser.parse_args(argv)
  if args.digest_cost_child:
    directory, saves = args.digest_cost_child
    print('RESULT ' + json.dumps(digest_cost_child(directory, int(saves))), flush=True)
    return 0
  if args.report_only:
    if not os.path.exists(os.path.join(args.report_dir or '.', page.NAMES[0])):
      parser.error(f'--report_only: no {page.NAMES[0]} in {args.report_dir!r}')
    print(f'wrote {page.rewrite(args.report_dir)}')
    return 0
  cases = [c for c in args.only.split(',') if c]
  unknown = sorted(set(cases) - set(CASES))
  if unknown:
    parser.error(f'unknown cases {unknown}; valid: {list(CASES)}')
  return _chaos(args, cases, ('python -m tests.chaos ' + ' '.join(argv)).strip())


if __name__ == '__main__':
  sys.exit(main())
