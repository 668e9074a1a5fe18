"""Every GPU check of issue 14: its five studies run on the device, then docs/gpu.md.

On the GPU machine (no package registry, no venv; `make gpu-wheels` fills .gpu_wheels/ here
first, and the folder travels with the working tree), from the repository root:

  python scripts/gpu_check.py [--budget SECONDS] [--short] [--parts abcde] [--out DIR]

Here, on the CPU, the studies' `:runlocal` variants into a temporary folder (a few minutes):

  .venv/bin/python scripts/gpu_check.py --smoke [--out DIR]

Each part is a study of experiments/studies/, run by `python -m gan_jax.study` in a process of
its own (so this driver needs nothing but the standard library), in order of value:
  a gpu_correctness    the GPU's update, short runs and checkpoints against the CPU's
  b gpu_speed          the update against torch eager, float32 and bfloat16, and the matmul rate
  c gpu_seeds          8 seeds trained together against one
  d gpu_pacgan         ring8 / grid25, GAN and PacGAN2, 5 seeds, 400,000 steps (--short: 40,000)
  e gpu_stacked_mnist  Stacked MNIST, DCGAN and PacDCGAN2, 100,000 steps (--short: 10,000)
A study trains only what is not finished (resuming in --workdir) and writes its page
(gpu_NAME.md, .json) into --out (docs/); a run recorded in that .json is not measured again
(the engine reuses a record of the same config hash, whatever machine made it): to measure
another device, move the page's .json aside first. --budget stops the parts when the time is
spent: a part cut off keeps its finished runs in the workdir and a rerun resumes it. docs/gpu.md
then lists every part's page and headline, a pure function of their .json (--report_only
rewrites the pages and gpu.md from the .json alone). Modules the machine lacks (WHEEL_MODULES)
are unpacked from .gpu_wheels/ into .gpu_wheels/site and given to the parts on PYTHONPATH.
"""
import argparse
import glob
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEELS = os.path.join(ROOT, '.gpu_wheels')
# Module -> its wheel's file-name prefix in .gpu_wheels (scripts/gpu_wheels.sh).
WHEEL_MODULES = {'absl': 'absl_py-', 'packaging': 'packaging-', 'ml_collections': 'ml_collections-',
                 'tensorboardX': 'tensorboardx-', 'mlxtend': 'mlxtend-'}
PARTS = {'a': 'gpu_correctness', 'b': 'gpu_speed', 'c': 'gpu_seeds', 'd': 'gpu_pacgan',
         'e': 'gpu_stacked_mnist'}
SHORT = ('gpu_pacgan', 'gpu_stacked_mnist')  # The studies with a ':short' variant.


def wheels_env() -> tuple:
  """(the parts' environment, the modules it supplies from .gpu_wheels): every module of
  WHEEL_MODULES that cannot be imported here, unpacked from its wheel into .gpu_wheels/site,
  which goes first on PYTHONPATH."""
  site, supplied = os.path.join(WHEELS, 'site'), []
  for module, prefix in WHEEL_MODULES.items():
    found = sorted(glob.glob(os.path.join(WHEELS, prefix + '*.whl')))
    if importlib.util.find_spec(module) is None and found:
      zipfile.ZipFile(found[-1]).extractall(site)
      supplied.append(module)
  env = dict(os.environ)
  if supplied:
    env['PYTHONPATH'] = os.pathsep.join([site] + [p for p in [env.get('PYTHONPATH')] if p])
  return env, supplied


def page_name(study: str, arg) -> str:
  """The page a study variant writes: its name, with '_ARG' for a variant (the studies' rule)."""
  return study + (f'_{arg}' if arg else '')


def run_part(study: str, arg, args, env: dict, timeout) -> str:
  """Runs one study in its own process group; its status in words."""
  cmd = [sys.executable, '-m', 'gan_jax.study',
         f'experiments/studies/{study}.py' + (f':{arg}' if arg else ''), '--docs_dir', args.out]
  cmd += ['--report_only'] if args.report_only else ['--workdir',
                                                     os.path.join(args.workdir, study)]
  print(f'[gpu_check] {" ".join(cmd)}', flush=True)
  proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
  try:
    code = proc.wait(timeout=timeout)
  except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGTERM)  # The study and the runs it started.
    proc.wait()
    return 'stopped at the time limit (its finished runs are kept; a rerun resumes it)'
  return 'done' if code == 0 else f'failed (exit {code}; its output is above)'


def page(out: str, names: list, smoke: bool) -> list:
  """docs/gpu.md: each part's page, finished runs, machines and headline, from its .json."""
  lines = ['# gan_jax on the accelerator (issue 14)', '',
           'Made by `python scripts/gpu_check.py` from the pages of its parts, each a study of '
           'experiments/studies/ with its page beside this one; do not edit by hand.' +
           (' SMOKE RUN (`--smoke`: the studies\' `:runlocal` variants on this machine): tiny '
            'sizes, the numbers mean nothing.' if smoke else ''), '',
           '| part | page | runs recorded | made on | in short |', '|---|---|---|---|---|']
  for letter, name in names:
    path = os.path.join(out, f'{name}.json')
    if not os.path.exists(path):
      lines.append(f'| {letter} | {name}.md: not made yet | 0 | — | — |')
      continue
    with open(path) as f:
      data = json.load(f)
    machines = sorted({r['machine'] for r in data['runs'].values()})
    lines.append(f'| {letter} | [{name}.md]({name}.md) | {len(data["runs"])} | '
                 f'{"; ".join(machines) or "—"} | {data["summary"].get("headline", "—")} |')
  return lines


def write_text(path: str, text: str) -> None:
  with open(path + '.tmp', 'w') as f:
    f.write(text)
  os.replace(path + '.tmp', path)


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--smoke', action='store_true',
                      help="the studies' :runlocal variants (any machine), into a temporary folder")
  parser.add_argument('--short', action='store_true',
                      help=f'the :short variants of {", ".join(SHORT)} (a machine lent briefly)')
  parser.add_argument('--parts', default='abcde', help='which parts, e.g. "ab"')
  parser.add_argument('--budget', type=float, help='seconds for all parts (default: no limit)')
  parser.add_argument('--out', help='where the pages go (default docs/; --smoke: a temporary '
                      'folder)')
  parser.add_argument('--workdir', help='run directories (default runs/studies; --smoke: under '
                      '--out)')
  parser.add_argument('--report_only', action='store_true',
                      help="rewrite the parts' pages and gpu.md from their .json, running nothing")
  args = parser.parse_args(argv)
  unknown = sorted(set(args.parts) - set(PARTS))
  if unknown:
    parser.error(f'--parts: unknown {unknown}; valid: {"".join(PARTS)}')
  if args.smoke and args.short:
    parser.error('--smoke and --short do not go together.')
  args.out = os.path.abspath(args.out or (tempfile.mkdtemp(prefix='gpu_check_smoke_')
                                          if args.smoke else os.path.join(ROOT, 'docs')))
  args.workdir = os.path.abspath(args.workdir or (
      os.path.join(args.out, 'runs') if args.smoke else os.path.join(ROOT, 'runs', 'studies')))
  return args


def main(argv=None) -> int:
  args = parse_args(argv)
  env, supplied = wheels_env()
  if supplied:
    print(f'[gpu_check] from .gpu_wheels: {", ".join(supplied)}', flush=True)
  end = time.time() + args.budget if args.budget else None
  names, failed = [], []
  for letter, study in PARTS.items():
    arg = 'runlocal' if args.smoke else ('short' if args.short and study in SHORT else None)
    names.append((letter, page_name(study, arg)))
    if letter not in args.parts:
      continue
    left = None if end is None else end - time.time()
    if args.report_only and not os.path.exists(os.path.join(args.out, f'{names[-1][1]}.json')):
      status = 'skipped: no page to rewrite'
    elif left is not None and left <= 0:
      status = 'skipped: no time left'
    else:
      status = run_part(study, arg, args, env, left)
    print(f'[gpu_check] part {letter} ({study}): {status}', flush=True)
    failed += [study] if status.startswith('failed') else []
  os.makedirs(args.out, exist_ok=True)
  write_text(os.path.join(args.out, 'gpu.md'), '\n'.join(page(args.out, names, args.smoke)) + '\n')
  print(f'[gpu_check] wrote {os.path.join(args.out, "gpu.md")}', flush=True)
  return 1 if failed else 0


if __name__ == '__main__':
  sys.exit(main())
