"""The protocol's table and plot over finished cells: mean ± sample std over seeds, by N and method
(workdir/results.json, results.md, results.png of `python -m gan_jax.main --mode=augment`)."""
import os

from gan_jax import atomic_files
from gan_jax.applications.augmentation.protocol import methods, n_label
from gan_jax.reports import plots
from gan_jax.reports.stats import mean_std


def summarize(config, results: list) -> dict:
  """{'rows': [{per_class, method, mean, std, seeds}], ...}: every finished cell's numbers, by N
  and method, over seeds."""
  rows = []
  for n in config.protocol.per_class:
    done = [r for r in results if r['per_class'] == n]
    for name in methods(config.protocol.ratios) + ['gan_test']:
      values = [r['gan_test'] if name == 'gan_test' else r['methods'][name]['accuracy']
                for r in done if (name == 'gan_test' and 'gan_test' in r) or
                name in r.get('methods', {})]
      if values:
        mean, std, count = mean_std(values)
        rows.append({'per_class': n, 'method': name, 'mean': mean, 'std': std, 'seeds': count})
  return {'rows': rows, 'cells': results}


def table_markdown(summary: dict, ratios) -> str:
  """Test accuracy (%) per method (rows) and N (columns): mean ± sample std (seeds)."""
  ns = list(dict.fromkeys(r['per_class'] for r in summary['rows']))
  head = [n_label(n) for n in ns]
  lines = ['| method | ' + ' | '.join(f'N = {h}' for h in head) + ' |',
           '|---|' + '---|' * len(ns)]
  cell = {(r['per_class'], r['method']): r for r in summary['rows']}
  for name in methods(ratios) + ['gan_test']:
    values = [cell.get((n, name)) for n in ns]
    lines.append(f'| {name} | ' + ' | '.join(
        '—' if v is None else f'{100 * v["mean"]:.1f} ± {100 * v["std"]:.1f} ({v["seeds"]})'
        for v in values) + ' |')
  return '\n'.join(lines)


def plot_png(f, summary: dict, ratios, title: str) -> None:
  """Test accuracy against N (evenly spaced, in protocol order), a line per method with the
  seeds' std as error bars (matplotlib), into the binary file f."""
  fig, (ax,) = plots.figure(width=6.5, height=4.0)
  add_panel(ax, summary, ratios, title)
  f.write(plots.png_bytes(fig))


def add_panel(ax, summary: dict, ratios, title: str) -> None:
  """One data set's accuracy-against-N lines on a matplotlib axis (for pages with several)."""
  rows = [r for r in summary['rows'] if r['method'] != 'gan_test']
  ns = list(dict.fromkeys(r['per_class'] for r in rows))
  cell = {(r['per_class'], r['method']): r for r in rows}
  series = {m: [(100 * cell[(n, m)]['mean'], 100 * cell[(n, m)]['std'])
                if (n, m) in cell else None for n in ns]
            for m in methods(ratios) if any(r['method'] == m for r in rows)}
  plots.errorbar_lines(ax, [f'N = {n_label(n)}' for n in ns], series,
                       'labelled examples per class', 'test accuracy (%)', title)


def plot_title(config) -> str:
  return f'{config.data.source}: test accuracy, mean ± std over seeds'


def write_results(config, workdir: str, results: list) -> dict:
  """workdir/results.json, results.md and results.png from the finished cells."""
  summary = summarize(config, results)
  ratios = config.protocol.ratios
  title = plot_title(config)
  atomic_files.write_json(os.path.join(workdir, 'results.json'), summary, indent=1)
  atomic_files.write_text(os.path.join(workdir, 'results.md'), '\n'.join([
      f'Test accuracy (%) on {config.data.source}\'s {config.protocol.test_split} split: mean ± '
      'sample std (seeds).', '', table_markdown(summary, ratios), '']))
  atomic_files.write_atomically(os.path.join(workdir, 'results.png'),
                                lambda f: plot_png(f, summary, ratios, title), 'wb')
  return summary


