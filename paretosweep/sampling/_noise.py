"""Noisy trials: one value per weight vector (the mean over its seeds), and re-tests of near misses.

**Mean over seeds.** With ``budget.seeds_per_weight > 1`` (or a re-test) a weight vector has
several results. The sampler works on one point per weight vector: the mean of its finished
seeds (failed seeds are left out; a weight vector all of whose seeds failed counts as failed),
with the per-objective standard deviation as its *spread*. The best seed alone would make the
frontier optimistic and chase noise.

**Re-tests.** A weight vector whose mean point ``p`` is dominated only by a small margin may be
on the frontier after all: the margin is ``δ(p) = min over dominating frontier points q of
max_i (p_i − q_i)`` in normalised units (the additive-ε distance by which ``q`` beats ``p``).
``p`` is re-run with a new seed when ``δ(p) <= max(retest_margin, spread)``, ``spread`` being the
largest normalised seed standard deviation of ``p`` or of its closest dominating point (0 with a
single seed). Near misses are taken smallest ``δ`` first, weight vectors re-tested fewer times
first; the sampler caps the total at ``sampler.retests``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PerWeight:
    """Results grouped by weight vector: ``weights`` ``[u, m]``, ``mean``/``spread`` ``[u, m]``, ``count`` ``[u]``.

    ``mean`` is NaN where every result of that weight vector failed; ``count`` counts finished results.
    """

    weights: np.ndarray
    mean: np.ndarray
    spread: np.ndarray
    count: np.ndarray


def weight_key(w: np.ndarray | Sequence[float]) -> tuple[float, ...]:
    """Hashable key of a weight vector (rounded to 9 digits: re-tests repeat the vector exactly)."""
    return tuple(np.round(np.asarray(w, dtype=np.float64), 9).tolist())


def per_weight(weights: np.ndarray, values: np.ndarray) -> PerWeight:
    """Group the told rows by weight vector (first-seen order); mean and std over each group's finite rows."""
    m = values.shape[1]
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, w in enumerate(weights):
        groups.setdefault(weight_key(w), []).append(i)
    u = len(groups)
    out_w, mean, spread, count = np.zeros((u, m)), np.full((u, m), np.nan), np.zeros((u, m)), np.zeros(u, dtype=int)
    for g, rows in enumerate(groups.values()):
        out_w[g] = weights[rows[0]]
        vals = values[rows]
        ok = vals[np.isfinite(vals).all(axis=1)]
        count[g] = len(ok)
        if len(ok):
            mean[g] = ok.mean(axis=0)
            spread[g] = ok.std(axis=0) if len(ok) > 1 else 0.0
    return PerWeight(out_w, mean, spread, count)


def near_misses(mean: np.ndarray, spread: np.ndarray, front: np.ndarray, *, margin: float) -> list[tuple[int, float]]:
    """``(row, δ)`` of the dominated rows of ``mean`` within the noise margin, smallest ``δ`` first.

    Args:
        mean: ``[u, m]`` per-weight means (minimisation; NaN rows ignored).
        spread: ``[u, m]`` their seed standard deviations.
        front: row indices of the non-dominated rows of ``mean``.
        margin: ``sampler.retest_margin`` in normalised units.
    """
    if front.size == 0:
        return []
    pts = mean[front]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    on_front = set(front.tolist())
    out = []
    for i in np.flatnonzero(np.isfinite(mean).all(axis=1)):
        if int(i) in on_front:
            continue
        p = mean[i]
        dominating = np.all(pts <= p, axis=1) & np.any(pts < p, axis=1)
        if not dominating.any():  # a duplicate of a frontier point
            continue
        eps = np.max((p - pts[dominating]) / span, axis=1)
        j = int(np.argmin(eps))
        noise = float(max(np.max(spread[i] / span), np.max(spread[front[dominating][j]] / span)))
        if eps[j] <= max(margin, noise):
            out.append((int(i), float(eps[j])))
    return sorted(out, key=lambda t: (t[1], t[0]))
