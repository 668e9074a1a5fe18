"""The kills case: SIGKILL at random moments (start-up included), relaunching until the run
finishes, over several fresh workdirs; each finished run compared with the reference."""
import dataclasses
import os
import random
import re
import time
from typing import Optional

from tests.chaos.launch import Launch, Setup
from tests.chaos.output import warnings_with
from tests.chaos.runs import case_result, eval_seconds, finish
from tests.chaos.workdir import checkpoint_entries, differences, leftovers, top_entries

KILL_KINDS = ('claim', 'launch', 'training', 'evaluation')


def kill_plan(kills: int, rounds: int, rng: random.Random) -> list:
  """Kinds of kill per round: each fresh workdir's first launch is killed as the workdir is
  claimed; the others 0.5-4 s after launch (a quarter), in the final evaluation (a sixth) or
  during training (the rest), shuffled."""
  rounds = max(1, min(rounds, kills))
  n_launch, n_eval = round(kills / 4), max(1, round(kills / 6))
  rest = ['launch'] * n_launch + ['evaluation'] * n_eval
  rest += ['training'] * max(0, kills - rounds - len(rest))
  rng.shuffle(rest)
  rest = rest[:kills - rounds]
  return [['claim'] + rest[r::rounds] for r in range(rounds)]


@dataclasses.dataclass
class KillTiming:
  """When each kind of kill lands."""
  claim_window_s: float = 2.0     # after the workdir's first entry appears
  launch_window_s: tuple = (0.5, 4.0)
  training_jitter_s: float = 0.8  # after the chosen step's log line
  eval_window_s: float = 3.0      # after the last step's log line; follows the runs seen

  def observe(self, eval_s: Optional[float]) -> None:
    """Narrows the evaluation window to the final evaluations seen (relaunches read the
    compilation cache, so theirs are shorter than the reference's)."""
    if eval_s:
      self.eval_window_s = max(0.3, 0.9 * eval_s)


def _wait_for_moment(setup: Setup, launch: Launch, kind: str, rng: random.Random,
                     timing: KillTiming) -> tuple:
  """Waits for the moment of `kind`: (the kind it became, the step aimed after or None)."""
  target = None
  if kind == 'claim':
    launch.wait_for_path(lambda: bool(top_entries(launch.workdir)))
    launch.sleep(rng.uniform(0, timing.claim_window_s))
  elif kind == 'launch':
    launch.sleep(rng.uniform(*timing.launch_window_s) - launch.elapsed())
  else:
    m = launch.wait_for_line(r'from step (\d+) to (\d+)')
    start = int(m.group(1)) if m else setup.num_steps
    steps = setup.log_steps(after=start)
    if kind == 'training' and len(steps) > 1:
      target = rng.choice(steps[:-1])
      if launch.wait_for_line(rf'step {target}/{setup.num_steps}\b'):
        launch.sleep(rng.uniform(0, timing.training_jitter_s))
    else:
      kind = 'evaluation'
      n = setup.num_steps
      if start >= n or launch.wait_for_line(rf'step {n}/{n}\b'):
        launch.sleep(rng.uniform(0, timing.eval_window_s))
  return kind, target


def kill_once(setup: Setup, launch: Launch, kind: str, rng: random.Random,
              timing: KillTiming, fresh: bool) -> dict:
  """Waits for the moment of `kind`, then SIGKILL: what it hit ('landed': False when the
  process ended first)."""
  if kind == 'claim' and not fresh:
    kind = 'launch'
  kind, target = _wait_for_moment(setup, launch, kind, rng, timing)
  entries = top_entries(launch.workdir)
  landed = launch.kill()
  return {'kind': kind, 'at_s': round(launch.elapsed(), 2), 'landed': landed,
          'phase': phase_of(launch, setup), 'target_step': target, 'workdir_had': entries,
          'checkpoints': checkpoint_entries(launch.workdir)[0], 'rc': launch.rc}


def phase_of(launch: Launch, setup: Setup) -> str:
  """Where a launch was when it ended, from its output."""
  out = launch.output()
  steps = re.findall(rf'step (\d+)/{setup.num_steps}\b', out)
  if 'from step' not in out:
    return 'start-up' if out.strip() else 'start-up (no output yet)'
  if f'step {setup.num_steps}/{setup.num_steps}' in out or re.search(
      rf'from step {setup.num_steps} to', out):
    return 'final evaluation'
  return f'training, after step {steps[-1]}' if steps else 'training, before the first log'


def takeover(stale: bool, output: str) -> Optional[dict]:
  """A launch that found a killed run's lock: did it warn and go on past start-up?"""
  if not stale:
    return None
  return {'warned': bool(warnings_with(output, 'lock')), 'started': 'from step' in output}


def _killed_launches(setup: Setup, workdir: str, kinds: list, rng: random.Random,
                     timing: KillTiming, name: str) -> tuple:
  """A launch killed for each kind: (kills landed, kinds left unused when the run finished
  before its kill, a relaunch's own failure or None, takeovers seen)."""
  kills, takeovers = [], []
  for i, kind in enumerate(kinds):
    fresh = not top_entries(workdir)
    stale = os.path.exists(os.path.join(workdir, '.lock'))
    launch = Launch(setup, workdir)
    event = kill_once(setup, launch, kind, rng, timing, fresh)
    takeovers.append(takeover(stale, launch.output()))
    if event['landed']:
      kills.append(event)
      setup.log(f'{name}: kill {len(kills)} ({event["kind"]}) at {event["at_s"]} s, in '
                f'{event["phase"]}; workdir had {event["workdir_had"]}')
      continue
    if launch.rc != 0:
      retry = Launch(setup, workdir)
      failure = {'launch': len(kills) + 1, 'rc': launch.rc, 'output': launch.tail(25),
                 'next_rerun_rc': retry.wait()}
      setup.log(f'{name}: a relaunch exited {launch.rc} by itself:\n{launch.tail()}\n'
                f'(the next rerun exited {failure["next_rerun_rc"]})')
      return kills, [], failure, takeovers
    timing.observe(eval_seconds(launch, setup))
    setup.log(f'{name}: the run finished before the {event["kind"]} kill (kills left: '
              f'{len(kinds) - i}, in a fresh workdir)')
    return kills, kinds[i:], None, takeovers
  return kills, [], None, takeovers


def kill_round(setup: Setup, ref: dict, kinds: list, rng: random.Random, timing: KillTiming,
               name: str) -> dict:
  """One fresh workdir: a launch killed for each kind, then one to the end; the kinds left
  over when the run finished before its kill are returned in 'unused'."""
  workdir = setup.workdir(name)
  kills, unused, failure, takeovers = _killed_launches(setup, workdir, kinds, rng, timing, name)
  end = {'rc': None, 'differences': [], 'output': ''}
  if failure is None and not unused:
    stale = os.path.exists(os.path.join(workdir, '.lock'))
    end = finish(setup, ref, workdir, name)
    takeovers.append(takeover(stale, end['output']))
    timing.observe(end['eval_s'])
  elif failure is None:
    end = {'rc': 0, 'differences': differences(ref, workdir), 'output': ''}
  takeovers = [t for t in takeovers if t]
  return {'round': name, 'kills': kills, 'unused': unused, 'failure': failure,
          'takeovers': len(takeovers),
          'silent_takeovers': sum(t['started'] and not t['warned'] for t in takeovers),
          'end_rc': end['rc'], 'differences': end['differences'],
          'end_tail': end['output'][-3000:] if end['rc'] else '',
          'leftovers': leftovers(workdir)}


def _round_failures(result: dict) -> list:
  """What went wrong in one round ([] when it held)."""
  if result['failure']:
    f = result['failure']
    return [f'{result["round"]}: relaunch {f["launch"]} exited {f["rc"]} by itself '
            f'(the next rerun exited {f["next_rerun_rc"]}):\n{f["output"]}']
  failures = []
  if result['end_rc'] != 0:
    failures.append(f'{result["round"]}: the final rerun exited {result["end_rc"]}:\n'
                    f'{result["end_tail"]}')
  elif result['differences']:
    failures.append(f'{result["round"]}: outputs differ: {result["differences"]}')
  if result['silent_takeovers']:
    failures.append(f'{result["round"]}: {result["silent_takeovers"]} relaunches took over '
                    'a killed run\'s lock without a warning line mentioning "lock"')
  return failures


def case(setup: Setup, ref: dict, kills: int = 20, rounds: int = 3, seed: int = 0,
         timing: Optional[KillTiming] = None, plan: Optional[list] = None) -> dict:
  """SIGKILL `kills` times over `rounds` fresh workdirs, each finished and compared."""
  t0, rng = time.monotonic(), random.Random(f'kills-{seed}')
  # The reference compiled its evaluation: a relaunch's is shorter (the window then follows it).
  timing = timing or KillTiming(eval_window_s=max(0.5, 0.4 * ref['eval_s']))
  queue = [list(k) for k in (plan or kill_plan(kills, rounds, rng))]
  results, failures, extra_rounds = [], [], 0
  while queue:
    result = kill_round(setup, ref, queue.pop(0), rng, timing, f'kills_{len(results)}')
    results.append(result)
    failures += _round_failures(result)
    if result['failure']:
      break
    if result['unused'] and extra_rounds < 3:
      extra_rounds += 1
      queue.append(['claim'] + [k for k in result['unused'] if k != 'claim'])
  landed = [k for r in results for k in r['kills']]
  by_kind = {k: sum(e['kind'] == k for e in landed) for k in KILL_KINDS}
  summary = (f'{len(landed)} SIGKILLs ({", ".join(f"{n} {k}" for k, n in by_kind.items())}) '
             f'over {len(results)} fresh workdirs, each finished by relaunching the same '
             f'command; {sum(r["takeovers"] for r in results)} relaunches found a killed '
             f'run\'s lock and took it over; '
             + ('every finished run identical to the reference' if not failures
                else f'{len(failures)} failures'))
  return case_result('kills', len(landed), failures, results, t0, summary,
                     timing=dataclasses.asdict(timing))

