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


def paired(cells: list, name: str, base: str) -> list:
  """Per seed (cells of one N): accuracy of `name` minus that of `base`, same seed."""
  return [c['methods'][name]['accuracy'] - c['methods'][base]['accuracy'] for c in cells
          if name in c['methods'] and base in c['methods']]


def reading(summary: dict, ratios) -> list[str]:
  """Per N, each augmentation against its baseline (classical and GAN-only rows against real
  only, GAN + classical rows against classical alone), as the paired difference over seeds (the
  rows of a seed share its subset and classifier seed): mean ± sample std in points, and in how
  many seeds it was higher. No setting is picked: every ratio is listed."""
  lines = []
  for n in dict.fromkeys(r['per_class'] for r in summary['rows']):
    cells = [c for c in summary['cells'] if c['per_class'] == n]
    if len(cells) < 2:
      lines.append(f'- N = {da.n_label(n)}: one seed, no spread: no reading.')
      continue
    parts = []
    for name in da.methods(ratios)[1:]:
      base = 'real+classical' if name.endswith('+classical') and name != 'real+classical' \
          else 'real'
      d = paired(cells, name, base)
      if not d:
        continue
      mean, std, _ = da.mean_std(d)
      higher = sum(x > 0 for x in d)
      parts.append(f'{name} {100 * mean:+.1f} ± {100 * std:.1f} against '
                   f'{"classical" if base != "real" else "real only"} '
                   f'(higher in {higher} of {len(d)} seeds)')
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
          'training the GANs, the rest generating images and training classifiers), each cell '
          'in one single-core process (the commands above).', '',
          'Reading: each augmentation against its baseline (classical and GAN rows against real '
          'only, GAN + classical rows against classical alone), as the difference in points of '
          'test accuracy paired by seed (mean ± sample std), and in how many seeds it was '
          'higher:', ''] + reading(summary, ratios) + ['']
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
