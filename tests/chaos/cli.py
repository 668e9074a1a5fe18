"""The command line case: bad command lines are answered in one line, exit status 1, no
traceback, naming the valid choices, with nothing written."""
import os
import shutil
import time
from concurrent import futures

from tests.chaos.launch import EXPERIMENT, Launch, Setup
from tests.chaos.output import error_records
from tests.chaos.runs import case_result

CLI_ERRORS = (  # (the flags that replace --config and the overrides, words the line must hold)
    (['--config=' + EXPERIMENT, '--config.train.nope=1'], ['nope', 'num_steps']),
    (['--config=' + EXPERIMENT, '--config.loss.penalties.nope=1.0'], ['nope', 'r1']),
    (['--config=experiments/nope.py'], ['nope.py', 'dcgan_mnist']),
    (['--config=experiments/dcgan_mnist.py:nope'], ['nope', 'runlocal']),
)


def _cli_once(setup: Setup, i: int, flags: list, words: list) -> dict:
  """One bad command line: its answer and what keeps it from being one good error line."""
  workdir = os.path.join(setup.root, f'cli_{i}')
  shutil.rmtree(workdir, ignore_errors=True)
  command = [setup.python, '-m', 'gan_jax.main', f'--workdir={workdir}', *flags]
  launch = Launch(setup, workdir, command)
  rc = launch.wait(timeout=300)
  out = launch.output()
  problems = [] if rc == 1 else [f'exit status {rc}, not 1']
  records = error_records(out)
  if 'Traceback' in out:
    problems.append('a traceback')
  if len(records) != 1 or '\n' in records[0]:
    problems.append(f'{sum(r.count(chr(10)) + 1 for r in records)} error lines, not one')
  missing = [w for w in words if not any(w in r for r in records)]
  if missing:
    problems.append(f'the error does not mention {missing}')
  if os.path.exists(workdir):
    problems.append('the workdir was created')
  return {'flags': ' '.join(flags), 'rc': rc, 'seconds': launch.seconds,
          'error': '\n'.join(records)[:1500] or launch.tail(8), 'problems': problems}


def case(setup: Setup, parallel: int = 1) -> dict:
  """Every bad command line of CLI_ERRORS, `parallel` at a time."""
  t0 = time.monotonic()
  with futures.ThreadPoolExecutor(parallel) as pool:
    details = list(pool.map(lambda a: _cli_once(setup, a[0], *a[1]), enumerate(CLI_ERRORS)))
  for d in details:
    setup.log(f'cli {d["flags"]}: exit {d["rc"]} in {d["seconds"]} s: '
              f'{d["error"][:200]!r} {d["problems"] or ""}')
  failures = [f'{d["flags"]}: {p}' for d in details for p in d['problems']]
  summary = (f'{len(details)} bad command lines: '
             + ('each one line naming the valid choices, exit 1, no traceback, nothing written'
                if not failures else f'{len(failures)} problems'))
  return case_result('cli', len(details), failures, details, t0, summary)
