"""Small predicates of the config checks (each section's `problems(config)`): shared so that every
section says 'an integer' and 'a number' the same way (a bool is neither)."""
import numbers
from typing import Iterable


def is_int(v) -> bool:
  return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_real(v) -> bool:
  return isinstance(v, numbers.Real) and not isinstance(v, bool)


def failed(checks: Iterable[tuple[bool, str]]) -> list[str]:
  """The messages of the (ok, message) checks that are not ok, in order."""
  return [message for ok, message in checks if not ok]
