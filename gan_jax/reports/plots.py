"""Plots of results pages, with matplotlib (Agg, no display), written byte for byte the same for
the same numbers and the same matplotlib: no timestamps or software string in the PNG."""
import io

import matplotlib

matplotlib.use('Agg', force=False)
import matplotlib.pyplot as plt  # noqa: E402 -- after choosing the backend.

STYLE = {'font.size': 10, 'axes.titlesize': 11, 'axes.labelsize': 10, 'legend.fontsize': 9,
         'figure.dpi': 100, 'axes.grid': True, 'grid.alpha': 0.3}


def figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.6):
  """(fig, axes list) with the pages' style: each panel width x height inches."""
  with plt.rc_context(STYLE):
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False)
  return fig, list(axes.flat)


def png_bytes(fig) -> bytes:
  """The figure as PNG bytes, without metadata (so equal numbers give equal bytes); closes it."""
  buf = io.BytesIO()
  with plt.rc_context(STYLE):
    fig.tight_layout()
    fig.savefig(buf, format='png', metadata={'Software': None}, bbox_inches='tight')
  plt.close(fig)
  return buf.getvalue()


def errorbar_lines(ax, xs: list, series: dict, xlabel: str, ylabel: str, title: str) -> None:
  """One line per series {label: [(mean, std) or None per x]}, error bars of one std, x at
  evenly spaced positions labelled by xs (categorical, e.g. N = 10, 25, all)."""
  positions = list(range(len(xs)))
  for label, points in series.items():
    at = [(p, m) for p, m in zip(positions, points) if m is not None and m[0] is not None]
    if at:
      ax.errorbar([p for p, _ in at], [m[0] for _, m in at], yerr=[m[1] for _, m in at],
                  marker='o', capsize=3, label=label)
  ax.set_xticks(positions, [str(x) for x in xs])
  ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
  ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def seed_bars(ax, groups: dict, ylabel: str, title: str) -> None:
  """A bar per group {label: [per-seed values]} at the values' mean (None values left out), each
  seed's value a dot on it: the spread the page's ± summarises, seen."""
  for i, (label, values) in enumerate(groups.items()):
    v = [x for x in values if x is not None]
    if not v:
      continue
    ax.bar(i, sum(v) / len(v), color='#9ecae1', edgecolor='#3182bd', width=0.6)
    ax.plot([i] * len(v), v, 'o', color='#08519c', markersize=4)
  ax.set_xticks(range(len(groups)), list(groups), rotation=20, ha='right')
  ax.set(ylabel=ylabel, title=title)
