"""The damage case: the newest checkpoint (or two) of a finished run damaged, then resumed; the
damaged ones must be moved aside with one warning and the run finish from an older one."""
import os
import random
import re
import time

from tests.chaos.launch import Setup
from tests.chaos.output import warnings_with
from tests.chaos.runs import case_result, copy_of_reference, end_problems, finish

DAMAGE_MODES = ('truncate', 'garble', 'garble_arrays', 'garble_two', 'zeros_arrays',
                'zeros_file')


def zero_16_bytes(path: str) -> None:
  """Zeroes 16 bytes in the middle of a file: the first window from the middle on that holds a
  byte that is not zero yet (so the file does change)."""
  with open(path, 'r+b') as f:
    data = f.read()
    start = max(0, len(data) // 2 - 8)
    while start + 16 < len(data) and not any(data[start:start + 16]):
      start += 16
    f.seek(start)
    f.write(b'\0' * min(16, len(data)))


def _zero_one_file(directory: str, mode: str, rng: random.Random) -> list:
  """'zeros_arrays': 16 bytes zeroed in the largest file (array data, which orbax reads without
  an error: issue 27); 'zeros_file': in one other file, drawn by the seed."""
  names = sorted(os.path.relpath(os.path.join(root, name), directory)
                 for root, _, files in os.walk(directory) for name in files)
  largest = max(names, key=lambda n: os.path.getsize(os.path.join(directory, n)))
  name = largest if mode == 'zeros_arrays' else rng.choice([n for n in names if n != largest])
  zero_16_bytes(os.path.join(directory, name))
  return [name]


def damage_checkpoint(directory: str, mode: str, rng: random.Random) -> list:
  """Truncates every file of the checkpoint to half its size ('truncate'), or overwrites every
  file ('garble') or only the array data files, its metadata intact ('garble_arrays'), with
  random bytes of the same length, or zeroes 16 bytes of one file ('zeros_arrays',
  'zeros_file'); returns the files damaged (paths in the checkpoint)."""
  if mode.startswith('zeros'):
    return _zero_one_file(directory, mode, rng)
  damaged = []
  for root, _, files in os.walk(directory):
    if mode == 'garble_arrays' and os.path.basename(root) != 'd':
      continue  # orbax's OCDBT keeps the arrays' bytes in <item>/**/d/.
    for name in files:
      path = os.path.join(root, name)
      size = os.path.getsize(path)
      if mode == 'truncate':
        os.truncate(path, size // 2)
      else:
        with open(path, 'r+b') as f:
          f.write(rng.randbytes(size))
      damaged.append(os.path.relpath(path, directory))
  return damaged


def _damage_once(setup: Setup, ref: dict, mode: str, rng: random.Random) -> dict:
  """One damaged copy of the reference, rerun: what happened and its problems."""
  workdir = copy_of_reference(setup, ref, f'damage_{mode}')
  victims = ref['checkpoints'][-2:] if mode == 'garble_two' else ref['checkpoints'][-1:]
  names = [n for s in victims for n in damage_checkpoint(
      os.path.join(workdir, 'checkpoints', str(s)), 'garble' if mode == 'garble_two' else mode,
      rng)]
  setup.log(f'damage {mode}: {len(names)} files of checkpoints {victims} damaged '
            f'{names if len(names) == 1 else ""}; rerunning')
  end = finish(setup, ref, workdir, f'damage {mode}')
  moved_dir = os.path.join(workdir, 'checkpoints.damaged')
  moved = sorted(os.listdir(moved_dir)) if os.path.isdir(moved_dir) else []
  problems = end_problems(end)
  for step in victims:
    if not any(re.fullmatch(rf'{step}\.\d{{8}}-\d{{6}}.*', m) for m in moved):
      problems.append(f'checkpoint {step} not moved to checkpoints.damaged/<step>.<time> '
                      f'(there: {moved})')
  warned = warnings_with(end['output'], 'damaged')
  if end['rc'] == 0 and not warned:
    problems.append('no warning line mentioning "damaged"')
  elif end['rc'] == 0 and len(names) == 1 and not any(names[0] in w for w in warned):
    problems.append(f'the warning does not name the damaged file {names[0]}')
  return {'mode': mode, 'damaged_steps': victims, 'files': len(names),
          'file': names[0] if len(names) == 1 else None, 'rc': end['rc'],
          'moved_aside': moved, 'warnings': warned[:3], 'problems': problems,
          'seconds': end['seconds']}


def case(setup: Setup, ref: dict, modes=DAMAGE_MODES, seed: int = 0) -> dict:
  """Damages the newest checkpoint (or two) of a finished run's copy, then reruns it."""
  t0, rng = time.monotonic(), random.Random(f'damage-{seed}')
  details = [_damage_once(setup, ref, mode, rng) for mode in modes]
  failures = [f'damage {d["mode"]}: {p}' for d in details for p in d['problems']]
  summary = (f'{len(modes)} damaged workdirs ({", ".join(modes)}): '
             + ('each resumed from the newest intact checkpoint, moved the damaged ones aside '
                'and finished identical to the reference' if not failures
                else f'{len(failures)} problems'))
  return case_result('damage', len(modes), failures, details, t0, summary)
