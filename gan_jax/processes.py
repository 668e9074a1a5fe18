"""The processes of a multi-process run agreeing with each other, with timeouts.

`share` gives every process every process's value at a point of agreement, through
jax.distributed's key-value store (as orbax's barriers do), so a process that failed or died
makes the others fail with one ProcessError after a timeout instead of waiting forever;
`on_process_0` runs a step on process 0 alone (taking the workdir's lock, moving a damaged
checkpoint aside) while the others wait for its outcome. With one process both are plain calls.
"""
import collections
from typing import Any, Callable

import jax
import orbax.checkpoint as ocp

from gan_jax import errors

AGREE_TIMEOUT_S = 600  # How long a process waits for the others at a point of agreement.


class ProcessError(errors.UserError, RuntimeError):
  """Another process of the run failed or stopped answering; the message names it."""


_ROUNDS = collections.Counter()  # Per tag: every process makes the same calls in the same order.


def share(tag: str, value: str, timeout_s: float = AGREE_TIMEOUT_S) -> list:
  """Every process's `value` (a string), by process index; a barrier of all processes. Through
  jax.distributed's key-value store (as orbax's barriers), so a process that failed or died
  makes the others fail with ProcessError after `timeout_s` instead of waiting forever."""
  if jax.process_count() == 1:
    return [value]
  _ROUNDS[tag] += 1
  key = f'gan_jax/{tag}/{_ROUNDS[tag]}'
  client = ocp.multihost.get_jax_distributed_client()
  client.key_value_set(f'{key}/{jax.process_index()}', 'v' + value)  # Never an empty value.
  values = []
  for i in range(jax.process_count()):
    try:
      values.append(client.blocking_key_value_get(f'{key}/{i}', int(timeout_s * 1000))[1:])
    except Exception as e:  # jaxlib's runtime error: a deadline or a lost coordinator.
      raise ProcessError(
          f'Process {jax.process_index()} got no answer from process {i} at "{tag}" within '
          f'{timeout_s:.0f} s ({str(e)[:200]}); that process failed or hangs: see its log, stop '
          'every process of the run and rerun them.') from e
  return values


def on_process_0(tag: str, fn: Callable[[], Any]) -> Any:
  """fn() on process 0 alone while the others wait for it; its result there (None on the
  others). Its error is raised on process 0 and, as a ProcessError naming it, on every other
  process: none goes on past a step process 0 could not take, and none waits for it forever."""
  result = None
  if jax.process_index() == 0:
    try:
      result = fn()
    except BaseException as e:
      try:
        share(tag, f'{type(e).__name__}: {e}')
      except ProcessError:
        pass  # The others are gone too: this error is the one to show.
      raise
  outcome = share(tag, '')[0]
  if outcome:
    raise ProcessError(f'Process 0 of the run stopped at "{tag}", so process '
                       f'{jax.process_index()} stops too: {outcome}')
  return result
