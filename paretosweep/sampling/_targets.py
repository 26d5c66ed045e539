"""Where a new trial is aimed: the gaps and hull facets of the current frontier, and each round's proposals.

The rules (NISE normals, lower hull facets, Tchebycheff rays, fallbacks after a failed aim,
refinement pools) are stated in ``docs/adaptive-sampler.md``. Pure numpy; values are in
minimisation form, one row per result (repeats of a weight vector are its seeds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from paretosweep.frontier import non_dominated_mask
from paretosweep.sampling._dense import crowding, knee_distances
from paretosweep.sampling._focus import FocusRegion
from paretosweep.sampling._hull import lower_facets
from paretosweep.sampling._noise import per_weight

#: Two weight vectors closer than this (max-norm) count as the same.
SAME_WEIGHT = 1e-3
LINEAR = "linear"
TCHEBYCHEFF_LIKE = ("tchebycheff", "smooth_tchebycheff")
#: Refinement targets (focus, knee, crowded) close at ``tolerance * FINER``.
FINER = 0.25
#: The round shares, in the order they are served.
REFINEMENTS = ("focus", "knee", "crowded")


def _with_floor_rows(w: np.ndarray, floor: float) -> np.ndarray:
    """Directions ``w >= 0`` ``[r, m]`` as simplex points with every entry >= ``floor`` (clip, renormalise)."""
    w = np.where(np.isfinite(w), np.maximum(w, 0.0), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / w.shape[1])
    for _ in range(8):  # clipping raises the sum; a few passes settle it
        w = np.maximum(w, floor)
        w = w / w.sum(axis=1, keepdims=True)
    return w


def _with_floor(w: np.ndarray, floor: float) -> np.ndarray:
    """A direction ``w >= 0`` as a simplex point with every entry >= ``floor`` (clip, renormalise)."""
    return _with_floor_rows(np.asarray(w, dtype=np.float64)[None, :], floor)[0]


def frontier(values: np.ndarray) -> np.ndarray:
    """Indices of the distinct non-dominated rows of ``values`` (minimisation; NaN rows ignored)."""
    finite = np.flatnonzero(np.isfinite(values).all(axis=1))
    if finite.size == 0:
        return finite
    _, first = np.unique(values[finite], axis=0, return_index=True)
    idx = finite[np.sort(first)]
    return idx[non_dominated_mask(values[idx], directions=["min"] * values.shape[1])]


def normalised_frontier(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frontier's row indices, its points rescaled to ``[0, 1]`` per objective, and the ranges ``span``."""
    idx = frontier(values)
    m = values.shape[1]
    if idx.size == 0:
        return idx, np.zeros((0, m)), np.ones(m)
    pts = values[idx]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return idx, (pts - lo) / span, span


@dataclass(frozen=True)
class Gap:
    """Two neighbouring frontier points (row indices into the told results).

    ``size`` is their normalised (Euclidean) distance, the stopping measure; ``priority`` orders
    the gaps: for 2 tasks the normalised area of the box the two points span (the most
    hypervolume a new point between them can add), else ``size``.
    """

    a: int
    b: int
    size: float
    priority: float


def frontier_gaps(values: np.ndarray) -> list[Gap]:
    """The gaps of the current frontier, largest first (see the module docstring)."""
    idx, norm, _ = normalised_frontier(values)
    if idx.size < 2:
        return []
    m = values.shape[1]
    pairs: set[tuple[int, int]] = set()
    if m == 2:
        order = np.argsort(norm[:, 0], kind="stable")
        pairs = {(int(order[i]), int(order[i + 1])) for i in range(len(order) - 1)}
    else:
        dist = np.linalg.norm(norm[:, None, :] - norm[None, :, :], axis=-1)
        np.fill_diagonal(dist, np.inf)
        k = min(m - 1, len(norm) - 1)
        for i in range(len(norm)):
            for j in np.argsort(dist[i])[:k]:
                pairs.add((min(i, int(j)), max(i, int(j))))
    gaps = []
    for i, j in pairs:
        size = float(np.linalg.norm(norm[i] - norm[j]))
        priority = float(np.prod(np.abs(norm[i] - norm[j]))) if m == 2 else size
        gaps.append(Gap(int(idx[i]), int(idx[j]), size, priority))
    return sorted(gaps, key=lambda g: (-g.priority, -g.size, g.a, g.b))


def gap_weight(scalarizer: str, gap: Gap, weights: np.ndarray, values: np.ndarray, ideal: np.ndarray, floor: float) -> np.ndarray:
    """The weight vector that aims a trial into ``gap``."""
    a, b = values[gap.a], values[gap.b]
    m = values.shape[1]
    if scalarizer == LINEAR:
        if m == 2:
            lo, hi = (a, b) if a[0] <= b[0] else (b, a)
            raw = np.array([lo[1] - hi[1], hi[0] - lo[0]])  # normal of the segment, both entries >= 0
        else:
            raw = 0.5 * (weights[gap.a] + weights[gap.b])
    else:
        offset = 0.5 * (a + b) - ideal
        raw = 1.0 / np.maximum(offset, 1e-12)
    return _with_floor(raw, floor)


@dataclass(frozen=True, eq=False)
class Target:
    """Where a new trial is aimed: a gap (2 vertices) or a lower hull facet (m vertices).

    ``vertices`` are row indices into the per-weight table; ``weight`` is the aimed weight
    vector (:func:`fallbacks` gives the ones tried instead when that aim failed).
    """

    vertices: tuple[int, ...]
    size: float
    priority: float
    weight: np.ndarray


def fallbacks(target: Target, weights: np.ndarray, floor: float) -> list[np.ndarray]:
    """Weight vectors between the target's end points' weights: ½, ¼, ¾ of a gap; a facet's mean, then its edges' midpoints."""
    corner_w = weights[list(target.vertices)]
    if len(target.vertices) == 2:
        rows = [t * corner_w[0] + (1 - t) * corner_w[1] for t in (0.5, 0.25, 0.75)]
    else:
        pairs = [(i, j) for i in range(len(corner_w)) for j in range(i + 1, len(corner_w))]
        rows = [corner_w.mean(axis=0), *(0.5 * (corner_w[i] + corner_w[j]) for i, j in pairs)]
    return list(_with_floor_rows(np.asarray(rows), floor))


def targets(scalarizer: str, weights: np.ndarray, values: np.ndarray, ideal: np.ndarray, floor: float) -> list[Target]:
    """The ranked targets of the frontier of ``values`` (one row per weight vector), largest first."""
    m = values.shape[1]
    if scalarizer == LINEAR and m > 2:
        idx, norm, span = normalised_frontier(values)
        facets = lower_facets(norm)
        if facets:  # None (degenerate) or no facet at all: the nearest-neighbour rule below
            aims = _with_floor_rows(np.asarray([f.normal_weight for f in facets]).reshape(-1, m) / span, floor)
            return [Target(tuple(int(idx[v]) for v in f.vertices), f.size, f.size, w) for f, w in zip(facets, aims, strict=True)]
    return [Target((g.a, g.b), g.size, g.priority, gap_weight(scalarizer, g, weights, values, ideal, floor)) for g in frontier_gaps(values)]


def refinement_pools(pool: list[Target], values: np.ndarray, focus: FocusRegion | None) -> dict[str, list[Target]]:
    """The targets each refinement serves, in its order (see the module docstring)."""
    idx, norm, _ = normalised_frontier(values)
    out: dict[str, list[Target]] = {"focus": [], "knee": [], "crowded": []}
    if focus is not None and pool:
        row_inside = np.zeros(values.shape[0], dtype=bool)
        row_inside[idx] = focus.contains(values[idx])
        mids = np.asarray([values[list(t.vertices)].mean(axis=0) for t in pool])
        inside = focus.contains(mids) | np.array([row_inside[list(t.vertices)].any() for t in pool])
        out["focus"] = [t for t, ok in zip(pool, inside, strict=True) if ok]
    if idx.size < 2:
        return out
    touching: dict[int, list[Target]] = {}  # frontier row -> its targets, largest first
    for t in sorted(pool, key=lambda t: (-t.size, t.vertices)):
        for v in t.vertices:
            touching.setdefault(v, []).append(t)
    knee = knee_distances(norm)
    if knee.max() > 1e-12:
        out["knee"] = touching.get(int(idx[int(np.argmax(knee))]), [])
    crowded: dict[int, Target] = {}
    for r in idx[np.argsort(crowding(norm), kind="stable")]:
        crowded.update((id(t), t) for t in touching.get(int(r), []) if id(t) not in crowded)
    out["crowded"] = list(crowded.values())
    return out


@dataclass(frozen=True)
class Proposal:
    """One round: the new weight vectors and the state of the frontier that chose them."""

    weights: np.ndarray
    largest_gap: float
    converged: bool


def running_ideal(values: np.ndarray) -> np.ndarray:
    """The smallest finite value of each objective minus 1e-3 of its range (zeros if none)."""
    finite = values[np.isfinite(values).all(axis=1)]
    if not finite.size:
        return np.zeros(values.shape[1])
    span = finite.max(axis=0) - finite.min(axis=0)
    return finite.min(axis=0) - 1e-3 * np.where(span > 0, span, 1.0)


def propose(
    scalarizer: str,
    weights: np.ndarray,
    values: np.ndarray,
    *,
    n: int,
    floor: float,
    tolerance: float,
    avoid: np.ndarray | None = None,
    ideal: Sequence[float] | None = None,
    refine: Mapping[str, int] | None = None,
    focus: FocusRegion | None = None,
) -> Proposal:
    """Up to ``n`` weight vectors aimed at the largest open targets of the frontier of ``values``.

    Args:
        scalarizer: ``linear``, ``tchebycheff`` or ``smooth_tchebycheff``.
        weights: ``[k, m]`` weight vectors already trained (one row per result; repeats are seeds).
        values: ``[k, m]`` their objective values in minimisation form (NaN: failed).
        n: at most this many proposals.
        floor: every proposed entry is >= floor.
        tolerance: gaps below this (normalised) are closed; refinement targets below ``FINER`` × it.
        avoid: ``[j, m]`` further weight vectors not to repeat (pending ones).
        ideal: the ideal point z (default: the smallest value seen minus 1e-3 of the range).
        refine: slots of this round for ``focus`` / ``knee`` / ``crowded`` refinement; a key
            present means that refinement is on (it also takes leftover slots).
        focus: the focus region (minimisation form), for the ``focus`` slots.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64).reshape(values.shape)
    table = per_weight(weights, values)
    w_u, v_u = table.weights, table.mean
    largest = max((g.size for g in frontier_gaps(v_u)), default=float("inf"))
    z = running_ideal(v_u) if ideal is None else np.asarray(ideal, dtype=np.float64)
    pool = targets(scalarizer, w_u, v_u, z, floor)
    refine = dict(refine or {})
    pools = refinement_pools(pool, v_u, focus) if refine else {}
    seen = [w for w in weights] + ([w for w in np.asarray(avoid, dtype=np.float64)] if avoid is not None and len(avoid) else [])
    failed = w_u[~np.isfinite(v_u).all(axis=1)]
    chosen: list[np.ndarray] = []

    def take(candidates: list[Target], k: int, threshold: float) -> None:
        for target in candidates:
            if len(chosen) >= n or k <= 0:
                return
            if target.size < threshold:
                continue
            aims = [target.weight]
            if any(np.max(np.abs(target.weight - f)) < SAME_WEIGHT for f in failed):  # the aim failed: try between the ends
                aims += fallbacks(target, w_u, floor)
            for c in aims:
                if not any(np.max(np.abs(c - s)) < SAME_WEIGHT for s in seen):  # else explored: tried or pending
                    chosen.append(c)
                    seen.append(c)
                    k -= 1
                    break

    for kind in REFINEMENTS:
        if kind in refine:
            take(pools[kind], refine[kind], tolerance * FINER)
    take(pool, n, tolerance)
    for kind in REFINEMENTS:  # slots the largest targets left: back to the refinements
        if kind in refine:
            take(pools[kind], n, tolerance * FINER)
    out = np.asarray(chosen, dtype=np.float64).reshape(-1, values.shape[1])
    return Proposal(out, largest, converged=out.shape[0] == 0)
