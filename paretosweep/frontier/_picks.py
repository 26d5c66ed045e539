"""Choose which rows of a front to ship (``paretosweep export --pick``).

Every rule works in *normalised minimisation space*: each objective is turned into "smaller
is better" and rescaled to [0, 1] over the candidate rows (0 = best value on the front,
1 = worst; an objective with a single value maps to 0). The ideal point is then the origin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from paretosweep.errors import ResultSchemaError, unknown_name
from paretosweep.frontier._objective import Objective
from paretosweep.frontier._pareto import nan_rows, non_dominated_mask, to_minimization

#: Accepted values of ``how`` (``best:<column>`` takes an objective column or name).
PICKS: tuple[str, ...] = ("knee", "utopia", "extremes", "all", "best:<column>")


def pick(front: pd.DataFrame, objectives: Sequence[Objective], how: str) -> pd.DataFrame:
    """Select rows of ``front`` by a named rule.

    Candidates are the rows whose objective values are all present (not NaN) and that no
    other candidate dominates, so ``frontier.parquet`` is used as is and a whole trials
    table is reduced to its front first. The rules:

    * ``all``: every candidate.
    * ``knee``: the candidate farthest from the hyperplane through the *extreme points* (the
      best point of each objective), on the ideal side of it. With 2 objectives the extremes
      are ``(0, 1)`` and ``(1, 0)`` after normalising, so this is the classic knee: the
      point of maximum distance to the line joining the two ends of the front. If the
      extremes do not span a hyperplane with positive normal (repeated or degenerate
      extremes), the hyperplane ``sum_i z_i = 1`` is used. On a front that is concave
      everywhere no point lies beyond the hyperplane and an extreme point is returned.
    * ``utopia``: the candidate closest (Euclidean) to the ideal point, the origin.
    * ``extremes``: the best candidate of each objective, in objective order, without
      repeats (ties broken by the sum of the other normalised objectives).
    * ``best:<column>``: the best candidate by one objective, named by column or name.

    Ties are broken by row order, the earliest row wins.

    Args:
        front: a frontier (or trials) table with one column per objective.
        objectives: the run's objectives, as stored in ``paretosweep.objectives``.
        how: one of ``knee``, ``utopia``, ``extremes``, ``all`` or ``best:<column>``.

    Returns:
        The selected rows of ``front`` (original index kept); empty if no candidate.

    Raises:
        UnknownNameError: for an unknown rule or ``best:`` objective.
        ResultSchemaError: if an objective column is missing from ``front``.

    Notes:
        O(n m) after the O(n log n) (m <= 3) non-dominated filter. Rows with NaN are never
        picked; duplicated rows are all candidates, and the earliest copy wins a tie.
    """
    objectives = tuple(objectives)
    missing = [o.column for o in objectives if o.column not in front.columns]
    if missing:
        raise ResultSchemaError(f"The front should have one column per objective. Missing: {missing}; found columns {list(front.columns)}.")
    rule, _, target = how.partition(":")
    if rule not in ("knee", "utopia", "extremes", "all", "best") or (rule == "best") != bool(target):
        raise unknown_name("pick", how, PICKS)
    positions, z = _candidates(front, objectives)
    if positions.size == 0 or rule == "all":
        return front.iloc[positions]
    if rule == "best":
        chosen = [_best_of(z, _objective_index(objectives, target))]
    elif rule == "extremes":
        chosen = list(dict.fromkeys(_best_of(z, i) for i in range(z.shape[1])))
    elif rule == "utopia":
        chosen = [int(np.argmin(np.linalg.norm(z, axis=1)))]
    else:
        chosen = [_knee(z)]
    return front.iloc[positions[chosen]]


def _candidates(front: pd.DataFrame, objectives: tuple[Objective, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the non-dominated NaN-free rows and their normalised values ``[k, m]``."""
    directions = [o.direction for o in objectives]
    values = front[[o.column for o in objectives]].to_numpy(dtype=np.float64, na_value=np.nan)
    mask = non_dominated_mask(values, directions=directions) & ~nan_rows(values)
    positions = np.flatnonzero(mask)
    return positions, _normalise(to_minimization(values[positions], directions))


def _normalise(points: np.ndarray) -> np.ndarray:
    """Rescale each minimisation column to [0, 1]; a constant column becomes 0."""
    if points.shape[0] == 0:
        return points
    low = points.min(axis=0)
    span = points.max(axis=0) - low
    return (points - low) / np.where(span > 0.0, span, 1.0)


def _best_of(z: np.ndarray, column: int) -> int:
    """Row of the smallest ``z[:, column]``; ties go to the smallest sum of the others."""
    others = z.sum(axis=1) - z[:, column]
    order = np.lexsort((np.arange(z.shape[0]), others, z[:, column]))
    return int(order[0])


def knee_distances(z: np.ndarray) -> np.ndarray:
    """``[k]`` signed distances of normalised points ``z`` beyond the extremes' hyperplane.

    Das (1999), "On characterizing the 'knee' of the Pareto curve based on Normal-Boundary
    Intersection": with ``E`` the ``m`` extreme points (the best point of each objective) the
    hyperplane through them is ``{x : n·x = 1}``, ``n = E⁻¹ 1``, and the distance is
    ``(1 − n·z) / ‖n‖`` (positive: towards the ideal point). When the extremes do not give a
    positive ``n`` (repeated extremes), the hyperplane ``Σ z_i = 1``.
    """
    k, m = z.shape
    if k == 0:
        return np.zeros(0)
    extremes = z[[_best_of(z, i) for i in range(m)]]
    normal = np.ones(m)
    try:
        solved = np.linalg.solve(extremes, np.ones(m))
        if np.all(np.isfinite(solved)) and np.all(solved > 0.0):
            normal = solved
    except np.linalg.LinAlgError:
        pass
    return (1.0 - z @ normal) / np.linalg.norm(normal)


def _knee(z: np.ndarray) -> int:
    """Row farthest beyond the hyperplane through the extreme points (towards the origin)."""
    return int(np.argmax(knee_distances(z)))


def _objective_index(objectives: tuple[Objective, ...], target: str) -> int:
    """Index of the objective whose column (or, failing that, name) is ``target``."""
    for key in ("column", "name"):
        for i, objective in enumerate(objectives):
            if getattr(objective, key) == target:
                return i
    raise unknown_name("objective for `best:`", target, [o.column for o in objectives])
