"""The adaptive sampler's focus region: ``sampler.focus: ["purchase_auc >= 0.70", "click_loss <= 0.5"]``.

Each entry bounds one objective column, in the column's own units and direction
(``<column> >= <number>``, ``<column> <= <number>``; ``>`` and ``<`` are read as ``>=`` and
``<=``: a single value on the boundary does not change where gaps are). The region is the box
those bounds cut out of objective space. :func:`parse_focus` checks the entries against the
run's objectives (at plan time, before Ray starts) and turns them into a :class:`FocusRegion`
in the sampler's minimisation form (a ``max`` column is negated, so ``auc >= 0.7`` becomes
``-auc <= -0.7``).

``focus: knee`` is not a box: it asks the sampler to refine around the knee of the frontier
(see :mod:`paretosweep.sampling._dense`); :func:`parse_focus` returns the string ``"knee"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paretosweep.errors import ConfigError, unknown_name

KNEE = "knee"
_BOUND = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
#: Metric names whose values lie in [0, 1] (a bound outside it cannot be met, or is a typo).
UNIT_INTERVAL_METRICS = ("auc", "acc", "accuracy", "precision", "recall", "f1")
_EXAMPLE = "e.g. `purchase_auc >= 0.70` or `click_loss <= 0.5`, or `focus: knee`"


@dataclass(frozen=True)
class FocusRegion:
    """A box in minimisation form: ``lower <= f <= upper`` per objective (±inf: unbounded)."""

    lower: np.ndarray
    upper: np.ndarray

    def contains(self, points: np.ndarray) -> np.ndarray:
        """``bool[k]``: which rows of ``points`` ``[k, m]`` (minimisation form) lie in the box."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, self.lower.size)
        return np.all((points >= self.lower) & (points <= self.upper), axis=1)


def _parse_entry(i: int, entry: str) -> tuple[str, str, float]:
    match = _BOUND.match(entry) if isinstance(entry, str) else None
    if match is None:
        raise ConfigError(
            f"`sampler.focus[{i}]` should read `<objective column> >= <number>` or `<objective column> <= <number>` "
            f"({_EXAMPLE}); found {entry!r}."
        )
    column, op, number = match.groups()
    return column, (">=" if op in (">=", ">") else "<="), float(number)


def parse_focus(
    focus: str | Sequence[str] | None,
    objectives: Sequence[tuple[str, str]],
    *,
    metric_columns: Sequence[str] = (),
) -> FocusRegion | str | None:
    """Check ``sampler.focus`` against the objectives; the region in minimisation form.

    Args:
        focus: the spec's ``sampler.focus``: ``None``, ``"knee"`` or a list of bound strings.
        objectives: ``(column, direction)`` per task, in task order.
        metric_columns: every metric column the problem reports (for a better message when a
            bound names a metric that is not an objective).

    Raises:
        ConfigError: an unparsable entry, a column that is not an objective (with did-you-mean),
            bounds that no point can meet (lower above upper for one column; a bound outside
            [0, 1] on an AUC/accuracy column).
    """
    if focus is None or focus == KNEE:
        return focus
    entries = [focus] if isinstance(focus, str) else list(focus)
    if not entries:
        raise ConfigError(f"`sampler.focus` is empty: give at least one bound ({_EXAMPLE}), or leave it out.")
    columns = [c for c, _ in objectives]
    user_lo = np.full(len(columns), -np.inf)
    user_hi = np.full(len(columns), np.inf)
    where: dict[tuple[int, str], int] = {}
    for i, entry in enumerate(entries):
        column, op, value = _parse_entry(i, entry)
        if column not in columns:
            if column in metric_columns:
                raise ConfigError(
                    f"`sampler.focus[{i}]` bounds `{column}`, which the problem reports but which is not an objective of "
                    f"this sweep (objectives: {columns}). Bound an objective column, or make `{column}` its task's "
                    "objective with `tasks.<task>.metric`."
                )
            raise unknown_name(f"objective column in `sampler.focus[{i}]`", column, columns)
        j = columns.index(column)
        metric = column.rsplit("_", 1)[-1]
        if metric in UNIT_INTERVAL_METRICS and not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"`sampler.focus[{i}]` ({entry!r}): `{column}` lies in [0, 1], so a bound of {value} cannot be meant. "
                "Use a value in [0, 1]."
            )
        if op == ">=":
            user_lo[j] = max(user_lo[j], value)
        else:
            user_hi[j] = min(user_hi[j], value)
        where[(j, op)] = i
        if user_lo[j] > user_hi[j]:
            raise ConfigError(
                f"`sampler.focus` bounds `{column}` from below by {user_lo[j]} (entry {where[(j, '>=')]}) and from above "
                f"by {user_hi[j]} (entry {where[(j, '<=')]}): no point can meet both. Swap or widen the bounds."
            )
    maximise = np.array([d == "max" for _, d in objectives])
    lower = np.where(maximise, -user_hi, user_lo)
    upper = np.where(maximise, -user_lo, user_hi)
    return FocusRegion(lower=lower, upper=upper)
