"""Lower convex hull facets of a frontier: the weight vectors of linear scalarization for m > 2 tasks.

The m-objective form of NISE (Cohon 1978) as the *sandwich* algorithms use it (Solanki, Appino &
Cohon 1993; Rennen, van Dam & den Hertog 2011, "Enhancement of sandwich algorithms for
approximating higher-dimensional convex Pareto sets"): the inner approximation of a convex front
is ``conv(P) + R^m_+`` (the frontier points ``P``, normalised per objective to ``[0, 1]``, plus
everything they dominate). Each of its facets whose outward normal ``n`` has no positive
component faces the ideal side (a *lower* facet); its vertices all minimise ``w·x`` for
``w = −n ≥ 0``, so training with that weight vector either finds a new point beyond the facet —
the frontier point farthest from it — or proves there is none (the facet is part of the convex
hull of the whole front: *explored*). In raw (minimisation) units the weight is
``w_i ∝ −n_i / span_i``, ``span`` being the frontier's range per objective. A zero component
(a facet along the boundary of the front) becomes the sampler's floor.

``R^m_+`` is represented by raising each point's coordinates one at a time to ``U = 2`` (beyond
the normalised nadir); without it the hull of ``m + 1`` points (corners and centroid of the
initial design) has no facet with a non-positive normal, only edges. Qhull's output is
triangulated: triangles with the same normal are merged back into one facet. A facet is ranked
by the longest distance between its distinct frontier points (``size``, the stopping measure),
then by its ``(m − 1)``-volume; facets that touch a single frontier point (vertical walls) are
dropped. (``size`` of a merged facet is the longest such distance within one triangle.)

Degenerate cases return ``None`` and the caller falls back to its nearest-neighbour rule: fewer
than 2 frontier points, more than :data:`HULL_MAX_TASKS` tasks, more points than
:data:`HULL_MAX_POINTS` allows for ``m`` (qhull's output grows like ``k^⌊m/2⌋`` facets: measured
here ~1 s for 100 points at m = 6), or points qhull refuses (not spanning ``m`` dimensions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

#: Above this many tasks the facets are not computed (fall back).
HULL_MAX_TASKS = 6
#: Most frontier points per task count for which the facets are computed (about 1 s or less).
HULL_MAX_POINTS = {3: 2000, 4: 800, 5: 250, 6: 100}
#: A normal component above this counts as positive (the facet faces away from the ideal side).
NORMAL_EPS = 1e-12
#: The coordinate the points are raised to, to represent ``conv(P) + R^m_+``.
RAISE_TO = 2.0


@dataclass(frozen=True)
class Facet:
    """A lower facet: its frontier points (row indices into the points given), weight in normalised units, size, volume."""

    vertices: tuple[int, ...]
    normal_weight: np.ndarray
    size: float
    volume: float


def _volumes(corners: np.ndarray) -> np.ndarray:
    """``[F]`` ``(k−1)``-volumes of the simplices with corners ``[F, k, m]``: ``sqrt(det(E Eᵀ)) / (k−1)!``."""
    edges = corners[:, 1:] - corners[:, :1]
    det = np.linalg.det(edges @ np.swapaxes(edges, 1, 2))
    return np.sqrt(np.maximum(det, 0.0)) / math.factorial(edges.shape[1])


def lower_facets(norm: np.ndarray) -> list[Facet] | None:
    """The lower facets of ``conv(norm) + R^m_+`` (``norm``: ``[k, m]`` normalised minimisation values), largest first.

    Returns ``None`` for the degenerate cases named in the module docstring.
    """
    k, m = norm.shape
    if m > HULL_MAX_TASKS or k < 2 or k > HULL_MAX_POINTS.get(m, 0):
        return None
    raised = np.repeat(norm, m, axis=0)
    raised[np.arange(k * m), np.tile(np.arange(m), k)] = RAISE_TO
    origin = np.concatenate([np.arange(k), np.repeat(np.arange(k), m)])  # the frontier row each hull point comes from
    try:
        hull = ConvexHull(np.vstack([norm, raised]))
    except (QhullError, ValueError):
        return None
    lower = np.all(hull.equations[:, :-1] <= NORMAL_EPS, axis=1)
    simplices, normals = hull.simplices[lower], hull.equations[lower, :-1]
    rows = origin[simplices]  # [F, m] frontier rows of each facet's vertices
    corners = norm[rows]
    sizes = np.linalg.norm(corners[:, :, None, :] - corners[:, None, :, :], axis=-1).max(axis=(1, 2))
    keep = np.flatnonzero(sizes > 1e-12)
    volumes = _volumes(hull.points[simplices[keep]])
    weights = -normals[keep] / np.sum(-normals[keep], axis=1, keepdims=True)
    # Qhull triangulates: the triangles of one flat face share its normal; they are merged into one facet.
    _, face = np.unique(np.round(weights, 9), axis=0, return_inverse=True)
    merged: dict[int, tuple[set[int], float, float, int]] = {}
    for i, f in enumerate(face.reshape(-1)):
        rows_i, size, volume, first = merged.get(int(f), (set(), 0.0, 0.0, i))
        merged[int(f)] = (rows_i | {int(r) for r in rows[keep[i]]}, max(size, float(sizes[keep[i]])), volume + float(volumes[i]), first)
    facets = [Facet(tuple(sorted(r)), weights[first], size, volume) for r, size, volume, first in merged.values()]
    return sorted(facets, key=lambda f: (-f.size, -f.volume, f.vertices))
