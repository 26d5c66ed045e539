"""The frontier columns of one progress row, and the labelled hypervolume contributions of the frontier.

``hypervolume`` is exact where affordable and otherwise a seeded Monte Carlo estimate
(``paretosweep.frontier._hv_estimate``: the rule, the measured costs and the estimator);
``hypervolume_method`` says which and ``hypervolume_stderr`` gives the estimate's standard
error (0.0 when exact). ``igd_plus`` and ``hv_ratio`` come from the exact front when the run
has one (``_exact_front.py``), else null.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from paretosweep.frontier._hv_estimate import hv_contributions_auto, hypervolume_auto
from paretosweep.frontier._pareto import non_dominated_mask, to_minimization
from paretosweep.results._exact_front import ExactFrontIndicators


def frontier_columns(
    points: np.ndarray,
    *,
    directions: Sequence[str],
    reference_point: Sequence[float] | None,
    exact: ExactFrontIndicators | None,
) -> dict[str, Any]:
    """``frontier_size``, ``hypervolume`` (+ ``_method``, ``_stderr``), ``igd_plus``, ``hv_ratio``, ``clipped``.

    ``clipped`` counts the points that are not strictly better than the reference point in
    every objective: they add nothing to the hypervolume (the reference point never moves to
    take them in).

    Args:
        points: ``[n, m]`` objective values of the usable completed trials (no NaN rows).
        directions: ``min``/``max`` per objective.
        reference_point: the row's reference point, or None while there is none (HV 0).
        exact: the run's exact front, or None (indicators null).
    """
    mask = non_dominated_mask(points, directions=directions)
    clipped = 0
    if reference_point is None:
        hv = {"hypervolume": 0.0, "hypervolume_method": "exact", "hypervolume_stderr": 0.0}
    else:
        clipped = int((~(to_minimization(points, directions) < to_minimization(np.asarray([reference_point], dtype=np.float64), directions)).all(axis=1)).sum())
        estimate = hypervolume_auto(points[mask], reference_point=reference_point, directions=directions)
        hv = {"hypervolume": estimate.value, "hypervolume_method": estimate.method,
              "hypervolume_stderr": estimate.stderr}
    indicators: dict[str, float | None] = {"igd_plus": None, "hv_ratio": None}
    if exact is not None:
        indicators = exact.row(points[mask], hv["hypervolume"], reference_point)
    return {"frontier_size": int(mask.sum()), **hv, **indicators, "clipped": clipped}


def contributions_with_label(
    points: np.ndarray, *, directions: Sequence[str], reference_point: Sequence[float] | None
) -> tuple[np.ndarray, bytes]:
    """Each front point's ``hv_contribution`` and the frontier.parquet label of how it was computed.

    Returns:
        ``[n]`` contributions (zeros without a reference point) and the JSON value of the
        ``paretosweep.hv_contribution`` metadata key: ``{"method", "stderr": [n]}``.
    """
    if reference_point is None:
        values, stderr, method = np.zeros(points.shape[0]), np.zeros(points.shape[0]), "exact"
    else:
        estimate = hv_contributions_auto(points, reference_point=reference_point, directions=directions)
        values, stderr, method = estimate.values, estimate.stderr, estimate.method
    return values, json.dumps({"method": method, "stderr": stderr.tolist()}).encode()
