"""Checks of method options: one small function per kind, each raising `MethodParamError`.

Constructors call these, so a method built directly (``PCGrad(n_tasks=3)``) is validated the
same way as one built by `paretosweep.methods.create`, which only adds the field path
(``methods[2].alpha``) to the message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from paretosweep.errors import ConfigError


class MethodParamError(ConfigError):
    """A method option has the wrong type or lies outside its range.

    Attributes:
        param: the option name, or its full field path once `at` was called.
        expected: what the option should be, as a phrase ("a number >= 0").
        found: the value that was given.
    """

    def __init__(self, param: str, expected: str, found: Any) -> None:
        self.param = param
        self.expected = expected
        self.found = found
        super().__init__(f"`{param}` should be {expected}. Found `{param} = {found!r}`.")

    def at(self, prefix: str) -> MethodParamError:
        """The same error with the field path ``f"{prefix}.{param}"``."""
        field = f"{prefix}.{self.param}" if prefix else self.param
        return MethodParamError(field, self.expected, self.found)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_float(
    name: str,
    value: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> float:
    """Return ``float(value)`` if it is a finite real number within the given bounds."""
    limits = ((">=", ge), (">", gt), ("<=", le), ("<", lt))
    bounds = [f"{op} {b:g}" for op, b in limits if b is not None]
    expected = "a number " + " and ".join(bounds) if bounds else "a finite number"
    if not _is_number(value) or not math.isfinite(value):
        raise MethodParamError(name, expected, value)
    v = float(value)
    outside = (ge is not None and v < ge) or (gt is not None and v <= gt) or (le is not None and v > le) or (lt is not None and v >= lt)
    if outside:
        raise MethodParamError(name, expected, value)
    return v


def check_int(name: str, value: Any, *, ge: int | None = None, le: int | None = None) -> int:
    """Return ``value`` if it is an integer (not a bool) within ``[ge, le]``."""
    bounds = [f"{op} {b}" for op, b in ((">=", ge), ("<=", le)) if b is not None]
    expected = "an integer" + (" " + " and ".join(bounds) if bounds else "")
    if not isinstance(value, int) or isinstance(value, bool):
        raise MethodParamError(name, expected, value)
    if (ge is not None and value < ge) or (le is not None and value > le):
        raise MethodParamError(name, expected, value)
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (``true``/``false`` in YAML)."""
    if not isinstance(value, bool):
        raise MethodParamError(name, "true or false", value)
    return value


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise MethodParamError(name, "one of " + ", ".join(f"`{c}`" for c in choices), value)
    return value


def check_task(name: str, value: Any, n_tasks: int) -> int:
    """Return ``value`` if it is a task index in ``0 .. n_tasks - 1``."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < n_tasks:
        raise MethodParamError(name, f"a task index in 0..{n_tasks - 1} ({n_tasks} tasks)", value)
    return value


def check_preference(name: str, value: Any, n_tasks: int) -> tuple[float, ...] | None:
    """Return ``value`` as a tuple of ``n_tasks`` finite numbers ``>= 0`` with a positive sum.

    None (the option left out) is returned as None; methods then use ``1/m`` for every task.
    """
    expected = f"a list of {n_tasks} numbers >= 0 (one per task, in task order) with a positive sum"
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise MethodParamError(name, expected, value)
    items = list(value)
    if len(items) != n_tasks or not all(_is_number(v) and math.isfinite(v) and v >= 0 for v in items):
        raise MethodParamError(name, expected, value)
    if sum(items) <= 0:
        raise MethodParamError(name, expected, value)
    return tuple(float(v) for v in items)
