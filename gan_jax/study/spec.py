"""What a study declares: its runs and its report. Plain frozen dataclasses, no behaviour."""
import dataclasses
from typing import Any, Callable, Optional


@dataclasses.dataclass(frozen=True)
class Run:
  """One run of a study.

  name: unique in the study; its directory under the study's workdir ('ring8_pack1/seed0').
  kind: a run kind of gan_jax/study/kinds.py ('gan', 'lm', 'augmentation', 'ttq_torch', ...).
  config: the experiment file (with ':arg' if any) for kinds that train one; '' otherwise.
  overrides: config fields set on top of the experiment ({'model.pack': 2}).
  seed: the run's seed (config.seed for gan_jax runs); the report's per-seed axis.
  labels: what the report groups and names the run by ({'data': 'ring8', 'method': 'GAN'}).
  args: options of the run kind (e.g. the budgets of a timed run).
  """
  name: str
  kind: str = 'gan'
  config: str = ''
  overrides: dict = dataclasses.field(default_factory=dict)
  seed: int = 0
  labels: dict = dataclasses.field(default_factory=dict)
  args: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Page:
  """A report's output: the markdown page (lines), the numbers it derives from the runs (kept in
  the .json beside the runs' own), and optionally a matplotlib figure for NAME.png."""
  lines: list
  summary: dict = dataclasses.field(default_factory=dict)
  figure: Optional[Any] = None


@dataclasses.dataclass(frozen=True)
class Results:
  """What a report reads: each declared run with its record (None while unfinished), in the
  study's order. A record is {'result': the kind's numbers, 'seconds', 'machine', ...}."""
  runs: list
  records: dict

  def finished(self) -> list:
    return [r for r in self.runs if self.records.get(r.name) is not None]

  def result(self, run: Run) -> Optional[dict]:
    record = self.records.get(run.name)
    return None if record is None else record['result']

  def select(self, **labels) -> list:
    """The finished runs whose labels include these values, in the study's order."""
    return [r for r in self.finished()
            if all(r.labels.get(k) == v for k, v in labels.items())]

  def by_seed(self, **labels) -> dict:
    """{seed: result} of the finished runs with these labels."""
    return {r.seed: self.result(r) for r in self.select(**labels)}


@dataclasses.dataclass(frozen=True)
class Study:
  """name: the page (docs/NAME.md, .json, .png) and the default workdir (runs/studies/NAME).
  runs: the declared runs, in the order they train (seed-major keeps a stopped table balanced).
  report: Results -> Page; a pure function of the records, so the page regenerates from its .json.
  command: the command that makes the page, printed on it.
  assets: optional, workdir -> {path under docs/: file in a run directory}: pictures a page shows
    that come from the runs themselves (sample grids), copied when the study runs (not by
    --report_only, which reads the .json alone).
  shardable: False for a study whose runs must each have the machine alone (wall-clock budgets):
    --shard is refused."""
  name: str
  runs: list
  report: Callable[[Results], Page]
  command: str
  assets: Optional[Callable[[str], dict]] = None
  shardable: bool = True
