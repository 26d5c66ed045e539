"""Hypervolume for many objectives: exact where affordable, else a labelled Monte Carlo estimate.

Exact hypervolume (``moocore`` 0.3.2) is exponential in the number of objectives ``m``.
Measured on this project's 2-core CPU machine (shared with other jobs: load average 2-5, so
read ±50 %), for ``n`` mutually non-dominated points uniform on the positive unit sphere,
reference point 1.1 (a worst case: every point is on the front), one call each, with
``python benchmarks/hv_cost.py --timeout 60`` (table also in benchmarks/RESULTS.md):

============  ==========  ==========  ==============
 m \\ n         50          200         1000
============  ==========  ==========  ==============
 3             0.1 ms      0.1 ms      0.4 ms
 5             0.2 ms      1.2 ms      13 ms
 8             35 ms       27-36 s     > 60 s (killed)
 16            > 60 s      (more)      (more)
============  ==========  ==========  ==============

and at the edge of the rule below: m = 6: 200 → 28 ms, 1000 → 2.1 s; m = 7: 200 → 0.95 s;
m = 8: 100 → 2.0 s; m = 9: 50 → 0.31 s; m = 10: 30 → 0.20 s; m = 12: 20 → 71 ms; m = 14: 15 →
47 ms; m = 16: 12 → 0.1 ms, 15 → 0.21 s, 20 → 6.8 s. Exclusive contributions (one leave-one-out
hypervolume per point for m >= 4): m = 4: 200 → 37 ms, 1000 → 2.5 s; m = 5: 200 → 0.30 s;
m = 6: 200 → 9.3 s; m = 7: 50 → 0.30 s; m = 8: 50 → 3.1 s.

The Monte Carlo estimate below with the default 20 000 draws, same points, same machine:
0.02-0.05 s at n = 50 and 200 for every m in 3, 5, 8, 16; at n = 1000 0.14 s (m = 3), 0.21 s
(m = 5), 0.49 s (m = 8), 0.92 s (m = 16); contributions take about as long. Its relative
standard error was 0.9-1.0 % at n = 50, 1.4-1.6 % at n = 200 and 2.0-2.7 % at n = 1000.

**Rule** (from those numbers, aiming at well under a second per call): exact hypervolume when
``m <= 5`` or ``n <= EXACT_HV_MAX_POINTS[m]``; exact contributions when ``m <= 3`` or
``n <= EXACT_CONTRIBUTION_MAX_POINTS[m]``; ``n`` counts the distinct non-dominated points
strictly inside the reference box. Otherwise the Monte Carlo estimate below, labelled
``"monte_carlo"`` with its standard error.

**Estimator** (the union estimator of Karp, Luby & Madras, "Monte-Carlo approximation
algorithms for enumeration problems", J. Algorithms 10(3), 1989, as used for hypervolume by
Bringmann & Friedrich,
"Approximating the volume of unions and intersections of high-dimensional geometric objects",
CGTA 43(6), 2010, https://doi.org/10.1016/j.comgeo.2010.03.004), stratified by box: the
dominated region is the union of the boxes ``B_i = [p_i, r]`` (minimisation) of volume
``V_i = \\prod_j (r_j - p_{ij})``. Draw ``k`` points ``x`` uniformly in each ``B_i`` and let
``c(x) = |\\{l : p_l \\le x\\}|`` (boxes covering ``x``, ``c >= 1``). Then

.. math::
    \\widehat{HV} = \\sum_i V_i \\,\\overline{1/c}_i, \\qquad
    \\mathrm{se}^2 = \\sum_i V_i^2 \\, s_i^2(1/c) / k, \\qquad
    \\widehat{\\Delta}_i = V_i \\,\\overline{[c = 1]}_i, \\qquad
    \\mathrm{se}_i = V_i \\sqrt{q_i (1 - q_i) / k}

(``\\overline{\\cdot}_i`` and ``s_i^2`` are the mean and sample variance over box ``i``'s draws,
``q_i`` the fraction with ``c = 1``). Both are unbiased. Unlike uniform sampling of the
bounding box ``[ideal, r]``, whose hit rate collapses with ``m`` (a box covering half of each
axis fills ``2^{-16}`` of the bounding box in 16-D), every draw lands in the dominated region,
so the relative error stays near ``1/\\sqrt{N}`` for a front of spread points. Draws come from
``numpy.random.default_rng(seed)``: the same points and seed give the same estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from paretosweep.errors import ConfigError
from paretosweep.frontier._indicators import _inside, _min_reference, hv_contributions, hypervolume
from paretosweep.frontier._pareto import non_dominated_mask, to_minimization

HypervolumeMethod = Literal["exact", "monte_carlo"]

#: Largest front size (distinct non-dominated points) for exact hypervolume, by objectives m
#: (m <= 5: always exact). Read off the measurements in the module docstring.
EXACT_HV_MAX_POINTS: dict[int, int] = {
    6: 500,
    7: 150,
    8: 60,
    9: 50,
    10: 30,
    11: 25,
    12: 20,
    13: 18,
    14: 16,
    15: 15,
    16: 15,
}
#: Largest front size for exact exclusive contributions, by m (m <= 3: always exact).
EXACT_CONTRIBUTION_MAX_POINTS: dict[int, int] = {
    4: 500,
    5: 200,
    6: 80,
    7: 50,
    8: 30,
    9: 25,
    10: 20,
    11: 16,
    12: 15,
    13: 12,
    14: 12,
    15: 12,
    16: 12,
}
#: Draws of the Monte Carlo estimate (split evenly over the boxes, at least 2 per box).
DEFAULT_SAMPLES = 20_000
_CELLS = 4_000_000  # samples x points booleans held at once while counting covers


@dataclass(frozen=True)
class HypervolumeEstimate:
    """A hypervolume with how it was computed: ``stderr`` is 0.0 when ``method == "exact"``."""

    value: float
    stderr: float
    method: HypervolumeMethod


@dataclass(frozen=True)
class ContributionEstimate:
    """Exclusive contributions ``[n]`` with per-point standard errors (zeros when exact)."""

    values: np.ndarray
    stderr: np.ndarray
    method: HypervolumeMethod


def hypervolume_method(n_points: int, n_objectives: int) -> HypervolumeMethod:
    """``"exact"`` when exact hypervolume of ``n_points`` in ``n_objectives`` is affordable (see module docs).

    Beyond 16 objectives (unmeasured) the smallest limit of the table applies.
    """
    limit = EXACT_HV_MAX_POINTS.get(n_objectives, min(EXACT_HV_MAX_POINTS.values()))
    return "exact" if n_objectives <= 5 or n_points <= limit else "monte_carlo"


def contribution_method(n_points: int, n_objectives: int) -> HypervolumeMethod:
    """``"exact"`` when exact exclusive contributions are affordable (see module docs)."""
    limit = EXACT_CONTRIBUTION_MAX_POINTS.get(n_objectives, min(EXACT_CONTRIBUTION_MAX_POINTS.values()))
    return "exact" if n_objectives <= 3 or n_points <= limit else "monte_carlo"


def _front(points: ArrayLike, reference_point: ArrayLike, directions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Minimisation copies: the distinct non-dominated points inside the reference box, and the reference."""
    pts = to_minimization(points, directions)
    ref = _min_reference(reference_point, directions, pts.shape[1])
    pts = pts[_inside(pts, ref)]
    if pts.shape[0]:
        pts = np.unique(pts[non_dominated_mask(pts, directions=["min"] * pts.shape[1])], axis=0)
    return pts, ref


def _covers(samples: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``c(x)``: how many ``points`` weakly dominate each row of ``samples`` (``[s] int``)."""
    out = np.empty(samples.shape[0], dtype=np.int64)
    step = max(1, _CELLS // max(1, points.shape[0]))
    for start in range(0, samples.shape[0], step):
        chunk = samples[start : start + step]
        dominated = np.ones((chunk.shape[0], points.shape[0]), dtype=bool)
        for j in range(points.shape[1]):
            dominated &= points[None, :, j] <= chunk[:, j, None]
        out[start : start + step] = dominated.sum(axis=1)
    return out


def _box_draws(front: np.ndarray, ref: np.ndarray, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Box volumes ``[n]`` and covers ``[n, k]`` of ``k`` uniform draws in each box ``[p_i, ref]``."""
    if n_samples < 1:
        raise ConfigError(f"`n_samples` should be >= 1. Found {n_samples}.")
    n, m = front.shape
    k = max(2, math.ceil(n_samples / n))
    widths = ref[None, :] - front
    rng = np.random.default_rng(seed)
    draws = front[:, None, :] + rng.random((n, k, m)) * widths[:, None, :]
    covers = _covers(draws.reshape(n * k, m), front).reshape(n, k)
    return np.prod(widths, axis=1), covers


def hypervolume_monte_carlo(
    points: ArrayLike,
    /,
    *,
    reference_point: ArrayLike,
    directions: Sequence[str],
    n_samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> HypervolumeEstimate:
    """Monte Carlo hypervolume with its standard error (stratified Karp-Luby, module docs).

    Args:
        points: ``[n, m]`` objective values.
        reference_point: ``[m]`` reference point in raw units.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.
        n_samples: total draws, split evenly over the boxes (at least 2 per box).
        seed: seed of the draws; the same inputs give the same estimate.

    Returns:
        ``HypervolumeEstimate(value, stderr, "monte_carlo")``.

    Raises:
        ConfigError: on a bad shape, direction, reference point or ``n_samples``.

    Examples:
        >>> est = hypervolume_monte_carlo([[1.0, 1.0]], reference_point=[2.0, 3.0], directions=["min", "min"])
        >>> (est.value, est.stderr, est.method)
        (2.0, 0.0, 'monte_carlo')

    Notes:
        O(N n m) time for ``N`` draws and ``n`` front points, O(min(N n, 4e6)) memory.
        NaN rows, rows not strictly better than the reference point, dominated rows and
        duplicates are dropped first, as in :func:`hypervolume`. Does not modify its inputs.
    """
    front, ref = _front(points, reference_point, directions)
    if front.shape[0] == 0:
        return HypervolumeEstimate(0.0, 0.0, "monte_carlo")
    volumes, covers = _box_draws(front, ref, n_samples, seed)
    inverse = 1.0 / covers
    k = covers.shape[1]
    value = float(np.sum(volumes * inverse.mean(axis=1)))
    stderr = float(math.sqrt(np.sum(volumes**2 * inverse.var(axis=1, ddof=1) / k)))
    return HypervolumeEstimate(value, stderr, "monte_carlo")


def hv_contributions_monte_carlo(
    points: ArrayLike,
    /,
    *,
    reference_point: ArrayLike,
    directions: Sequence[str],
    n_samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> ContributionEstimate:
    """Monte Carlo exclusive contributions ``V_i * P(c = 1)`` with binomial standard errors.

    Args:
        points: ``[n, m]`` objective values, normally a non-dominated set.
        reference_point: ``[m]`` reference point in raw units.
        directions: ``m`` entries, each ``"min"`` or ``"max"``.
        n_samples: total draws, split evenly over the boxes (at least 2 per box).
        seed: seed of the draws.

    Returns:
        ``ContributionEstimate`` aligned with the rows of ``points``.

    Raises:
        ConfigError: on a bad shape, direction, reference point or ``n_samples``.

    Examples:
        >>> est = hv_contributions_monte_carlo([[1.0, 2.0], [2.0, 1.0]], reference_point=[3.0, 3.0],
        ...                                    directions=["min", "min"], n_samples=4000)
        >>> bool(abs(est.values[0] - 1.0) < 4 * est.stderr[0] + 1e-9)
        True

    Notes:
        Same cost as :func:`hypervolume_monte_carlo`. Policy as :func:`hv_contributions`:
        rows with NaN, outside the reference box, dominated or duplicated get exactly 0.0
        (stderr 0.0).
    """
    pts = to_minimization(points, directions)
    front, ref = _front(points, reference_point, directions)
    values = np.zeros(pts.shape[0], dtype=np.float64)
    stderr = np.zeros(pts.shape[0], dtype=np.float64)
    if front.shape[0] == 0:
        return ContributionEstimate(values, stderr, "monte_carlo")
    volumes, covers = _box_draws(front, ref, n_samples, seed)
    alone = (covers == 1).mean(axis=1)
    k = covers.shape[1]
    for i, row in enumerate(pts):
        match = np.flatnonzero((front == row).all(axis=1))
        if match.size and (pts == row).all(axis=1).sum() == 1:
            values[i] = volumes[match[0]] * alone[match[0]]
            stderr[i] = volumes[match[0]] * math.sqrt(alone[match[0]] * (1.0 - alone[match[0]]) / k)
    return ContributionEstimate(values, stderr, "monte_carlo")


def hypervolume_auto(points: ArrayLike, /, *, reference_point: ArrayLike, directions: Sequence[str], seed: int = 0) -> HypervolumeEstimate:
    """Exact :func:`hypervolume` when affordable (:func:`hypervolume_method`), else the Monte Carlo estimate.

    Examples:
        >>> hypervolume_auto([[1.0, 1.0]], reference_point=[2.0, 3.0], directions=["min", "min"])
        HypervolumeEstimate(value=2.0, stderr=0.0, method='exact')
    """
    front, _ = _front(points, reference_point, directions)
    if hypervolume_method(front.shape[0], front.shape[1]) == "exact":
        return HypervolumeEstimate(hypervolume(points, reference_point=reference_point, directions=directions), 0.0, "exact")
    return hypervolume_monte_carlo(points, reference_point=reference_point, directions=directions, seed=seed)


def hv_contributions_auto(
    points: ArrayLike, /, *, reference_point: ArrayLike, directions: Sequence[str], seed: int = 0
) -> ContributionEstimate:
    """Exact :func:`hv_contributions` when affordable (:func:`contribution_method`), else the estimate.

    Examples:
        >>> hv_contributions_auto([[1.0, 2.0], [2.0, 1.0]], reference_point=[3.0, 3.0],
        ...                       directions=["min", "min"]).values.tolist()
        [1.0, 1.0]
    """
    front, _ = _front(points, reference_point, directions)
    if contribution_method(front.shape[0], front.shape[1]) == "exact":
        values = hv_contributions(points, reference_point=reference_point, directions=directions)
        return ContributionEstimate(values, np.zeros_like(values), "exact")
    return hv_contributions_monte_carlo(points, reference_point=reference_point, directions=directions, seed=seed)
