"""The shared training loop (gan_jax/train.py) driving a task of closed form: a counter whose
state x after n steps is 1 + 2 + ... + n = n (n + 1) / 2. Its cadences and their order, what the
loop writes for it, its resume, and its non-finite check with the task's own fix."""
import json
import os

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import checkpoint as checkpoint_lib
from gan_jax import configs
from gan_jax import logbook
from gan_jax import train
from gan_jax import writers


@flax.struct.dataclass
class CounterState:
  step: jax.Array
  x: jax.Array


class Stop(Exception):
  pass


class Counter:
  """x += batch, the batch of step t (0-based) being t + 1 (NaN from `nan_from`); every hook
  records its call."""
  seeds, steps_per_call, vocab_json, nonfinite_fix = [7], 1, None, 'Lower counter.rate'

  def __init__(self, evaluating=True, nan_from=None, stop_at=None):
    self.evaluating, self.nan_from, self.stop_at = evaluating, nan_from, stop_at
    self.calls, self.asked = [], []

  def initial_state(self):
    return CounterState(step=jnp.zeros((), jnp.int32), x=jnp.zeros((), jnp.float32))

  def update_fn(self):
    def update(state, batch):
      x = state.x + batch
      return CounterState(step=state.step + 1, x=x), {'x': x.reshape(1, 1)}
    return jax.jit(update, donate_argnums=0)

  def device_batch(self, step):
    if step == self.stop_at:
      raise Stop()
    self.asked.append(step)
    return np.float32(np.nan if self.nan_from is not None and step >= self.nan_from else step + 1)

  def log_start(self, start, workdir):
    self.calls.append(('start', start))

  def log(self, out, step, summaries, rate, state):
    self.calls.append(('log', step, summaries))
    out.scalars(step, summaries, rate)

  def samples(self, out, step, state):
    self.calls.append(('samples', step))
    out.sample(step, 7, f'x = {float(state.x)}\n')

  def evaluate(self, out, step, state):
    self.calls.append(('evaluate', step, float(state.x)))
    return {}


def counter_config(**train_fields):
  config = configs.base_config()
  config.train.update({'num_steps': 6, 'log_every': 2, 'sample_every': 3, 'ckpt_every': 4,
                       **train_fields})
  return config


def x_after(n: int) -> float:
  return n * (n + 1) / 2


def test_cadences_run_in_order_and_write_through_the_shared_outputs(tmp_path):
  workdir = str(tmp_path / 'run')
  task, state = train.run(counter_config(), workdir, Counter)
  assert float(state.x) == x_after(6) and int(state.step) == 6
  # Logs are the mean of x over the steps since the last log: (1 + 3) / 2, (6 + 10) / 2, ...
  assert task.calls == [('start', 0), ('log', 2, {7: {'x': 2.0}}), ('samples', 3),
                        ('log', 4, {7: {'x': 8.0}}), ('log', 6, {7: {'x': 18.0}}),
                        ('samples', 6), ('evaluate', 6, x_after(6))]
  assert task.asked == [0, 1, 2, 3, 4, 5]  # Each batch once, the next while the update runs.
  records = writers.read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
  assert [(r['step'], r['seed'], r['x']) for r in records] == [(2, 7, 2.0), (4, 7, 8.0),
                                                                (6, 7, 18.0)]
  assert all(r['steps_per_s'] > 0 for r in records)
  with open(os.path.join(workdir, 'samples', 'step_0000003.txt')) as f:
    assert f.read() == f'x = {x_after(3)}\n'
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  assert ckpt.all_steps() == [4, 6]
  ckpt.close()
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['train']['num_steps'] == 6
  assert not os.path.exists(os.path.join(workdir, '.lock'))


def test_a_stopped_run_resumes_from_its_checkpoint_and_equals_an_uninterrupted_one(tmp_path):
  config = counter_config(ckpt_every=2, sample_every=6)
  with pytest.raises(Stop):
    train.run(config, str(tmp_path / 'stopped'), lambda: Counter(stop_at=3))
  task, state = train.run(config, str(tmp_path / 'stopped'), Counter)
  assert task.calls[0] == ('start', 2) and task.asked == [2, 3, 4, 5]
  assert float(state.x) == x_after(6)
  _, full = train.run(config, str(tmp_path / 'full'), Counter)
  strip = lambda d: [{k: v for k, v in r.items() if k != 'steps_per_s'}
                     for r in writers.read_jsonl(str(tmp_path / d / 'metrics.jsonl'))]
  assert strip('stopped') == strip('full') and float(full.x) == float(state.x)
  task, _ = train.run(config, str(tmp_path / 'full'), Counter)  # Finished: nothing runs.
  assert task.calls == [('start', 6)] and task.asked == []


def test_a_non_finite_metric_stops_naming_the_step_and_the_task_s_fix(tmp_path):
  workdir = str(tmp_path / 'run')
  config = counter_config(ckpt_every=2, sample_every=6)
  with pytest.raises(logbook.NonFiniteError,
                     match=r'Non-finite x at step 5 \(seed 7\) \(x=nan\); the last good checkpoint, '
                     r'step 4, is kept\. Lower counter\.rate, then rerun'):
    train.run(config, workdir, lambda: Counter(nan_from=4))
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, 'checkpoints'))
  assert ckpt.all_steps() == [2, 4]
  ckpt.close()
  records = writers.read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
  assert [r['step'] for r in records] == [2, 4]  # Nothing logged from the bad steps.
