"""docs/reliability.md: a pure function of docs/reliability.json (the record of a chaos run)."""
import json
import os
import re

from tests.chaos.digest_cost import digest_sentence

GUARANTEES = """\
What gan_jax guarantees about a workdir, and which case below checks it:

- **Killed at any moment** (SIGKILL, preemption), start-up included: rerunning the same command
  resumes from the last checkpoint and ends bit for bit like an uninterrupted run: every
  metrics.jsonl value but `steps_per_s`, every sample picture, eval.json. A killed run's lock is
  taken over by the rerun (with a warning). *kills*
- **A damaged checkpoint** (files truncated or overwritten, or 16 bytes of any one file
  zeroed) is moved to `checkpoints.damaged/<step>.<time>` with one warning naming the step and
  the file, and the run resumes from the newest one that restores; nothing is deleted. Orbax
  keeps no checksum of array data, so gan_jax writes sha256 digests with every checkpoint (of
  every array: parameters, optimizer states, EMA, in orbax's step metadata; of every file, in
  `gan_jax_manifest.json`) and checks them at restore; a checkpoint written before the digests
  restores unverified, with a warning. In a run of several processes every process checks the
  same checkpoint and all agree on the step restored (tests/test_workdir.py, 2 processes). *damage*
- **A torn last line of metrics.jsonl** (a kill or a full disk mid-write) is dropped on resume
  with a warning; the lines before it are kept. *torn*
- **A full disk** during a checkpoint, metrics, picture or evaluation write ends the run with one
  line `No space left ...` naming the step and the last checkpoint kept (exit status 1); after
  space is freed the same command resumes and finishes. *full_disk*
- **One run per workdir**: a second run of a workdir in use exits at once with status 1 and one
  line naming the holder (host, pid, since when), writing nothing; the first is untouched. In a
  run of several processes process 0 takes the lock (a dead run's taken over) while the others
  wait, and all stop when it cannot (tests/test_workdir.py). *second*
- **A bad command line** is answered in one line, exit status 1, no traceback, naming the valid
  choices, before anything is written. *cli*
"""
NAMES = ('reliability.json', 'reliability.md')


def write(p: dict, out_dir: str) -> tuple:
  """Writes reliability.json (the record), then reliability.md from it, into out_dir: their
  paths (md, json)."""
  json_path = os.path.join(out_dir, NAMES[0])
  with open(json_path, 'w') as f:
    json.dump(p, f, indent=1)
    f.write('\n')
  return rewrite(out_dir), json_path


def rewrite(out_dir: str) -> str:
  """Rewrites out_dir/reliability.md from out_dir/reliability.json alone; its path."""
  json_path, md_path = (os.path.join(out_dir, name) for name in NAMES)
  with open(json_path) as f:
    p = json.load(f)
  with open(md_path, 'w') as f:
    f.write(markdown(p))
  return md_path


def _header(p: dict) -> list:
  m = p['machine']
  return [
      '# Reliability: killed, damaged, full and shared workdirs',
      '',
      f'Measured by `{p["command"]}` (`make chaos`); this page is written from '
      'docs/reliability.json alone (tests/chaos/page.py; `python -m tests.chaos --report_only` '
      f'rewrites it); do not edit by hand. '
      f'Seed {p["seed"]}; {p["wall_s"] / 60:.1f} minutes on {m["cores"]} x {m["cpu"]} '
      f'({m["platform"]}; Python {m["python"]}, JAX {m["jax"]}, orbax {m["orbax"]}; commit '
      f'{m["commit"]}; load average {m["load_average_at_start"][0]} at the start, '
      f'{m["load_average_at_end"][0]} at the end).',
      '',
      f'**{"Every case held." if p["held"] else "NOT every case held: see the failures below."}**',
      '',
      GUARANTEES,
      f'Each case runs `python {p["run"]}` and compares every run it finishes with an '
      f'uninterrupted run of that command (the reference: {p["reference"]["seconds"]:.0f} s, '
      f'checkpoints {p["reference"]["checkpoints"]} kept): every metrics.jsonl value but '
      '`steps_per_s`, every sample PNG (bytes), eval.json and config.json (bytes) and the steps '
      'in checkpoints/. The relaunches share a JAX compilation cache written by the reference '
      'run alone.',
      '',
  ]


def markdown(p: dict) -> str:
  """The page: the guarantees, a table of the cases, then each case's section."""
  lines = _header(p) + ['| case | tries | result | what held |', '|---|---|---|---|']
  for r in p['cases']:
    lines.append(f'| {r["case"]} | {r["tries"]} | {r["status"].upper()} | {r["summary"]} |')
  for r in p['cases']:
    lines += ['', f'## {r["case"]} ({r["status"]}, {r["seconds"]:.0f} s)', '', r['summary'], '']
    lines += CASE_LINES.get(r['case'], lambda r: [])(r)
    if r['failures']:
      lines += ['', 'Failures:', '']
      lines += ['```'] + [f.replace('```', "'''") for f in r['failures']] + ['```']
  if p.get('digest_cost'):
    lines += ['', '## The cost of the digests', '',
              'Measured by the same command, in a child process of its own (its '
              '`--digest-cost-child DIR N`; tests/chaos/digest_cost.py), on the machine above: '
              + digest_sentence(p['digest_cost'])]
  return '\n'.join(lines) + '\n'


def _kills_lines(r: dict) -> list:
  rows = ['| # | workdir | kind | at (s after launch) | landed in | workdir held |',
          '|---|---|---|---|---|---|']
  n = 0
  for rnd in r['details']:
    for k in rnd['kills']:
      n += 1
      rows.append(f'| {n} | {rnd["round"]} | {k["kind"]} | {k["at_s"]} | {k["phase"]} | '
                  f'{_entries(k["workdir_had"], k["checkpoints"])} |')
  left = sorted({x for rnd in r['details'] for x in rnd['leftovers']})
  t = r['timing']
  return rows + ['', f'Kinds: claim = within {t["claim_window_s"]} s of the first file '
                 'appearing in a fresh workdir; launch = '
                 f'{"-".join(map(str, t["launch_window_s"]))} s after launch; training = up to '
                 f'{t["training_jitter_s"]} s after a random logged step (a relaunch with no '
                 'step left to train is killed in its evaluation instead); evaluation = during '
                 'the final evaluation. "landed in" is read from the killed process\'s output.'
                 + (f' Left behind by kills (temporary files or unfinished checkpoints, '
                    f'read by no run): {left}.' if left else ' Nothing was left behind (no '
                    'temporary files, no unfinished checkpoints).')]


def _cli_lines(r: dict) -> list:
  return ['| command line | exit | s | the answer |', '|---|---|---|---|'] + [
      f'| `{x["flags"]}` | {x["rc"]} | {x["seconds"]} | {_cell(x["error"])} |'
      for x in r['details']]


def _second_lines(r: dict) -> list:
  return ['| second run launched | exit | s | its answer |', '|---|---|---|---|'] + [
      f'| {x["moment"]} | {x.get("rc")} | {x.get("seconds")} | {_cell(x.get("line", ""))} |'
      for x in r['details']]


def _full_disk_lines(r: dict) -> list:
  if r['skipped_reason']:
    return [r['skipped_reason']]
  return ['| mode | tmpfs | filled after step | exit | the answer | rerun exit |',
          '|---|---|---|---|---|---|'] + [
      f'| {x["mode"]} | {x["tmpfs_bytes"] >> 10} KiB | {x["filled_after_step"]} | {x["rc"]} | '
      f'{_cell(x["error"])} | {x["rerun_rc"]} |' for x in r['details']]


def _damage_lines(r: dict) -> list:
  return ['| mode | checkpoints damaged | files | rerun exit | moved aside | warning |',
          '|---|---|---|---|---|---|'] + [
      f'| {x["mode"]} | {x["damaged_steps"]} | {x.get("file") or x["files"]} | {x["rc"]} | '
      f'{", ".join(x["moved_aside"])} | {_cell(" / ".join(x["warnings"]))} |'
      for x in r['details']]


def _torn_lines(r: dict) -> list:
  return ['| run | torn line kept | rerun exit | warning |', '|---|---|---|---|'] + [
      f'| {x["mode"]} | {x["torn_chars"]} of {x["line_chars"]} characters | {x["rc"]} | '
      f'{_cell(" / ".join(x["warnings"]))} |' for x in r['details']]


CASE_LINES = {'kills': _kills_lines, 'cli': _cli_lines, 'second': _second_lines,
              'full_disk': _full_disk_lines, 'damage': _damage_lines, 'torn': _torn_lines}


def _entries(names: list, steps: list) -> str:
  """A workdir's top entries, its TensorBoard files counted, its checkpoint steps named."""
  events = sum(n.startswith('events.out.tfevents') for n in names)
  shown = [f'checkpoints {steps}' if n == 'checkpoints' else n for n in names
           if not n.startswith('events.out.tfevents')]
  return ', '.join(shown + ([f'{events} TensorBoard files'] if events else [])) or '(nothing)'


def _cell(text: str) -> str:
  """A table cell: the log prefix dropped, pipes escaped, one line, at most 400 characters."""
  text = re.sub(r'^[EWIF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] ', '', text or '')
  return text.replace('|', '\\|').replace('\n', ' ')[:400]
