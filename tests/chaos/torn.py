"""The torn case: metrics.jsonl ends in half a JSON line, then the run is resumed; the partial
line must be dropped with a warning and the run finish like the reference."""
import json
import os
import random
import time

from tests.chaos.launch import Setup
from tests.chaos.output import warnings_with
from tests.chaos.runs import case_result, copy_of_reference, end_problems, finish, truncate_run

TORN_MODES = ('stopped', 'finished')


def _torn_once(setup: Setup, ref: dict, mode: str, rng: random.Random) -> dict:
  """One copy of the reference with a torn last line (stopped first when mode is 'stopped'),
  rerun: what happened and its problems."""
  workdir = copy_of_reference(setup, ref, f'torn_{mode}')
  path = os.path.join(workdir, 'metrics.jsonl')
  with open(path) as f:
    lines = f.readlines()
  last = lines[-1]
  if mode == 'stopped':
    ckpt, logged = ref['checkpoints'][-2], setup.log_steps(0)[-2]
    truncate_run(workdir, ckpt, logged)
    last = next(line for line in lines if json.loads(line)['step'] > logged)
  torn = last[:rng.randrange(1, len(last) - 1)]
  with open(path, 'a') as f:
    f.write(torn)
  setup.log(f'torn {mode}: metrics.jsonl ends in {torn[:40]!r}... ({len(torn)} of '
            f'{len(last)} characters); rerunning')
  end = finish(setup, ref, workdir, f'torn {mode}')
  problems = end_problems(end)
  warned = warnings_with(end['output'], 'torn')
  if end['rc'] == 0 and not warned:
    problems.append('no warning line mentioning "torn"')
  return {'mode': mode, 'torn_chars': len(torn), 'line_chars': len(last),
          'rc': end['rc'], 'warnings': warned[:3], 'problems': problems,
          'seconds': end['seconds']}


def case(setup: Setup, ref: dict, modes=TORN_MODES, seed: int = 0) -> dict:
  """metrics.jsonl ends in half a JSON line: of a run stopped after its last log line but one
  (resumes from the checkpoint before), or of a finished run; then the rerun."""
  t0, rng = time.monotonic(), random.Random(f'torn-{seed}')
  details = [_torn_once(setup, ref, mode, rng) for mode in modes]
  failures = [f'torn {d["mode"]}: {p}' for d in details for p in d['problems']]
  summary = (f'{len(modes)} torn tails ({", ".join(modes)} run): '
             + ('each dropped with a warning, the rerun identical to the reference'
                if not failures else f'{len(failures)} problems'))
  return case_result('torn', len(modes), failures, details, t0, summary)
