"""Quality indicators of a set of points: hypervolume, its contributions, IGD+, additive ε.

All functions take raw objective values plus ``directions`` (``"min"``/``"max"`` per column),
convert to minimisation once, and hand the numbers to ``moocore``. None modifies its inputs.

Exact hypervolume is cheap for 2-4 objectives (O(n log n) up to 3-D, O(n^2) in 4-D) but its
cost grows exponentially with the number of objectives; beyond about 8 objectives expect
seconds to minutes for a few hundred points. ``_hv_estimate.py`` holds the measured costs, the
rule for when exact is affordable and the Monte Carlo estimate used beyond it.
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np
from numpy.typing import ArrayLike

from paretosweep.errors import ConfigError
from paretosweep.frontier._pareto import as_points, maximise_flags, nan_rows, to_minimization


def _min_reference(reference_point: ArrayLike, directions: Sequence[str], n_objectives: int) -> np.ndarray:
    """The reference point as a new minimisation ``[m]`` vector, checked for length and NaN."""
    ref = np.array(reference_point, dtype=np.float64, copy=True).reshape(-1)
    if ref.shape[0] != n_objectives:
        raise ConfigError(f"`reference_point` should have one value per objective ({n_objectives}). Found {ref.shape[0]}: {ref.tolist()}.")
    if np.isnan(ref).any():
        raise ConfigError(f"`reference_point` should not contain NaN. Found {ref.tolist()}.")
    ref[maximise_flags(directions, n_objectives)] *= -1.0
    return ref


def _inside(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rows (minimisation) without NaN that are strictly better than ``ref`` in every coordinate."""
    return ~nan_rows(points) & (points < ref).all(axis=1)


def hypervolume(points: ArrayLike, /, *, reference_point: ArrayLike, directions: Sequence[str]) -> float:
    """Volume of objective space dominated by ``points`` and bounded by ``reference_point``.

    Args:
        points: ``[n, m]`` objective values (a 1-D ``[m]`` array is one point).
        reference_point: ``[m]`` point worse than every point of interest, in raw units.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        The hypervolume (0.0 when no point is strictly better than the reference point).

    Raises:
        ConfigError: on a bad shape, direction or reference point.

    Examples:
        >>> hypervolume([[1.0, 1.0]], reference_point=[2.0, 3.0], directions=["min", "min"])
        2.0

    Notes:
        Complexity (``moocore.hypervolume``): O(n log n) for m <= 3, O(n^2) for m = 4 and
        exponential in m beyond; above ~8 objectives exact HV becomes expensive.

        **NaN policy**: rows with NaN contribute nothing, as do rows not strictly better
        than the reference point in every coordinate (they are filtered out first).
        **Duplicates / dominated rows** do not change the value.
    """
    pts = to_minimization(points, directions)
    ref = _min_reference(reference_point, directions, pts.shape[1])
    inside = _inside(pts, ref)
    if not inside.any():
        return 0.0
    return float(moocore.hypervolume(pts[inside], ref=ref))


def hv_contributions(points: ArrayLike, /, *, reference_point: ArrayLike, directions: Sequence[str]) -> np.ndarray:
    """Exclusive hypervolume contribution of each point: ``HV(X) - HV(X without p)``.

    Args:
        points: ``[n, m]`` objective values, normally a non-dominated set.
        reference_point: ``[m]`` reference point in raw units.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        Float ``[n]`` array of contributions, aligned with the rows of ``points``.

    Raises:
        ConfigError: on a bad shape, direction or reference point.

    Examples:
        >>> hv_contributions([[1.0, 2.0], [2.0, 1.0]], reference_point=[3.0, 3.0],
        ...                  directions=["min", "min"]).tolist()
        [1.0, 1.0]

    Notes:
        Complexity (``moocore.hv_contributions``): O(n log n) for m <= 3, otherwise one
        hypervolume per point; above ~8 objectives this becomes expensive.

        **NaN policy**: rows with NaN, and rows not strictly better than the reference point,
        get 0.0 and do not affect the others.
        **Duplicates policy**: every copy of a duplicated point gets 0.0 (removing one copy
        leaves the volume unchanged). Dominated rows get 0.0 and are ignored when computing
        the other contributions (moocore's ``ignore_dominated=True``).
    """
    pts = to_minimization(points, directions)
    ref = _min_reference(reference_point, directions, pts.shape[1])
    out = np.zeros(pts.shape[0], dtype=np.float64)
    inside = _inside(pts, ref)
    if not inside.any():
        return out
    if pts.shape[1] == 1:  # moocore needs >= 2 columns; in 1-D only a unique best point counts
        out[inside] = _contributions_1d(pts[inside, 0], float(ref[0]))
    else:
        out[inside] = moocore.hv_contributions(pts[inside], ref=ref)
    return out


def _contributions_1d(values: np.ndarray, ref: float) -> np.ndarray:
    """1-D contributions: the unique best value owns the gap to the next value (or ``ref``)."""
    out = np.zeros(values.shape[0], dtype=np.float64)
    best = values.min()
    if (values == best).sum() == 1:
        worse = values[values > best]
        out[np.argmin(values)] = (worse.min() if worse.size else ref) - best
    return out


def auto_reference_point(points: ArrayLike, /, directions: Sequence[str], *, margin: float = 0.1) -> np.ndarray:
    """A reference point just worse than the nadir of ``points``.

    Each coordinate is the worst value among the points, worsened by ``margin`` times the
    objective's range over the points. When the range is 0 (one point, or all equal in that
    objective) the step is ``margin * |nadir|``, or ``margin`` itself when the nadir is 0.

    Args:
        points: ``[n, m]`` objective values.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.
        margin: relative step beyond the nadir, > 0.

    Returns:
        Float ``[m]`` reference point in raw units (lower than every value for ``"max"``).

    Raises:
        ConfigError: if ``margin <= 0`` or no row is finite.

    Examples:
        >>> auto_reference_point([[0.0, 1.0], [1.0, 0.0]], ["min", "max"]).tolist()
        [1.1, -0.1]

    Notes:
        O(n m). Rows holding NaN or ±inf are ignored (a diverged trial must not move the
        reference point to infinity). Duplicates have no effect.
    """
    if not margin > 0:
        raise ConfigError(f"`margin` should be > 0. Found {margin}.")
    pts = to_minimization(points, directions)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if pts.shape[0] == 0:
        raise ConfigError(
            "`auto_reference_point` needs at least one point with finite values in every "
            "objective. Found none; pass an explicit reference point instead."
        )
    nadir = pts.max(axis=0)
    span = nadir - pts.min(axis=0)
    fallback = np.where(nadir != 0.0, np.abs(nadir), 1.0)
    ref = nadir + margin * np.where(span > 0.0, span, fallback)
    ref[maximise_flags(directions, ref.shape[0])] *= -1.0
    return ref


def shared_reference_point(reference_points: ArrayLike, /, directions: Sequence[str]) -> np.ndarray:
    """One reference point for comparing runs: per objective, the worst of the runs' points.

    Every run's hypervolume at this point counts everything its own reference point counts
    (and possibly more), so runs with different fixed points become comparable.

    Args:
        reference_points: ``[r, m]`` the runs' reference points, in raw units.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        Float ``[m]`` point: the largest value of a ``min`` objective, the smallest of a ``max`` one.

    Raises:
        ConfigError: if no point is given or a point holds NaN.

    Examples:
        >>> shared_reference_point([[1.0, 0.5], [2.0, 0.7]], ["min", "max"]).tolist()
        [2.0, 0.5]
    """
    pts = as_points(reference_points, name="reference_points")
    if pts.shape[0] == 0 or nan_rows(pts).any():
        raise ConfigError(f"`reference_points` should hold at least one point without NaN. Found {pts.tolist()}.")
    flags = maximise_flags(directions, pts.shape[1])
    return np.where(flags, pts.min(axis=0), pts.max(axis=0))


def _two_sets(points: ArrayLike, reference_front: ArrayLike, directions: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated NaN-free copies of both sets plus the ``maximise`` flags."""
    front = as_points(reference_front, name="reference_front")
    pts = as_points(points, n_objectives=front.shape[1])
    flags = maximise_flags(directions, front.shape[1])
    front = front[~nan_rows(front)]
    if front.shape[0] == 0:
        raise ConfigError("`reference_front` should hold at least one point without NaN. Found none.")
    return pts[~nan_rows(pts)], front, flags


def igd_plus(points: ArrayLike, reference_front: ArrayLike, /, directions: Sequence[str]) -> float:
    """IGD+: mean over the reference front of the distance to the nearest point of ``points``.

    The distance only counts the coordinates where the point is worse than the reference
    point (Ishibuchi et al., EMO 2015), which makes IGD+ weakly Pareto-compliant. Lower is
    better; 0 means ``points`` weakly dominates every reference point.

    Args:
        points: ``[n, m]`` objective values (a 1-D ``[m]`` array is one point).
        reference_front: ``[k, m]`` reference (true or best-known) front.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        The IGD+ value; ``inf`` when ``points`` has no row without NaN.

    Raises:
        ConfigError: on bad shapes or directions, or an empty reference front.

    Examples:
        >>> igd_plus([[1.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]], ["min", "min"])
        1.0

    Notes:
        O(m n k) (``moocore.igd_plus``). Rows with NaN are dropped from both sets.
        Duplicates do not change the value.
    """
    pts, front, flags = _two_sets(points, reference_front, directions)
    if pts.shape[0] == 0:
        return float("inf")
    return float(moocore.igd_plus(pts, ref=front, maximise=flags))


def additive_epsilon(points: ArrayLike, reference_front: ArrayLike, /, directions: Sequence[str]) -> float:
    """Additive ε-indicator of ``points`` against ``reference_front``.

    The smallest ``ε`` such that every reference point is weakly dominated by some point of
    ``points`` shifted by ``ε`` towards better values in every objective; for minimisation
    ``max_r min_p max_i (p_i - r_i)``. Lower is better; ``ε <= 0`` means ``points`` weakly
    dominates the whole reference front.

    Args:
        points: ``[n, m]`` objective values (a 1-D ``[m]`` array is one point).
        reference_front: ``[k, m]`` reference front.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.

    Returns:
        ε; ``inf`` when ``points`` has no row without NaN.

    Raises:
        ConfigError: on bad shapes or directions, or an empty reference front.

    Examples:
        >>> additive_epsilon([[1.0, 1.0]], [[0.0, 1.0], [1.0, 0.5]], ["min", "min"])
        1.0

    Notes:
        O(m n k) (``moocore.epsilon_additive``). Rows with NaN are dropped from both sets.
        Duplicates do not change the value.
    """
    pts, front, flags = _two_sets(points, reference_front, directions)
    if pts.shape[0] == 0:
        return float("inf")
    return float(moocore.epsilon_additive(pts, ref=front, maximise=flags))
