"""The shared workdir case: a second run of a workdir in use (the first paused with SIGSTOP, so
that the second's check falls inside the first's run), and two runs launched at once; the second
must exit 1 with one 'is in use by another run' line and write nothing, the first finish
untouched."""
import os
import random
import signal
import socket
import time

from tests.chaos.launch import Launch, Setup
from tests.chaos.output import IN_USE, error_records, one_line_problems
from tests.chaos.runs import case_result
from tests.chaos.workdir import differences, workdir_state

SECOND_MOMENTS = ('start-up', 'training', 'evaluation')


def _reach(setup: Setup, first: Launch, moment: str, rng: random.Random) -> bool:
  """Waits for `moment` of the first run (its lock taken, a random logged step, the last)."""
  n = setup.num_steps
  if moment == 'start-up':
    return first.wait_for_path(lambda: os.path.exists(os.path.join(first.workdir, '.lock')))
  step = rng.choice(setup.log_steps(0)[:-1]) if moment == 'training' else n
  return first.wait_for_line(rf'step {step}/{n}\b') is not None


def _second_while_paused(setup: Setup, first: Launch, moment: str, rng: random.Random) -> dict:
  """At `moment` of the first run: SIGSTOP it, launch the same command, check that it exits 1
  with the in-use line and changed nothing, SIGCONT the first."""
  workdir = first.workdir
  if not _reach(setup, first, moment, rng) or not first.alive():
    return {'moment': moment, 'problems': [f'the first run ended before the {moment} moment '
                                           f'(exit {first.proc.poll()})']}
  os.kill(first.pid, signal.SIGSTOP)
  try:
    before = workdir_state(workdir)
    second = Launch(setup, workdir)
    rc = second.wait(timeout=300)
    after = workdir_state(workdir)
  finally:
    os.kill(first.pid, signal.SIGCONT)
  out = second.output()
  problems = [] if rc == 1 else [f'exit status {rc}, not 1']
  problems += one_line_problems(out, IN_USE)
  line = next((r for r in error_records(out) if IN_USE in r), '')
  if line and (str(first.pid) not in line or socket.gethostname() not in line):
    problems.append(f'the line does not name the holder (host {socket.gethostname()}, pid '
                    f'{first.pid})')
  if before != after:
    changed = sorted(set(before.items()) ^ set(after.items()))[:6]
    problems.append(f'the workdir changed while the first run was paused: {changed}')
  return {'moment': moment, 'rc': rc, 'seconds': second.seconds, 'line': line or second.tail(8),
          'problems': problems}


def _while_first_runs(setup: Setup, ref: dict, moments, rng: random.Random) -> list:
  """A second run at each moment of one first run, then the first run's end: details."""
  details = []
  first = Launch(setup, setup.workdir('second_paused'))
  for moment in moments:
    d = _second_while_paused(setup, first, moment, rng)
    setup.log(f'second process at {moment}: exit {d.get("rc")} in {d.get("seconds")} s: '
              f'{d.get("line", "")[:300]} {d["problems"] or ""}')
    details.append(d)
  rc = first.wait()
  diffs = differences(ref, first.workdir) if rc == 0 else []
  problems = ([f'the first run exited {rc}:\n{first.tail()}'] if rc else
              [f'the first run\'s outputs differ: {d}' for d in diffs])
  details.append({'moment': 'first run', 'rc': rc, 'seconds': first.seconds,
                  'problems': problems})
  setup.log(f'second process: the first run exited {rc}; '
            + ('identical to the reference' if not problems else str(problems)))
  return details


def _simultaneous(setup: Setup, ref: dict, name: str) -> dict:
  """Two launches of one fresh workdir at once: one runs to the end, the other exits 1."""
  workdir = setup.workdir(name)
  a, b = Launch(setup, workdir), Launch(setup, workdir)
  rcs = sorted([(a.wait(), a), (b.wait(), b)], key=lambda x: x[0])
  (rc_win, win), (rc_lose, lose) = rcs
  problems = []
  if (rc_win, rc_lose) != (0, 1):
    problems.append(f'exit statuses {rc_win} and {rc_lose}, not 0 and 1:\n{a.tail()}\n'
                    f'{b.tail()}')
  else:
    problems += one_line_problems(lose.output(), IN_USE)
    problems += [f'the outputs differ: {d}' for d in differences(ref, workdir)]
  setup.log(f'two at once: exits {rc_win} and {rc_lose} ({lose.seconds} s); '
            + ('identical to the reference' if not problems else str(problems)))
  return {'moment': 'launched together', 'rc': [rc_win, rc_lose],
          'seconds': [win.seconds, lose.seconds], 'problems': problems,
          'line': next((r for r in error_records(lose.output()) if IN_USE in r), '')}


def case(setup: Setup, ref: dict, moments=SECOND_MOMENTS, simultaneous: int = 1,
         seed: int = 0) -> dict:
  """Second runs while a first one runs, and `simultaneous` pairs launched at once."""
  t0, rng = time.monotonic(), random.Random(f'second-{seed}')
  details, failures = [], []
  if moments:
    details = _while_first_runs(setup, ref, moments, rng)
    failures = [f'second at {d["moment"]}: {p}' for d in details[:-1] for p in d['problems']]
    failures += details[-1]['problems']
  for i in range(simultaneous):
    d = _simultaneous(setup, ref, f'second_together_{i}')
    details.append(d)
    failures += [f'two at once ({i}): {p}' for p in d['problems']]
  tries = len(moments) + simultaneous
  summary = (f'{len(moments)} second runs while the first ran (at {", ".join(moments)}) and '
             f'{simultaneous} pair launched at once: '
             + ('each second run exited 1 with one line naming the holder, and wrote nothing; '
                'the first finished identical to the reference' if not failures
                else f'{len(failures)} problems'))
  return case_result('second', tries, failures, details, t0, summary)
