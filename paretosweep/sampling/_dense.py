"""Where the adaptive sampler refines beyond an even spread: the knee and crowded parts of a frontier.

Both take the frontier in normalised minimisation form ``z`` ``[k, m]`` (each objective
rescaled to ``[0, 1]`` over the frontier; the ideal point is the origin) and score every point;
the sampler then aims a share of each round into the gaps that touch the best-scored points,
down to a finer threshold than the even-spread rounds use, so the frontier shows its fine
structure there.

* **Knee** — Das (1999), "On characterizing the 'knee' of the Pareto curve based on
  Normal-Boundary Intersection": the knee is the frontier point farthest from the convex hull of
  the individual minima (CHIM), on the ideal side. With ``E`` the ``m`` extreme points (the best
  point of each objective) the CHIM's hyperplane is ``{x : n·x = 1}`` with ``n = E⁻¹ 1``; the
  score is the signed distance ``(1 − n·z) / ‖n‖`` (if the extremes do not give a positive ``n``,
  e.g. repeated extremes, the hyperplane ``Σ z_i = 1``). It is where the trade-off turns fastest —
  Branke et al. (2004), "Finding knees in multi-objective optimization", measure the same bulge as
  the largest angle between a point's neighbours (2 tasks) or its marginal utility. A front that is
  concave everywhere has no point with a positive score: no knee, nothing to refine.
* **Crowding** — the inverse of NSGA-II's crowding idea (Deb et al. 2002): the mean normalised
  distance from a point to its ``min(m, k − 1)`` nearest frontier neighbours; the *smallest* values
  mark the crowded parts, where trained points already cluster (a flat stretch of the front that
  many weight vectors map to) and where finer sampling resolves the structure.

:func:`knee_distances` lives in :mod:`paretosweep.frontier._picks`, so ``paretosweep export --pick
knee`` picks by the same rule.
"""

from __future__ import annotations

import numpy as np

from paretosweep.frontier import knee_distances

__all__ = ["crowding", "knee_distances"]


def crowding(z: np.ndarray) -> np.ndarray:
    """``[k]`` mean normalised distance to the ``min(m, k − 1)`` nearest frontier neighbours (small: crowded)."""
    k, m = z.shape
    if k < 2:
        return np.full(k, np.inf)
    dist = np.linalg.norm(z[:, None, :] - z[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    nearest = np.sort(dist, axis=1)[:, : min(m, k - 1)]
    return nearest.mean(axis=1)
