"""Adaptive refinement of the swept weight vectors: spend trials where the frontier has gaps.

Pure numpy (plus :mod:`paretosweep.frontier` for dominance); no Ray. The Tune searcher in
:mod:`paretosweep.sweep._adaptive_searcher` and ``benchmarks/sample_efficiency.py`` drive the
same :class:`AdaptiveSampler`, so the benchmark measures exactly what a sweep does.

How it works, in synchronous rounds:

1. **Initial design** (``n_initial`` weight vectors): the Das–Dennis lattice with the most points
   ``<= n_initial`` (it holds the m corners, so each task's end of the front is trained), then the
   centroid, then scrambled Sobol' points to fill up; the floor is applied as in the other designs.
2. **Rounds** of at most ``batch`` new weight vectors, each computed from *all* results so far:
   the non-dominated points are normalised per objective to ``[0, 1]`` (ideal → 0, nadir → 1 over
   the current frontier), the **gaps** between neighbouring frontier points are ranked, largest
   first (2 tasks: by the normalised area of the box the two neighbours span, i.e. the most
   hypervolume a point between them can add; more tasks: by normalised distance), gaps shorter
   than ``tolerance`` are closed, and each open gap gives one weight vector:

   * ``linear``, 2 tasks — NISE (Cohon 1978, non-inferior set estimation): the weight vector
     normal to the segment ``a → b`` between the two neighbours, ``w ∝ (a_2 − b_2, b_1 − a_1)``
     in raw (minimisation) units. Minimising ``w·f`` finds the frontier point farthest beyond the
     segment, or proves there is none (the segment is then a facet of the convex hull).
   * ``tchebycheff`` / ``smooth_tchebycheff`` — the ray from the ideal point ``z`` through the
     gap's midpoint ``p``: ``w ∝ 1 / (p − z)``. The Tchebycheff optimum lies where the ray with
     direction ``(1/w_1, …, 1/w_m)`` meets the front, i.e. in the gap.
   * more than 2 tasks (simplification, stated honestly): there is no ordering along the front, so
     the "gaps" are the edges from every frontier point to its ``m − 1`` nearest frontier
     neighbours (normalised distance). Tchebycheff uses the midpoint rule above; linear uses the
     mean of the two end points' weight vectors (not the facet normals of the lower convex hull
     that the issue names — that is left to do). Holes in the middle of a well-covered region are
     found only through their border points' nearest-neighbour edges.

   A weight vector within ``1e-3`` (max-norm) of one already tried or proposed is not proposed
   again: that gap is *explored* (linear: the segment is a hull facet, or the front is concave
   there; Tchebycheff: a discontinuity or training noise), and the next gap is taken instead.
   When the aimed weight vector was tried and its trial *failed* (NaN), the gap is instead aimed
   at by the weight vectors ½, ¼ and ¾ of the way between its two end points' weights, the
   first not yet tried (a failure does not leave a hole for ever; no weight is trained twice).
3. **Stop** when the budget (``n_weights`` weight vectors in all) is used, when the largest
   normalised gap (Euclidean distance of neighbours) is below ``tolerance``, or when every gap
   at or above it is explored.

The ideal point ``z`` is the smallest value of each objective seen so far minus 1e-3 of its range
(or the ``ideal`` given). The weight vectors act on the training losses, so the directions are
exact when the objectives *are* the task losses (the default); for other metrics they are a
heuristic that still orders the search by the largest gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from paretosweep import simplex
from paretosweep.errors import ConfigError

#: Two weight vectors closer than this (max-norm) count as the same.
SAME_WEIGHT = 1e-3
LINEAR = "linear"
TCHEBYCHEFF_LIKE = ("tchebycheff", "smooth_tchebycheff")


def default_n_initial(m: int, n_weights: int) -> int:
    """``m + 1`` (the corners and the centroid; for 2 tasks: both ends and the middle), capped by the budget."""
    return max(1, min(m + 1, n_weights))


def resolve_n_initial(m: int, n_weights: int, n_initial: int | None, tolerance: float) -> int:
    """Check the adaptive sampler's settings against the task count and budget; the initial design size.

    Raises:
        ConfigError: ``sampler.tolerance`` <= 0, ``sampler.n_initial`` < m (the design cannot
            reach every task's end of the front) or ``sampler.n_initial`` > ``budget.n_weights``.
    """
    if not tolerance > 0:
        raise ConfigError(f"`sampler.tolerance` should be > 0 (a normalised gap, e.g. 0.02); found {tolerance}.")
    if n_initial is None:
        return default_n_initial(m, n_weights)
    if n_initial < m:
        raise ConfigError(
            f"`sampler.n_initial` should be >= the number of tasks ({m}) so the initial design holds each "
            f"task's corner of the simplex; found {n_initial}."
        )
    if n_initial > n_weights:
        raise ConfigError(
            f"`sampler.n_initial` ({n_initial}) is larger than the budget `budget.n_weights` ({n_weights}): "
            "the adaptive sampler would have no trials left to refine with. Lower `sampler.n_initial` or "
            "raise `budget.n_weights`."
        )
    return n_initial


def initial_design(m: int, n_initial: int, *, floor: float, seed: int) -> np.ndarray:
    """``[n_initial, m]`` space-filling weight vectors: lattice (corners first), centroid, Sobol'."""
    if n_initial < m:
        lattice = simplex.das_dennis(m, 1)[:n_initial]
    else:
        lattice = simplex.das_dennis_at_most(m, n_initial)
    rows = [tuple(w) for w in lattice]
    centroid = tuple(np.full(m, 1.0 / m))
    if len(rows) < n_initial and not any(np.allclose(r, centroid) for r in rows):
        rows.append(centroid)
    if len(rows) < n_initial:
        rows.extend(tuple(w) for w in simplex.sobol_simplex(m, n_initial - len(rows), seed=seed))
    return simplex.apply_floor(np.asarray(rows[:n_initial], dtype=np.float64), floor)


def _with_floor(w: np.ndarray, floor: float) -> np.ndarray:
    """A direction ``w >= 0`` as a simplex point with every entry >= ``floor`` (clip, renormalise)."""
    w = np.where(np.isfinite(w), np.maximum(w, 0.0), 0.0)
    w = w / w.sum() if w.sum() > 0 else np.full(w.shape, 1.0 / w.size)
    for _ in range(8):  # clipping raises the sum; a few passes settle it
        w = np.maximum(w, floor)
        w = w / w.sum()
    return w


def frontier(values: np.ndarray) -> np.ndarray:
    """Indices of the distinct non-dominated rows of ``values`` (minimisation; NaN rows ignored)."""
    finite = np.flatnonzero(np.isfinite(values).all(axis=1))
    if finite.size == 0:
        return finite
    _, first = np.unique(values[finite], axis=0, return_index=True)
    idx = finite[np.sort(first)]
    pts = values[idx]
    keep = [i for i, p in enumerate(pts) if not np.any(np.all(pts <= p, axis=1) & np.any(pts < p, axis=1))]
    return idx[keep]


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
    idx = frontier(values)
    if idx.size < 2:
        return []
    pts = values[idx]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    norm = (pts - lo) / span
    m = values.shape[1]
    pairs: set[tuple[int, int]] = set()
    if m == 2:
        order = np.argsort(norm[:, 0], kind="stable")
        pairs = {(int(order[i]), int(order[i + 1])) for i in range(len(order) - 1)}
    else:
        dist = np.linalg.norm(norm[:, None, :] - norm[None, :, :], axis=-1)
        np.fill_diagonal(dist, np.inf)
        k = min(m - 1, len(pts) - 1)
        for i in range(len(pts)):
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


@dataclass(frozen=True)
class Proposal:
    """One round: the new weight vectors and the state of the frontier that chose them."""

    weights: np.ndarray
    largest_gap: float
    converged: bool


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
) -> Proposal:
    """Up to ``n`` weight vectors aimed at the largest open gaps of the frontier of ``values``.

    Args:
        scalarizer: ``linear``, ``tchebycheff`` or ``smooth_tchebycheff``.
        weights: ``[k, m]`` weight vectors already trained (one row per result).
        values: ``[k, m]`` their objective values in minimisation form (NaN: failed).
        n: at most this many proposals.
        floor: every proposed entry is >= floor.
        tolerance: gaps below this (normalised) are closed.
        avoid: ``[j, m]`` further weight vectors not to repeat (pending ones).
        ideal: the ideal point z (default: the smallest value seen minus 1e-3 of the range).
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64).reshape(values.shape)
    gaps = frontier_gaps(values)
    largest = max((g.size for g in gaps), default=float("inf"))
    if ideal is None:
        finite = values[np.isfinite(values).all(axis=1)]
        if finite.size:
            span = finite.max(axis=0) - finite.min(axis=0)
            z = finite.min(axis=0) - 1e-3 * np.where(span > 0, span, 1.0)
        else:
            z = np.zeros(values.shape[1])
    else:
        z = np.asarray(ideal, dtype=np.float64)
    seen = [w for w in weights] + ([w for w in np.asarray(avoid, dtype=np.float64)] if avoid is not None and len(avoid) else [])
    failed = weights[~np.isfinite(values).all(axis=1)]
    chosen: list[np.ndarray] = []
    for gap in gaps:
        if len(chosen) >= n:
            break
        if gap.size < tolerance:
            continue
        w = gap_weight(scalarizer, gap, weights, values, z, floor)
        candidates = [w]
        if any(np.max(np.abs(w - f)) < SAME_WEIGHT for f in failed):  # the aim failed: try between the ends' weights
            candidates += [_with_floor(t * weights[gap.a] + (1 - t) * weights[gap.b], floor) for t in (0.5, 0.25, 0.75)]
        for c in candidates:
            if not any(np.max(np.abs(c - s)) < SAME_WEIGHT for s in seen):  # else explored: tried or pending
                chosen.append(c)
                seen.append(c)
                break
    out = np.asarray(chosen, dtype=np.float64).reshape(-1, values.shape[1])
    return Proposal(out, largest, converged=out.shape[0] == 0)


@dataclass
class AdaptiveSampler:
    """The adaptive sampler's state: ask for a round, tell its results, until it says it is done.

    Rounds are synchronous: :meth:`ask` hands out the initial design first, then one round of at
    most ``batch`` proposals; every weight vector of a round must be told (:meth:`tell`) before
    the next :meth:`ask`. An empty round means finished (budget used or converged).

    Args:
        m: number of tasks (objectives).
        scalarizer: the sweep's scalarizer name.
        n_weights: the budget: weight vectors in all, initial design included.
        n_initial: initial design size (default :func:`default_n_initial`).
        tolerance: stop when the largest normalised gap is below it.
        batch: proposals per round.
        floor: the sampler's floor on each weight.
        seed: seeds the Sobol' fill of the initial design.
        ideal: the ideal point z for Tchebycheff directions (default: running minimum).
    """

    m: int
    scalarizer: str
    n_weights: int
    n_initial: int | None = None
    tolerance: float = 0.02
    batch: int = 2
    floor: float = 0.01
    seed: int = 0
    ideal: Sequence[float] | None = None
    weights: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    proposed: int = 0
    rounds: int = 0
    largest_gap: float = float("inf")
    converged: bool = False

    def __post_init__(self) -> None:
        if self.scalarizer not in (LINEAR, *TCHEBYCHEFF_LIKE):
            raise ConfigError(f"The adaptive sampler knows scalarizers {[LINEAR, *TCHEBYCHEFF_LIKE]}; found `{self.scalarizer}`.")
        if self.batch < 1:
            raise ConfigError(f"`sampler.batch` should be >= 1; found {self.batch}.")
        self.n_initial = resolve_n_initial(self.m, self.n_weights, self.n_initial, self.tolerance)

    @property
    def finished(self) -> bool:
        """Budget used, or converged."""
        return self.converged or self.proposed >= self.n_weights

    def ask(self) -> np.ndarray:
        """The next round's weight vectors ``[k, m]`` (k = 0: finished)."""
        if self.finished:
            return np.zeros((0, self.m))
        if self.rounds == 0:
            assert self.n_initial is not None
            out = initial_design(self.m, self.n_initial, floor=self.floor, seed=self.seed)
        else:
            n = min(self.batch, self.n_weights - self.proposed)
            proposal = propose(
                self.scalarizer,
                np.asarray(self.weights).reshape(-1, self.m),
                np.asarray(self.values).reshape(-1, self.m),
                n=n,
                floor=self.floor,
                tolerance=self.tolerance,
                ideal=self.ideal,
            )
            self.largest_gap = proposal.largest_gap
            self.converged = proposal.converged
            out = proposal.weights
        self.rounds += 1
        self.proposed += out.shape[0]
        return out

    def tell(self, weights: Sequence[float], values: Sequence[float]) -> None:
        """One result: the trained weight vector and its ``[m]`` objective values (minimisation; NaN if failed)."""
        self.weights.append(np.asarray(weights, dtype=np.float64).reshape(self.m))
        self.values.append(np.asarray(values, dtype=np.float64).reshape(self.m))
