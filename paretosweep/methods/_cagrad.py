"""CAGrad: the direction that maximises the worst task improvement near the average gradient."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from torch import Tensor

from ._base import GramianMethod
from ._linalg import normalized_gramian, to_tensor
from ._params import check_float, check_int
from ._registry import register
from ._simplex import simplex_minimiser


def cagrad_weights(gramian: Tensor, c: float, rescale: int = 1) -> Tensor:
    r"""CAGrad weights :math:`(\mathbf{1}/m + \lambda w^\star) / r` from the Gramian.

    With :math:`b = \mathbf{1}/m`, :math:`g_0 = J^\top b`, :math:`\phi = c^2 \lVert g_0\rVert^2`:

    .. math::
        w^\star = \arg\min_{w \in \Delta^{m-1}} w^\top G b + \sqrt{\phi}\, \sqrt{w^\top G w},
        \qquad \lambda = \frac{\sqrt{\phi}}{\lVert g_{w^\star} \rVert}, \qquad
        d = \frac{g_0 + \lambda g_{w^\star}}{r}

    The authors' code solves the inner problem with SLSQP from :math:`b`. Here it is solved
    exactly for up to 8 tasks (``_simplex.MAX_TASKS``) from its KKT conditions, by enumerating
    supports (`simplex_minimiser`), several times faster than SLSQP and at least as accurate
    (its objective is never above SLSQP's; the weights agree with SLSQP's to about
    :math:`10^{-4}`, SLSQP's own tolerance); SLSQP remains the solver for more tasks and at the
    degenerate points the enumeration leaves (e.g. :math:`g_w = 0` at the optimum).
    ``rescale`` picks :math:`r`: 0 -> 1, 1 -> :math:`1 + c^2` (the authors' default),
    2 -> :math:`1 + c`.

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.
        c: the radius factor, :math:`c \ge 0`; :math:`c = 0` gives the average gradient.
        rescale: 0, 1 or 2.

    Returns:
        ``[m]`` weights; they sum to :math:`(1 + \lambda)/r`.

    Example:
        >>> import torch
        >>> cagrad_weights(torch.eye(2), c=0.0)
        tensor([0.5000, 0.5000])
    """
    g, scale = normalized_gramian(gramian)
    m = g.shape[0]
    b = np.full(m, 1.0 / m)
    divisor = {0: 1.0, 1: 1.0 + c**2, 2: 1.0 + c}[rescale]
    sqrt_phi = c * np.sqrt(max(b @ g @ b, 0.0))
    if scale == 0.0 or sqrt_phi <= 1e-12:
        return to_tensor(b / divisor, gramian)
    w = simplex_minimiser(g, g @ b, sqrt_phi)
    if w is None:
        w = slsqp_inner(g, b, sqrt_phi)
    gw_norm = np.sqrt(max(w @ g @ w, 0.0))
    lam = sqrt_phi / gw_norm if gw_norm > 1e-12 else 0.0
    return to_tensor((b + lam * w) / divisor, gramian)


def slsqp_inner(g: np.ndarray, b: np.ndarray, sqrt_phi: float) -> np.ndarray:
    r"""The inner problem :math:`\min_{w \in \Delta} w^\top G b + \sqrt\phi \sqrt{w^\top G w}`
    by SLSQP from :math:`b`, as in the authors' code (any ``m``)."""
    gb = g @ b

    def objective(w: np.ndarray) -> float:
        return float(w @ gb + sqrt_phi * np.sqrt(max(w @ g @ w, 0.0) + 1e-12))

    def gradient(w: np.ndarray) -> np.ndarray:
        return gb + sqrt_phi * (g @ w) / np.sqrt(max(w @ g @ w, 0.0) + 1e-12)

    m = len(b)
    result = minimize(
        objective,
        b,
        jac=gradient,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(m)},),
        options={"ftol": 1e-10, "maxiter": 200},
    )
    w = np.clip(result.x, 0.0, None)
    return w / w.sum() if w.sum() > 0 else b


@register("cagrad")
class CAGrad(GramianMethod):
    r"""Conflict-averse gradient descent: improve the worst task within a ball around the mean step.

    Paper: Liu, Liu, Jin, Stone, Liu, "Conflict-Averse Gradient Descent for Multi-task
    Learning", NeurIPS 2021. https://arxiv.org/abs/2110.14048

    .. math::
        \max_{d} \min_i g_i^\top d \quad \text{s.t.} \quad
        \lVert d - g_0 \rVert \le c \lVert g_0 \rVert

    whose dual gives :math:`d = g_0 + \frac{\sqrt\phi}{\lVert g_w \rVert} g_w` with
    :math:`w` from `cagrad_weights`. Variant: the authors' ``cagrad(grads, alpha, rescale)``
    with ``rescale=1`` by default (:math:`d / (1 + c^2)`), on the *mean* gradient
    :math:`g_0 = \frac1m \sum_i g_i`; the authors' NYUv2 code then multiplies by :math:`m` to
    match a sum of losses, which we do not (so ``c=0`` equals `EqualWeighting`). Heads get
    the gradient of :math:`\sum_i w_i L_i` with the same weights. Shapes: Gramian ``[m, m]``
    -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        c: :math:`c \ge 0`, the paper's convergence/robustness trade-off (0.4 on NYUv2).
        rescale: 0 (none), 1 (:math:`1/(1+c^2)`) or 2 (:math:`1/(1+c)`).
    """

    def __init__(self, *, n_tasks: int, c: float = 0.4, rescale: int = 1) -> None:
        super().__init__(n_tasks=n_tasks)
        self.c = check_float("c", c, ge=0.0)
        self.rescale = check_int("rescale", rescale, ge=0, le=2)

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        return cagrad_weights(gramian, self.c, self.rescale)
