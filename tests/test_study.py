"""The study engine: shards, locks and work stealing, records kept and reused, config hashes,
and every committed page regenerated from its .json alone, byte for byte."""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from gan_jax import configs
from gan_jax.reports import pages
from gan_jax.study import Run, Study, engine, kinds, spec
from gan_jax.study import __main__ as cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDIES = sorted(glob.glob(os.path.join(REPO, 'experiments', 'studies', '*.py')))


def fake_kind(log: list):
  """A kind that 'trains' by writing done.json with value = seed * 10 (and logs the run)."""
  def train(run, run_dir):
    log.append(run.name)
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, 'done.json'), 'w') as f:
      json.dump({'value': run.seed * 10}, f)

  def result(run, run_dir):
    return kinds.read_json(os.path.join(run_dir, 'done.json'))
  return kinds.Kind(config=lambda run: None, train=train, result=result)


def mean_report(results: spec.Results) -> spec.Page:
  values = [results.result(r)['value'] for r in results.finished()]
  return spec.Page(lines=['# fake', f'values {values}'], summary={'sum': sum(values)})


@pytest.fixture
def fake_study(monkeypatch):
  log = []
  kind = fake_kind(log)
  real_get = kinds.get
  monkeypatch.setattr(kinds, 'get', lambda name: kind if name == 'fake' else real_get(name))
  runs = [Run(name=f'r/seed{s}', kind='fake', seed=s, labels={'g': s % 2}) for s in range(5)]
  return Study(name='fake', runs=runs, report=mean_report, command='test'), log


def test_queue_puts_this_shards_runs_first_then_the_rest():
  runs = list('abcde')
  assert engine.queue(runs, '1/2') == ['b', 'd', 'a', 'c', 'e']
  assert engine.queue(runs, None) == runs
  with pytest.raises(configs.ConfigError):
    engine.queue(runs, '2/2')


def test_work_trains_each_run_once_and_reuses_finished_ones(fake_study, tmp_path):
  study, log = fake_study
  assert engine.work(study, str(tmp_path), None, {}) == 5
  assert engine.work(study, str(tmp_path), '0/2', {}) == 0
  assert log == [f'r/seed{s}' for s in range(5)]
  records = engine.collect(study, str(tmp_path), {})
  assert [records[f'r/seed{s}']['result']['value'] for s in range(5)] == [0, 10, 20, 30, 40]


def test_a_run_locked_by_another_process_is_skipped_then_taken_over(fake_study, tmp_path):
  study, log = fake_study
  with engine.run_lock(engine.run_dir(str(tmp_path), study.runs[0])) as held:
    assert held
    with engine.run_lock(engine.run_dir(str(tmp_path), study.runs[0])) as again:
      assert not again  # flock is per open file: a second holder is refused.
    engine.work(study, str(tmp_path), '1/2', {})
  assert sorted(log) == [f'r/seed{s}' for s in range(1, 5)]  # seed0 held elsewhere.
  engine.work(study, str(tmp_path), '1/2', {})  # Released: now taken over.
  assert log[-1] == 'r/seed0'


def test_records_in_the_saved_json_are_not_trained_again(fake_study, tmp_path):
  study, log = fake_study
  saved = {'r/seed3': {'config_hash': engine.config_hash(study.runs[3]), 'result': {'value': 7},
                       'machine': 'elsewhere', 'versions': {}}}
  engine.work(study, str(tmp_path), None, saved)
  assert 'r/seed3' not in log
  assert engine.collect(study, str(tmp_path), saved)['r/seed3']['result'] == {'value': 7}
  saved['r/seed3']['config_hash'] = 'another config'
  engine.work(study, str(tmp_path / 'b'), None, saved)
  assert log.count('r/seed3') == 1  # A record made under another config is retrained.


def test_a_failing_run_is_reported_and_the_others_go_on(fake_study, tmp_path, monkeypatch):
  study, log = fake_study
  kind = kinds.get('fake')

  def train(run, run_dir):
    if run.seed == 2:
      raise RuntimeError('boom')
    kind.train(run, run_dir)
  broken = kinds.Kind(config=kind.config, train=train, result=kind.result)
  monkeypatch.setattr(kinds, 'get', lambda name: broken)
  with pytest.raises(engine.StudyError, match='1 runs failed: r/seed2'):
    engine.work(study, str(tmp_path), None, {})
  assert len(log) == 4


def test_config_hash_follows_training_fields_not_cadences():
  run = Run(name='a', config='experiments/ring8.py', overrides={'train.num_steps': 100})
  same = Run(name='b', config='experiments/ring8.py',
             overrides={'train.num_steps': 100, 'train.log_every': 7, 'train.ckpt_every': 9})
  other = Run(name='c', config='experiments/ring8.py', overrides={'train.num_steps': 101})
  assert engine.config_hash(run) == engine.config_hash(same)
  assert engine.config_hash(run) != engine.config_hash(other)
  assert engine.config_hash(run) != engine.config_hash(Run(name='d', config='experiments/ring8.py',
                                                           overrides={'train.num_steps': 100},
                                                           seed=1))


def test_unknown_kind_duplicate_names_and_missing_files_fail_before_training(tmp_path):
  with pytest.raises(configs.ConfigError, match="Unknown run kind 'nope'"):
    engine.check(Study(name='x', runs=[Run(name='a', kind='nope')], report=None, command=''))
  twice = [Run(name='a', config='experiments/ring8.py')] * 2
  with pytest.raises(configs.ConfigError, match='used twice'):
    engine.check(Study(name='x', runs=twice, report=None, command=''))
  with pytest.raises(configs.ConfigError, match='no such experiment file'):
    engine.check(Study(name='x', runs=[Run(name='a', config='experiments/nope.py')],
                       report=None, command=''))
  assert cli.main([str(tmp_path / 'nope.py')]) == 2


def test_pages_are_a_pure_function_of_the_records(fake_study, tmp_path):
  study, _ = fake_study
  engine.work(study, str(tmp_path / 'runs'), None, {})
  records = engine.collect(study, str(tmp_path / 'runs'), {})
  docs = str(tmp_path / 'docs')
  cli.report(study, records, docs)
  first = {p: open(os.path.join(docs, p), 'rb').read() for p in os.listdir(docs)}
  saved = pages.saved_records(pages.read(docs, 'fake'))
  assert saved == {k: v for k, v in records.items() if v is not None}
  cli.report(study, {r.name: saved.get(r.name) for r in study.runs}, docs)
  assert first == {p: open(os.path.join(docs, p), 'rb').read() for p in os.listdir(docs)}
  assert json.loads(first['fake.json'])['summary'] == {'sum': 100}
  assert '5 of 5 runs finished' in first['fake.md'].decode()


@pytest.mark.parametrize('path', STUDIES, ids=[os.path.basename(p)[:-3] for p in STUDIES])
def test_every_committed_page_regenerates_byte_for_byte_from_its_json(path, tmp_path):
  """`--report_only` from the committed .json alone (no runs/) gives the committed page."""
  study = engine.load(path)
  committed = [p for p in (os.path.join(REPO, 'docs', f'{study.name}.{e}')
                           for e in ('md', 'json', 'png')) if os.path.exists(p)]
  if not any(p.endswith('.json') for p in committed):
    if study.name.startswith('gpu_'):  # Made on a device only (make gpu-check): none yet.
      pytest.skip(f'{study.name} has no page yet: it runs on a GPU (make gpu-check).')
    pytest.fail(f'{study.name} has no committed .json')
  for p in committed:
    shutil.copy(p, tmp_path)
  assert cli.main([path, '--report_only', '--docs_dir', str(tmp_path)]) == 0
  for p in committed:
    with open(p, 'rb') as a, open(tmp_path / os.path.basename(p), 'rb') as b:
      assert a.read() == b.read(), f'{os.path.basename(p)} differs from its regeneration'
  records = json.load(open(os.path.join(REPO, 'docs', f'{study.name}.json')))['runs']
  assert records and all('result' in r and 'config_hash' in r for r in records.values())


def test_the_cli_refuses_shard_with_report_only():
  r = subprocess.run([sys.executable, '-m', 'gan_jax.study', 'experiments/studies/pacgan.py',
                      '--shard', '0/2', '--report_only'], cwd=REPO, capture_output=True, text=True)
  assert r.returncode == 2 and 'do not go together' in r.stderr


def test_collect_only_writes_the_page_of_the_finished_runs_and_trains_nothing(fake_study, tmp_path,
                                                                             monkeypatch):
  study, log = fake_study
  engine.work(Study(name='fake', runs=study.runs[:2], report=mean_report, command=''),
              str(tmp_path / 'runs'), None, {})
  monkeypatch.setattr(engine, 'load', lambda path, arg=None: study)
  assert cli.main(['x.py', '--collect_only', '--workdir', str(tmp_path / 'runs'),
                   '--docs_dir', str(tmp_path / 'docs')]) == 0
  assert len(log) == 2  # Nothing more trained.
  assert '2 of 5 runs finished' in (tmp_path / 'docs' / 'fake.md').read_text()


def test_only_trains_the_runs_it_names_then_writes_the_page_of_the_finished(fake_study, tmp_path,
                                                                          monkeypatch):
  study, log = fake_study
  monkeypatch.setattr(engine, 'load', lambda path, arg=None: study)
  dirs = ['--workdir', str(tmp_path / 'runs'), '--docs_dir', str(tmp_path / 'docs')]
  assert cli.main(['x.py', '--only', 'r/seed1, r/seed[34]', *dirs]) == 0
  assert sorted(log) == ['r/seed1', 'r/seed3', 'r/seed4']
  assert '3 of 5 runs finished' in (tmp_path / 'docs' / 'fake.md').read_text()
  assert cli.main(['x.py', '--only', 'r/seed9,r/seed0', *dirs]) == 1  # One pattern matches none.
  assert len(log) == 3  # Refused before anything trained.
  with pytest.raises(SystemExit):
    cli.parse_args(['x.py', '--only', 'a', '--collect_only'])


@pytest.mark.slow
def test_pacgan_runlocal_study_runs_end_to_end_in_two_shards(tmp_path):
  """Two shard processes share the workdir; the page lists every run once."""
  cmd = [sys.executable, '-m', 'gan_jax.study', 'experiments/studies/pacgan.py:runlocal',
         '--workdir', str(tmp_path / 'runs'), '--docs_dir', str(tmp_path / 'docs')]
  procs = [subprocess.Popen(cmd + ['--shard', f'{i}/2'], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True) for i in range(2)]
  outs = [p.communicate()[0] for p in procs]
  assert all(p.returncode == 0 for p in procs), outs
  trained = sum(o.count(': training\n') for o in outs)
  assert trained == 4, outs  # Each of the four runs trained by exactly one shard.
  r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
  assert r.returncode == 0, r.stdout + r.stderr
  page = open(tmp_path / 'docs' / 'pacgan_runlocal.md').read()
  assert '4 of 4 runs finished' in page and '| ring8 | PacGAN2 | 1 |' in page


def test_a_run_that_trains_but_leaves_no_result_is_a_failure(fake_study, tmp_path, monkeypatch):
  study, log = fake_study
  kind = kinds.get('fake')
  silent = kinds.Kind(config=kind.config, train=lambda run, d: os.makedirs(d, exist_ok=True),
                      result=kind.result)
  monkeypatch.setattr(kinds, 'get', lambda name: silent)
  with pytest.raises(engine.StudyError, match='5 runs failed'):
    engine.work(study, str(tmp_path), None, {})


def test_records_keep_the_machine_of_the_process_that_trained(fake_study, tmp_path):
  study, _ = fake_study
  engine.work(study, str(tmp_path), None, {})
  path = os.path.join(engine.run_dir(str(tmp_path), study.runs[0]), engine.PROVENANCE)
  with open(path, 'w') as f:
    json.dump({'machine': 'the trainer', 'versions': {'jax': 'x'}}, f)
  record = engine.collect(study, str(tmp_path), {})[study.runs[0].name]
  assert record['machine'] == 'the trainer' and record['versions'] == {'jax': 'x'}


def test_report_only_refuses_an_empty_page_and_records_of_another_config(tmp_path):
  pacgan = os.path.join(REPO, 'experiments', 'studies', 'pacgan.py')
  assert cli.main([pacgan, '--report_only', '--docs_dir', str(tmp_path)]) == 1
  assert not os.listdir(tmp_path)  # Nothing written.
  payload = json.load(open(os.path.join(REPO, 'docs', 'pacgan.json')))
  first = next(iter(payload['runs']))
  payload['runs'][first]['config_hash'] = 'another'
  (tmp_path / 'pacgan.json').write_text(pages.json_text(payload))
  assert cli.main([pacgan, '--report_only', '--docs_dir', str(tmp_path)]) == 1
  assert sorted(os.listdir(tmp_path)) == ['pacgan.json']
  del payload['runs'][first]['result']
  (tmp_path / 'pacgan.json').write_text(pages.json_text(payload))
  assert cli.main([pacgan, '--report_only', '--docs_dir', str(tmp_path)]) == 1


def test_a_timed_study_refuses_shards():
  assert cli.main([os.path.join(REPO, 'experiments', 'studies', 'ttq.py'), '--shard', '0/2']) == 2
