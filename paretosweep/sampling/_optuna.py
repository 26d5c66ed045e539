"""The map from Optuna's search space to the simplex, for the ``optuna_tpe`` / ``optuna_nsga2`` samplers.

Optuna searches ``m − 1`` independent uniform variables ``u_1 … u_{m−1} ∈ [0, 1]`` (named
``u0``, ``u1``, …). They become a weight vector by the same map as the Sobol' design
(:func:`paretosweep.simplex.sobol_simplex`): sort ``u``, pad with 0 and 1, take the spacings
``w_i = u_(i) − u_(i−1)``. A uniform ``u`` gives a uniform point of the simplex, so Optuna's
random start-up trials are uniform on the simplex; the map is onto and continuous (not
one-to-one: permuting ``u`` gives the same ``w``, which the samplers tolerate). For 2 tasks it is
simply ``w = (u0, 1 − u0)``. The floor is then applied as in every other design.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from paretosweep import simplex
from paretosweep.config import OPTUNA_SAMPLER_NAMES

OPTUNA_SAMPLERS = OPTUNA_SAMPLER_NAMES


def param_names(m: int) -> list[str]:
    """The Optuna parameter names for m tasks: ``u0 … u{m-2}``."""
    return [f"u{i}" for i in range(m - 1)]


def unit_to_simplex(u: Sequence[float] | Mapping[str, float], m: int, *, floor: float) -> np.ndarray:
    """``[m]`` weight vector of ``m − 1`` uniforms (a sequence, or a mapping by :func:`param_names`)."""
    if isinstance(u, Mapping):
        u = [float(u[name]) for name in param_names(m)]
    values = np.sort(np.clip(np.asarray(u, dtype=np.float64).reshape(m - 1), 0.0, 1.0))
    w = np.diff(np.concatenate([[0.0], values, [1.0]]))
    return simplex.apply_floor(w[None, :], floor)[0]
