"""Adaptive refinement of the swept weight vectors: spend trials where the frontier has gaps.

Pure numpy/scipy (no Ray). The Tune searcher :class:`paretosweep.sweep.SamplerSearcher`
and ``benchmarks/sample_efficiency.py`` drive the same :class:`AdaptiveSampler`, so the
benchmark measures exactly what a sweep does.

How it works, in synchronous rounds:

1. **Initial design** (``n_initial`` weight vectors): the Das–Dennis lattice with the most points
   ``<= n_initial`` (it holds the m corners, so each task's end of the front is trained), then the
   centroid, then scrambled Sobol' points to fill up; the floor is applied as in the other designs.
2. **Rounds** of at most ``batch`` new weight vectors, each computed from *all* results so far.
   The results are first reduced to one point per weight vector, the mean over its seeds
   (:mod:`paretosweep.sampling._noise`). The non-dominated points are normalised per objective
   to ``[0, 1]`` (ideal → 0, nadir → 1 over the current frontier) and the **targets** — places
   between frontier points where a new point can go — are ranked, largest first:

   * 2 tasks: the gaps between neighbours along the front, ranked by the normalised area of the
     box the two neighbours span (the most hypervolume a point between them can add).
   * ``linear``, 2 tasks — NISE (Cohon 1978, non-inferior set estimation): the weight vector
     normal to the segment ``a → b`` between the two neighbours, ``w ∝ (a_2 − b_2, b_1 − a_1)``
     in raw (minimisation) units. Minimising ``w·f`` finds the frontier point farthest beyond the
     segment, or proves there is none (the segment is then a facet of the convex hull).
   * ``linear``, more than 2 tasks — the same idea in m dimensions: the **lower facets of the
     convex hull** of the normalised frontier (:mod:`paretosweep.sampling._hull`), each facet's
     inward normal as the weight vector (``w_i ∝ −n_i / span_i`` in raw units), the largest
     facets first. Fallback (fewer than 2 frontier points, points qhull refuses, more than 6
     tasks, or more frontier points than qhull handles in about a second — 100 at 6 tasks, see
     ``HULL_MAX_POINTS``): the nearest-neighbour gaps below, each aimed at by the mean of its two
     end points' weight vectors.
   * ``tchebycheff`` / ``smooth_tchebycheff`` — the ray from the ideal point ``z`` through the
     gap's midpoint ``p``: ``w ∝ 1 / (p − z)``. The Tchebycheff optimum lies where the ray with
     direction ``(1/w_1, …, 1/w_m)`` meets the front, i.e. in the gap. With more than 2 tasks there
     is no ordering along the front, so the gaps are the edges from every frontier point to its
     ``m − 1`` nearest frontier neighbours, ranked by normalised distance.

   A target's ``size`` (normalised distance of its ends; a facet's longest edge) below
   ``tolerance`` closes it. A weight vector within ``1e-3`` (max-norm) of one already tried or
   proposed is not proposed again: that target is *explored* (linear: the segment or facet is a
   hull facet, or the front is concave there; Tchebycheff: a discontinuity or training noise).
   When the aimed weight vector was tried and its trial *failed* (NaN), the target is instead
   aimed at by weight vectors between its end points' weights (½, ¼, ¾ of the way; for a facet the
   mean of its vertices' weights, then the midpoints of its edges), the first not yet tried.

   **Shares of a round** (each share × ``batch``, accumulated over rounds so fractions add up):

   * ``focus`` (``sampler.focus`` bounds, :mod:`paretosweep.sampling._focus`): targets *inside*
     the region — one of its end points, or its midpoint, meets every bound — largest first, closed
     only below ``tolerance × 0.25``, so the frontier gets dense there.
   * ``knee`` (or ``focus: knee``): the targets touching the knee point (Das 1999, see
     :mod:`paretosweep.sampling._dense`), largest first, down to ``tolerance × 0.25``.
   * ``crowded``: the targets touching the most crowded frontier points (smallest mean distance
     to their nearest frontier neighbours), largest first, down to ``tolerance × 0.25``.
   * the rest: the largest targets anywhere, down to ``tolerance``. A share with nothing to refine
     gives its slots to the largest targets, and slots left over go back to the enabled
     refinements, so a round is never short while anything is open.

   **Re-tests** (``retests > 0``): a weight vector whose mean point is dominated only by a margin
   within the noise is handed out again (a new seed is the caller's job), at most ``batch`` per
   round and ``retests`` in all (:mod:`paretosweep.sampling._noise`).
3. **Stop** when the budget (``n_weights`` new weight vectors in all; re-tests come on top) is
   used, or when no target is open: every gap is below ``tolerance`` (refinement targets below
   ``tolerance × 0.25``) or explored. ``largest_gap`` reports the largest normalised distance
   between neighbouring frontier points.

The ideal point ``z`` is the smallest value of each objective seen so far minus 1e-3 of its range
(or the ``ideal`` given). The weight vectors act on the training losses, so the directions are
exact when the objectives *are* the task losses (the default); for other metrics they are a
heuristic that still orders the search by the largest gaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from paretosweep import simplex
from paretosweep.errors import ConfigError
from paretosweep.sampling._dense import crowding, knee_distances
from paretosweep.sampling._focus import KNEE, FocusRegion
from paretosweep.sampling._hull import lower_facets
from paretosweep.sampling._noise import near_misses, per_weight, weight_key

#: Two weight vectors closer than this (max-norm) count as the same.
SAME_WEIGHT = 1e-3
LINEAR = "linear"
TCHEBYCHEFF_LIKE = ("tchebycheff", "smooth_tchebycheff")
#: Refinement targets (focus, knee, crowded) close at ``tolerance * FINER``.
FINER = 0.25
#: The round shares, in the order they are served.
REFINEMENTS = ("focus", "knee", "crowded")


def default_n_initial(m: int, n_weights: int) -> int:
    """``m + 1`` (the corners and the centroid; for 2 tasks: both ends and the middle), capped by the budget."""
    return max(1, min(m + 1, n_weights))


def resolve_n_initial(m: int, n_weights: int, n_initial: int | None, tolerance: float) -> int:
    """Check the adaptive sampler's settings against the task count and budget; the initial design size.

    Raises:
        ConfigError: ``sampler.tolerance`` <= 0, ``sampler.n_initial`` < m (the design cannot
            reach every task's end of the front), ``sampler.n_initial`` > ``budget.n_weights``, or
            ``budget.n_weights`` smaller than the default initial design (``m + 1``).
    """
    if not tolerance > 0:
        raise ConfigError(f"`sampler.tolerance` should be > 0 (a normalised gap, e.g. 0.02); found {tolerance}.")
    if n_initial is None:
        if n_weights < m + 1:
            raise ConfigError(
                f"`budget.n_weights` ({n_weights}) is smaller than the adaptive sampler's initial design: "
                f"{m + 1} weight vectors (the {m} corners of the simplex and its centroid) for {m} tasks. "
                f"Raise `budget.n_weights` to at least {m + 1} (more, to leave trials for refinement), "
                f"or set `sampler.n_initial` between {m} and {n_weights}."
                if n_weights >= m
                else f"`budget.n_weights` ({n_weights}) is smaller than the adaptive sampler's initial design: "
                f"{m + 1} weight vectors (the {m} corners of the simplex and its centroid) for {m} tasks. "
                f"Raise `budget.n_weights` to at least {m + 1} (more, to leave trials for refinement)."
            )
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
    pts = values[idx]
    keep = [i for i, p in enumerate(pts) if not np.any(np.all(pts <= p, axis=1) & np.any(pts < p, axis=1))]
    return idx[keep]


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


@dataclass
class AdaptiveSampler:
    """The adaptive sampler's state: ask for a round, tell its results, until it says it is done.

    Rounds are synchronous: :meth:`ask` hands out the initial design first, then one round of at
    most ``batch`` proposals (plus re-tests); every weight vector of a round must be told
    (:meth:`tell`) before the next :meth:`ask`. An empty round means finished (budget used or
    converged). After each :meth:`ask`, :attr:`last_retest` says which rows are re-tests.

    Args:
        m: number of tasks (objectives).
        scalarizer: the sweep's scalarizer name.
        n_weights: the budget: new weight vectors in all, initial design included.
        n_initial: initial design size (default :func:`default_n_initial`).
        tolerance: stop when the largest normalised gap is below it.
        batch: proposals per round.
        floor: the sampler's floor on each weight.
        seed: seeds the Sobol' fill of the initial design.
        ideal: the ideal point z for Tchebycheff directions (default: running minimum).
        focus: a :class:`FocusRegion` (from :func:`paretosweep.sampling.parse_focus`), ``"knee"``, or None.
        focus_share: the share of each round aimed into the focus (region or knee).
        knee_share: the share of each round that refines around the knee.
        crowded_share: the share of each round that refines the crowded parts.
        retests: re-tests of near-miss weight vectors in all (0: off).
        retest_margin: the normalised domination margin within which a point is re-tested.
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
    focus: FocusRegion | str | None = None
    focus_share: float = 0.75
    knee_share: float = 0.0
    crowded_share: float = 0.0
    retests: int = 0
    retest_margin: float = 0.02
    weights: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    proposed: int = 0
    rounds: int = 0
    largest_gap: float = float("inf")
    converged: bool = False
    retests_used: int = 0
    last_retest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    _credit: dict[str, float] = field(default_factory=dict)
    _retested: dict[tuple[float, ...], int] = field(default_factory=dict)
    _queue: list[np.ndarray] = field(default_factory=list)  # the current round, not handed out yet
    _outstanding: int = 0  # weight vectors handed out by ``ask`` whose results were not told

    def __post_init__(self) -> None:
        if self.scalarizer not in (LINEAR, *TCHEBYCHEFF_LIKE):
            raise ConfigError(f"The adaptive sampler knows scalarizers {[LINEAR, *TCHEBYCHEFF_LIKE]}; found `{self.scalarizer}`.")
        if self.batch < 1:
            raise ConfigError(f"`sampler.batch` should be >= 1; found {self.batch}.")
        if not (self.focus is None or self.focus == KNEE or isinstance(self.focus, FocusRegion)):
            raise ConfigError(f"`sampler.focus` should be a list of bounds or `knee` (parsed by parse_focus); found {self.focus!r}.")
        shares = self.shares()
        given = (self.focus_share, self.knee_share, self.crowded_share)
        if any(not 0.0 <= s <= 1.0 for s in given) or sum(shares.values()) > 1.0 + 1e-9:
            raise ConfigError(
                f"`sampler.refine` shares should each lie in [0, 1] and add up to at most 1 (the rest of each round "
                f"goes to the largest gaps); found {shares}."
            )
        if self.retests < 0 or not self.retest_margin > 0:
            raise ConfigError(f"`sampler.retests` should be >= 0 and `sampler.retest_margin` > 0; found {self.retests}, {self.retest_margin}.")
        self.n_initial = resolve_n_initial(self.m, self.n_weights, self.n_initial, self.tolerance)

    def shares(self) -> dict[str, float]:
        """The refinement shares in use (``focus: knee`` adds the focus share to the knee's)."""
        out = {}
        if isinstance(self.focus, FocusRegion):
            out["focus"] = self.focus_share
        knee = self.knee_share + (self.focus_share if self.focus == KNEE else 0.0)
        if knee > 0:
            out["knee"] = knee
        if self.crowded_share > 0:
            out["crowded"] = self.crowded_share
        return out

    @property
    def rounds_done(self) -> bool:
        """No round is left to compute: budget used, or converged."""
        return self.converged or self.proposed >= self.n_weights

    # -- the Sampler protocol -------------------------------------------------------------
    @property
    def budget(self) -> int:
        """New weight vectors in all (``n_weights``); re-tests come on top."""
        return self.n_weights

    @property
    def planned(self) -> np.ndarray:
        """The initial design, known before any result."""
        assert self.n_initial is not None
        return initial_design(self.m, self.n_initial, floor=self.floor, seed=self.seed)

    @property
    def finished(self) -> bool:
        """Every round handed out, and none left to compute."""
        return not self._queue and self.rounds_done

    def ask(self, n: int) -> np.ndarray | None:
        """Up to ``n`` weight vectors of the current round; None while the round's results are out.

        The next round is computed from every result once the current one is handed out and told
        (re-tests are weight vectors asked again: the caller trains them on a new seed).
        """
        if not self._queue:
            if self._outstanding:
                return None
            self._queue = list(self.next_round())
        out, self._queue = self._queue[: max(0, n)], self._queue[max(0, n) :]
        self._outstanding += len(out)
        return np.asarray(out, dtype=np.float64).reshape(-1, self.m)

    def _slots(self, n: int) -> dict[str, int]:
        """This round's refinement slots: each share × n, the fractions carried to later rounds."""
        out = {}
        for kind, share in self.shares().items():
            credit = self._credit.get(kind, 0.0) + share * n
            out[kind] = int(np.floor(credit + 1e-9))
            self._credit[kind] = credit - out[kind]
        return out

    def _retest_round(self, table_weights: np.ndarray, table_values: np.ndarray, limit: int) -> list[np.ndarray]:
        """Near-miss weight vectors to run again (fewest re-tests so far first), at most ``limit``."""
        if limit <= 0:
            return []
        table = per_weight(table_weights, table_values)
        misses = near_misses(table.mean, table.spread, frontier(table.mean), margin=self.retest_margin)
        misses.sort(key=lambda t: (self._retested.get(weight_key(table.weights[t[0]]), 0), t[1]))
        return [table.weights[i] for i, _ in misses[:limit]]

    def next_round(self) -> np.ndarray:
        """The next round's weight vectors ``[k, m]`` (k = 0: finished); re-tests last (see :attr:`last_retest`)."""
        self.last_retest = np.zeros(0, dtype=int)
        if self.rounds_done:
            return np.zeros((0, self.m))
        retest: list[np.ndarray] = []
        if self.rounds == 0:
            assert self.n_initial is not None
            out = initial_design(self.m, self.n_initial, floor=self.floor, seed=self.seed)
        else:
            n = min(self.batch, self.n_weights - self.proposed)
            told_w = np.asarray(self.weights).reshape(-1, self.m)
            told_v = np.asarray(self.values).reshape(-1, self.m)
            proposal = propose(
                self.scalarizer,
                told_w,
                told_v,
                n=n,
                floor=self.floor,
                tolerance=self.tolerance,
                ideal=self.ideal,
                refine=self._slots(n),
                focus=self.focus if isinstance(self.focus, FocusRegion) else None,
            )
            retest = self._retest_round(told_w, told_v, min(self.batch, self.retests - self.retests_used))
            self.largest_gap = proposal.largest_gap
            self.converged = proposal.converged and not retest
            out = proposal.weights
        self.rounds += 1
        self.proposed += out.shape[0]
        counts = []
        for w in retest:
            key = weight_key(w)
            self._retested[key] = self._retested.get(key, 0) + 1
            counts.append(self._retested[key])
        self.retests_used += len(retest)
        self.last_retest = np.asarray([0] * out.shape[0] + counts, dtype=int)
        return np.concatenate([out, np.asarray(retest).reshape(-1, self.m)]) if retest else out

    def tell(self, weights: Sequence[float], values: Sequence[float] | np.ndarray) -> None:
        """Results of one weight vector: ``[m]`` or ``[r, m]`` objective values (minimisation; NaN if failed).

        Each row is one trial (a seed); the sampler works on their mean (:mod:`._noise`).
        """
        rows = np.asarray(values, dtype=np.float64).reshape(-1, self.m)
        for row in rows:
            self.weights.append(np.asarray(weights, dtype=np.float64).reshape(self.m))
            self.values.append(row)
        self._outstanding = max(0, self._outstanding - 1)
