"""Studies: many runs declared in one file, run, resumed and reported by one engine.

  python -m gan_jax.study experiments/studies/pacgan.py [--shard i/n] [--report_only]

A study file defines `get_study(arg=None) -> Study`: its runs (each a run kind, an experiment
file, overrides, a seed and the labels its report groups by) and its report (a function from the
finished runs to a page). The engine (engine.py) trains the runs that are not finished, each in
its own directory under the study's workdir with a lock, so that shards split them and take over
each other's remainders, and writes docs/NAME.md, .json and .png. The .json keeps every run's
numbers, so `--report_only` rewrites the page from it alone, byte for byte.
"""
from gan_jax.study.spec import Page, Results, Run, Study

__all__ = ['Page', 'Results', 'Run', 'Study']
