"""The uninterrupted reference run, copies of it, and the rerun that finishes a case's workdir."""
import json
import os
import re
import shutil
import time
from typing import Optional

from tests.chaos.launch import Launch, Setup
from tests.chaos.workdir import checkpoint_entries, differences, outputs


def reference(setup: Setup) -> dict:
  """The uninterrupted run: its outputs and its timeline (it alone writes the JAX cache)."""
  workdir = setup.workdir('reference')
  setup.log(f'reference: {" ".join(setup.command(workdir)[1:])}')
  launch = Launch(setup, workdir, write_cache=True)
  rc = launch.wait()
  if rc != 0:
    raise RuntimeError(f'The reference run failed (exit {rc}):\n{launch.tail(30)}')
  t_training = launch.line_time(r'from step \d+ to \d+')
  t_last_step = launch.line_time(rf'step {setup.num_steps}/{setup.num_steps}\b')
  ref = outputs(workdir)
  ref.update(workdir=workdir, root=setup.root, seconds=launch.seconds, command=launch.command,
             startup_s=t_training, eval_s=round(launch.seconds - (t_last_step or 0), 2),
             bytes=sum(os.path.getsize(os.path.join(r, f))
                       for r, _, fs in os.walk(workdir) for f in fs))
  setup.log(f'reference: done in {launch.seconds:.1f} s (start-up {t_training} s, final '
            f'evaluation {ref["eval_s"]} s); checkpoints {ref["checkpoints"]}, '
            f'{len(ref["metrics"])} metric records, {len(ref["samples"])} pictures')
  return ref


def copy_of_reference(setup: Setup, ref: dict, name: str) -> str:
  """A copy of the reference's finished workdir, without its lock."""
  workdir = setup.workdir(name)
  shutil.copytree(ref['workdir'], workdir, ignore=shutil.ignore_patterns('.lock'))
  return workdir


def truncate_run(workdir: str, ckpt_step: int, log_step: int) -> None:
  """Makes a finished run's copy look stopped: checkpoints up to ckpt_step, the log and the
  pictures up to log_step, no eval.json."""
  for step in checkpoint_entries(workdir)[0]:
    if step > ckpt_step:
      shutil.rmtree(os.path.join(workdir, 'checkpoints', str(step)))
  for root, _, files in os.walk(os.path.join(workdir, 'samples')):
    for name in files:
      m = re.match(r'step_(\d+)\.png$', name)
      if m and int(m.group(1)) > log_step:
        os.remove(os.path.join(root, name))
  path = os.path.join(workdir, 'metrics.jsonl')
  with open(path) as f:
    kept = [line for line in f if json.loads(line)['step'] <= log_step]
  with open(path, 'w') as f:
    f.writelines(kept)
  if os.path.exists(os.path.join(workdir, 'eval.json')):
    os.remove(os.path.join(workdir, 'eval.json'))


def eval_seconds(launch: Launch, setup: Setup) -> Optional[float]:
  """Seconds from the last step's log line to the end of a launch that trained to the end."""
  t = launch.line_time(rf'step {setup.num_steps}/{setup.num_steps}\b')
  return None if t is None or launch.seconds is None else round(launch.seconds - t, 2)


def finish(setup: Setup, ref: dict, workdir: str, what: str) -> dict:
  """Launches the same command to the end: {'rc', 'seconds', 'differences', 'output'}."""
  launch = Launch(setup, workdir)
  rc = launch.wait()
  diffs = differences(ref, workdir) if rc == 0 else []
  setup.log(f'{what}: rerun exit {rc} in {launch.seconds:.1f} s; '
            + ('identical to the reference' if rc == 0 and not diffs else
               f'DIFFERS: {diffs}' if rc == 0 else 'FAILED:\n' + launch.tail()))
  return {'rc': rc, 'seconds': launch.seconds, 'differences': diffs, 'output': launch.output(),
          'eval_s': eval_seconds(launch, setup)}


def end_problems(end: dict) -> list:
  """What kept a finishing rerun from ending like the reference."""
  if end['rc'] != 0:
    return [f'the rerun exited {end["rc"]}: ' + '\n'.join(end['output'].splitlines()[-12:])]
  return [f'outputs differ: {d}' for d in end['differences']]


def case_result(name: str, tries: int, failures: list, details: list, t0: float,
                summary: str, skipped: Optional[str] = None, **extra) -> dict:
  """A case's record, as the report lists it."""
  status = 'skipped' if skipped else ('fail' if failures else 'pass')
  return {'case': name, 'status': status, 'tries': tries, 'summary': summary,
          'failures': failures, 'details': details, 'skipped_reason': skipped,
          'seconds': round(time.monotonic() - t0, 1), **extra}
