"""docs/augmentation.md from finished (or partly finished) data-augmentation protocols.

  .venv/bin/python scripts/augmentation_report.py            # or: make augment-docs

Reads runs/augment_mnist and runs/augment_digits (gan_jax/data_augmentation.py writes them:
`make augment`, and `make augment AUGMENT_CONFIG=experiments/augment_digits.py
AUGMENT_WORKDIR=runs/augment_digits`), and writes the tables, the plots (docs/augmentation/
<name>.png), seed 0's final conditional sample grid at each N (docs/augmentation/<name>_n=<N>.png,
one row per class), the wall time, and a reading of the numbers, into the part of
docs/augmentation.md between the markers (the rest of the page is written by hand).
"""
import argparse
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from gan_jax import data_augmentation as da  # noqa: E402
from gan_jax import workdir as workdir_lib  # noqa: E402

PROTOCOLS = (('mnist', 'experiments/augment_mnist.py', 'runs/augment_mnist'),
             ('digits', 'experiments/augment_digits.py', 'runs/augment_digits'))
START, END = '<!-- augmentation results: start -->', '<!-- augmentation results: end -->'
DOCS = os.path.join(ROOT, 'docs')


def reading(summary: dict, ratios) -> list[str]:
  """Per N: real only, classical augmentation and each GAN row against them, in points of test
  accuracy with the seeds' stds; no setting is picked: every ratio is listed."""
  by = {(r['per_class'], r['method']): r for r in summary['rows']}
  lines = []
  for n in dict.fromkeys(r['per_class'] for r in summary['rows']):
    real, classical = by.get((n, 'real')), by.get((n, 'real+classical'))
    if not real or not classical:
      continue
    if real['seeds'] < 2:
      lines.append(f'- N = {da.n_label(n)}: one seed, no spread: no reading.')
      continue
    pts = lambda r: f'{100 * r["mean"]:.1f} ± {100 * r["std"]:.1f}'
    parts = [f'real only {pts(real)}', f'classical {pts(classical)} '
             f'({100 * (classical["mean"] - real["mean"]):+.1f})']
    for name in da.methods(ratios)[2:]:
      r = by.get((n, name))
      if r is None:
        continue
      base = classical if name.endswith('+classical') else real
      spread = max(r['std'], base['std'])
      delta = r['mean'] - base['mean']
      verdict = ('within the spread of seeds' if abs(delta) <= spread else
                 'better' if delta > 0 else 'worse')
      parts.append(f'{name} {pts(r)} ({100 * delta:+.1f} against '
                   f'{"classical" if base is classical else "real only"}, {verdict})')
    lines.append(f'- N = {da.n_label(n)}: ' + '; '.join(parts) + '.')
  return lines


def section(name: str, experiment: str, workdir: str) -> list[str]:
  out = [f'### {name} ({experiment})', '']
  path = os.path.join(ROOT, workdir)
  if not os.path.exists(os.path.join(path, da.CONFIG_FILE)):
    return out + [f'Not run yet: no protocol in {workdir}.', '']
  config = da.load_config(path)  # What the cells ran with, overrides included.
  results = da.finished(config, path)
  if not results:
    return out + [f'Not run yet: no finished cell in {workdir}.', '']
  summary = da.summarize(config, results)
  ratios = config.protocol.ratios
  os.makedirs(os.path.join(DOCS, 'augmentation'), exist_ok=True)
  plot = os.path.join(DOCS, 'augmentation', f'{name}.png')
  with open(plot, 'wb') as f:
    da.plot_png(f, summary, ratios, da.plot_title(config))
  gan_s = sum(r['gan_seconds'] for r in results)
  wall_s = sum(r['wall_seconds'] for r in results)
  out += [f'{len(results)} of {len(da.cells(config))} cells finished (N in '
          f'{[da.n_label(n) for n in config.protocol.per_class]}, seeds {list(config.protocol.seeds)}).'
          f' Test accuracy (%) on the {config.protocol.test_split} split, mean ± sample std '
          '(seeds):', '', da.table_markdown(summary, ratios), '',
          f'![{name}: accuracy against N](augmentation/{name}.png)', '',
          f'Wall time: {wall_s / 60:.0f} min summed over the cells ({gan_s / 60:.0f} min of it '
          'training the GANs, the rest generating and training classifiers), each cell in one '
          'single-core process; two such processes shared the table (`SHARD=0/2`, `1/2`).', '',
          'Reading:', ''] + reading(summary, ratios) + ['']
  grids = []
  for n in config.protocol.per_class:
    cell = da.Cell(n, config.protocol.seeds[0])
    src = workdir_lib.sample_path(os.path.join(ROOT, workdir, cell.name, 'gan'), cell.seed, 1,
                                  config.train.num_steps)
    if os.path.exists(src):
      dst = os.path.join(DOCS, 'augmentation', f'{name}_n={da.n_label(n)}.png')
      shutil.copyfile(src, dst)
      grids.append(f'| N = {da.n_label(n)} | ![](augmentation/{os.path.basename(dst)}) |')
  if grids:
    out += [f'Seed {config.protocol.seeds[0]}\'s conditional GAN at the last step, one row per '
            'class (0 to 9), EMA generator:', '', '| N | samples |', '|---|---|'] + grids + ['']
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', default=os.path.join(DOCS, 'augmentation.md'))
  args = parser.parse_args()
  body = []
  for name, experiment, workdir in PROTOCOLS:
    body += section(name, experiment, workdir)
  with open(args.out) as f:
    page = f.read()
  head, rest = page.split(START)
  _, tail = rest.split(END)
  with open(args.out, 'w') as f:
    f.write(head + START + '\n' + '\n'.join(body) + END + tail)
  print('\n'.join(body))


if __name__ == '__main__':
  main()
