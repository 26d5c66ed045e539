"""Pareto dominance on objective matrices: which rows are non-dominated.

Points are ``[n, m]`` arrays (``n`` points, ``m`` objectives) in the *raw* units the trials
report; ``directions`` says, per column, whether smaller (``"min"``) or larger (``"max"``) is
better. The heavy lifting is done by ``moocore`` (the reference library for dominance and
hypervolume); this module only validates shapes, applies the NaN policy and translates
directions.
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np
from numpy.typing import ArrayLike

from paretosweep.errors import ConfigError

_DIRECTIONS = ("min", "max")


def as_points(points: ArrayLike, *, n_objectives: int | None = None, name: str = "points") -> np.ndarray:
    """Return ``points`` as a new float64 ``[n, m]`` array, checking its shape.

    A 1-D input of length ``m`` is read as a single point ``[1, m]``.

    Raises:
        ConfigError: if the array is not 1-D or 2-D, or has the wrong number of columns.
    """
    array = np.array(points, dtype=np.float64, copy=True)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ConfigError(f"`{name}` should be an [n, m] array of objective values. Found shape {array.shape}.")
    if n_objectives is not None and array.shape[1] != n_objectives:
        raise ConfigError(f"`{name}` should have one column per objective ({n_objectives}). Found {array.shape[1]} columns.")
    return array


def maximise_flags(directions: Sequence[str], n_objectives: int | None = None) -> np.ndarray:
    """Translate ``["min", "max", ...]`` into moocore's per-objective ``maximise`` booleans.

    Raises:
        ConfigError: if a direction is neither ``"min"`` nor ``"max"``, or the count is wrong.
    """
    if isinstance(directions, str):
        raise ConfigError(
            f"`directions` should be a list with one of {_DIRECTIONS} per objective. "
            f"Found the string {directions!r}; write [{directions!r}] for one objective."
        )
    directions = list(directions)
    bad = [d for d in directions if d not in _DIRECTIONS]
    if bad:
        raise ConfigError(f"`directions` should contain only 'min' or 'max'. Found {bad[0]!r}.")
    if n_objectives is not None and len(directions) != n_objectives:
        raise ConfigError(f"`directions` should have one entry per objective ({n_objectives}). Found {len(directions)}: {directions}.")
    return np.array([d == "max" for d in directions], dtype=bool)


def to_minimization(points: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """Return a copy of ``points`` where every objective is to be minimised.

    Columns whose direction is ``"max"`` are negated; ``"min"`` columns are copied as is.

    Args:
        points: ``[n, m]`` objective values (a 1-D ``[m]`` array is one point).
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        A new float64 ``[n, m]`` array; the input is never modified.

    Raises:
        ConfigError: on a bad shape or direction.

    Examples:
        >>> to_minimization([[1.0, 0.9]], ["min", "max"]).tolist()
        [[1.0, -0.9]]

    Notes:
        O(n m). NaN stays NaN; duplicates are kept.
    """
    array = as_points(points)
    flags = maximise_flags(directions, array.shape[1])
    array[:, flags] *= -1.0
    return array


def nan_rows(points: np.ndarray) -> np.ndarray:
    """Boolean ``[n]`` mask of the rows of an ``[n, m]`` array that hold a NaN."""
    return np.isnan(points).any(axis=1)


def non_dominated_mask(points: ArrayLike, /, *, directions: Sequence[str]) -> np.ndarray:
    """Mark the rows of ``points`` that no other row dominates.

    Row ``a`` dominates row ``b`` when ``a`` is at least as good in every objective and
    strictly better in one (in the sense given by ``directions``).

    Args:
        points: ``[n, m]`` objective values.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        Boolean ``[n]`` array, True for the non-dominated rows.

    Raises:
        ConfigError: on a bad shape or direction.

    Examples:
        >>> non_dominated_mask([[1, 2], [2, 1], [2, 2]], directions=["min", "min"]).tolist()
        [True, True, False]

    Notes:
        Complexity (``moocore.is_nondominated``): O(n log n) for m <= 3, O(n log^(m-2) n)
        for larger m and many points, naive O(m n^2) for few points.

        **NaN policy**: a row with any NaN is never in the front and is removed before the
        dominance test, so it dominates nothing either. ``±inf`` compare as numbers.

        **Duplicates policy**: identical rows are *all kept* (``keep_weakly=True``), so the
        mask does not depend on row order; every copy of a non-dominated point is True.
        Their hypervolume contributions are then 0 each (removing one copy changes nothing).
    """
    array = as_points(points)
    flags = maximise_flags(directions, array.shape[1])
    mask = np.zeros(array.shape[0], dtype=bool)
    valid = ~nan_rows(array)
    if valid.any():
        mask[valid] = moocore.is_nondominated(array[valid], maximise=flags, keep_weakly=True)
    return mask


def pareto_ranks(points: ArrayLike, /, *, directions: Sequence[str]) -> np.ndarray:
    """Non-dominated sorting: the front index of every row (0: non-dominated, 1: non-dominated once front 0 is removed, ...).

    Deb et al., "A fast and elitist multiobjective genetic algorithm: NSGA-II", IEEE TEVC 6(2),
    2002, computed by ``moocore.pareto_rank``.

    Args:
        points: ``[n, m]`` objective values.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        ``int64 [n]`` ranks; identical rows share a rank. A row with a NaN gets ``n`` (behind every front).

    Examples:
        >>> pareto_ranks([[1, 2], [2, 1], [2, 2], [3, 3]], directions=["min", "min"]).tolist()
        [0, 0, 1, 2]

    Notes:
        O(n log n) for m = 2, O(n² log^(m-2) n) from m = 3 (moocore).
    """
    array = as_points(points)
    flags = maximise_flags(directions, array.shape[1])
    ranks = np.full(array.shape[0], array.shape[0], dtype=np.int64)
    valid = ~nan_rows(array)
    if valid.any():
        ranks[valid] = moocore.pareto_rank(array[valid], maximise=flags)
    return ranks


def crowding_distances(points: ArrayLike, /) -> np.ndarray:
    """NSGA-II's crowding distance of each row of one front (Deb et al. 2002, section III-B).

    For each objective ``j``, sort the rows by ``y_j``; a row's distance adds the gap between its
    two neighbours normalised by the front's range, and the two rows at the ends get ``inf``:

    .. math::

        d_i = \\sum_j \\frac{y_{j}^{(i+1)} - y_{j}^{(i-1)}}{y_j^{\\max} - y_j^{\\min}}

    An objective on which the front has no range adds nothing. Fronts of one or two rows are
    all ends (``inf``). Direction does not matter (a distance); the rows should be finite.

    Args:
        points: ``[n, m]`` objective values of mutually non-dominated rows.

    Returns:
        ``float64 [n]`` distances (larger: a less crowded part of the front).

    Examples:
        >>> crowding_distances([[0.0, 3.0], [1.0, 1.0], [3.0, 0.0]]).tolist()
        [inf, 2.0, inf]
    """
    array = as_points(points)
    n, m = array.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(array[:, j], kind="stable")
        column = array[order, j]
        span = column[-1] - column[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance
