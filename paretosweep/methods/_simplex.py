r"""Exact minimisation of :math:`a^\top w + s \sqrt{w^\top G w}` over the simplex, for small m.

This is the inner problem of CAGrad (:math:`a = G b`, :math:`s = \sqrt\phi`) and, with
:math:`a = 0`, MGDA's min-norm problem. Both are convex, so a point that satisfies the KKT
conditions is a minimiser. On a support :math:`S` (the tasks with :math:`w_i > 0`) and with
:math:`\rho = \sqrt{w^\top G w} > 0`, stationarity reads

.. math::
    a_S + \frac{s}{\rho} G_{SS} w_S = \mu \mathbf{1}, \qquad
    \lambda_i = a_i + \frac{s}{\rho} (G w)_i - \mu \ge 0 \quad (i \notin S).

With :math:`v = G_{SS}^{-1}\mathbf{1}`, :math:`z = G_{SS}^{-1} a_S`, :math:`A = \mathbf{1}^\top
v`, :math:`B = \mathbf{1}^\top z`, :math:`C = a_S^\top z`, the constraints
:math:`\mathbf{1}^\top w = 1` and :math:`\rho^2 = w^\top G w` give
:math:`A\mu^2 - 2B\mu + C = s^2`, so

.. math::
    D = \sqrt{B^2 - A (C - s^2)}, \quad \mu = \frac{B + D}{A}, \quad
    w_S = \frac{\mu v - z}{D}.

`simplex_minimiser` solves this for every non-empty support at once (one batched
``numpy.linalg.solve`` on ``2^m - 1`` padded ``[m, m]`` systems), keeps the candidates whose
KKT conditions hold on the full ``G`` to a tolerance, and returns the best. It gives up
(returns None) when no candidate verifies, which happens at the degenerate points the
derivation excludes (:math:`\rho = 0` at the optimum, a singular :math:`G_{SS}` on the
optimal support) or for ``m`` above `MAX_TASKS`; callers then use a general solver.
"""

from __future__ import annotations

import functools

import numpy as np

#: Largest task count solved by support enumeration (2^m - 1 systems of size m).
MAX_TASKS = 8  # measured: at m = 9 the 511 systems cost about as much as SLSQP
_TOL = 1e-9


@functools.lru_cache(maxsize=MAX_TASKS)
def support_masks(m: int) -> np.ndarray:
    """``[2^m - 1, m]`` float masks of every non-empty subset of ``m`` tasks."""
    codes = np.arange(1, 2**m)
    return ((codes[:, None] >> np.arange(m)) & 1).astype(np.float64)


def simplex_minimiser(g: np.ndarray, a: np.ndarray, s: float) -> np.ndarray | None:
    r"""``argmin`` of :math:`a^\top w + s\sqrt{w^\top g w}` over the simplex, or None.

    Args:
        g: ``[m, m]`` symmetric PSD matrix, best normalised to unit mean diagonal.
        a: ``[m]`` linear term.
        s: :math:`s > 0`.

    Returns:
        ``[m]`` minimiser (non-negative, summing to 1), or None when no support's KKT point
        verifies (see the module docstring) or ``m > MAX_TASKS``.

    Example:
        >>> simplex_minimiser(np.diag([1.0, 4.0]), np.zeros(2), 1.0)
        array([0.8, 0.2])
    """
    m = g.shape[0]
    if m > MAX_TASKS or not s > 0.0:
        return None
    masks = support_masks(m)
    padded = g[None] * (masks[:, :, None] * masks[:, None, :])
    padded[:, np.arange(m), np.arange(m)] += 1.0 - masks  # identity off the support
    rhs = np.stack([masks, masks * a], axis=2)
    try:
        sol = np.linalg.solve(padded, rhs)
    except np.linalg.LinAlgError:
        return None
    v, z = sol[..., 0], sol[..., 1]
    with np.errstate(all="ignore"):
        big_a, big_b, big_c = v.sum(axis=1), z.sum(axis=1), z @ a
        d = np.sqrt(big_b**2 - big_a * (big_c - s**2))
        mu = (big_b + d) / big_a
        w = (mu[:, None] * v - z) / d[:, None]
        gw = w @ g
        rho = np.sqrt(np.einsum("pi,pi->p", w, gw))
        resid = a + s * gw / rho[:, None] - mu[:, None]
        scale = 1.0 + np.abs(mu)[:, None]
        ok = (
            np.isfinite(w).all(axis=1)
            & (rho > 0.0)
            & (d > 0.0)
            & (w >= -_TOL).all(axis=1)
            & np.where(masks > 0, np.abs(resid) <= _TOL * scale, resid >= -_TOL * scale).all(axis=1)
        )
        if not ok.any():
            return None
        value = np.where(ok, w @ a + s * rho, np.inf)
    best = np.clip(w[int(np.argmin(value))], 0.0, None)
    return best / best.sum()
