"""Brute-force O(n^2) references for the frontier tests (minimisation after sign flips)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_min(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    signs = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    return np.asarray(points, dtype=float) * signs


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` dominates ``b`` (both already in minimisation form)."""
    return bool(np.all(a <= b) and np.any(a < b))


def brute_mask(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """True for NaN-free rows that no NaN-free row dominates."""
    pts = to_min(points, directions)
    valid = ~np.isnan(pts).any(axis=1)
    n = len(pts)
    return np.array(
        [valid[i] and not any(valid[j] and dominates(pts[j], pts[i]) for j in range(n)) for i in range(n)],
        dtype=bool,
    )
