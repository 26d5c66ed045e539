"""Test helpers about exact fronts."""

from __future__ import annotations

import numpy as np


def best_k_point_hypervolume_2d(front: np.ndarray, k: int, reference_point: tuple[float, float]) -> float:
    """The largest hypervolume any k points of a dense 2-D (min, min) front can have (exact DP).

    Sort by f1; choosing points i_1 < … < i_k gives HV = Σ_j (f1[i_{j+1}] − f1[i_j]) (r2 − f2[i_j])
    with f1[i_{k+1}] = r1, so best[c][i] = max_{l > i} (f1[l] − f1[i])(r2 − f2[i]) + best[c−1][l].
    """
    points = front[np.argsort(front[:, 0])]
    f1, f2 = points[:, 0], points[:, 1]
    r1, r2 = reference_point
    height = r2 - f2  # [n]
    best = (r1 - f1) * height  # one point chosen, at i
    gain = (f1[None, :] - f1[:, None]) * height[:, None]  # [i, l]: strip of i up to l
    later = np.triu(np.ones_like(gain, dtype=bool), k=1)
    for _ in range(k - 1):
        best = np.max(np.where(later, gain + best[None, :], -np.inf), axis=1)
        best = np.maximum(best, (r1 - f1) * height)  # fewer than c points is allowed
    return float(best.max())
