"""Nash-MTL: task weights from the Nash bargaining solution, G alpha = 1 / alpha."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ._base import GramianMethod
from ._jacobian import accumulate_grad, accumulate_weighted, flatten_rows
from ._linalg import normalized_gramian, to_tensor
from ._params import check_float, check_int
from ._registry import register


def nash_weights(gramian: Tensor, init: Tensor | None = None, max_iter: int = 100) -> Tensor | None:
    r"""The positive solution of the bargaining system :math:`G\alpha = 1/\alpha`, or None.

    The system is the stationarity condition of the strictly convex potential

    .. math::
        \psi(\alpha) = \tfrac12 \alpha^\top G \alpha - \sum_i \log \alpha_i, \qquad \alpha > 0,

    minimised here by damped Newton steps (Hessian :math:`G + \operatorname{diag}(\alpha)^{-2}`,
    always positive definite) on the normalised Gramian :math:`G/s`; the result is rescaled
    by :math:`s^{-1/2}`. When gradients vanish or cancel (:math:`Gv = 0` for some
    :math:`v \ge 0`, :math:`v \ne 0`) no solution exists (the paper assumes independent
    gradients): :math:`\psi` is unbounded below, the iterations do not converge and the
    function returns None.

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.
        init: optional positive ``[m]`` warm start (a previous solution).
        max_iter: Newton iterations at most.

    Returns:
        ``[m]`` positive weights with :math:`\alpha_i (G\alpha)_i = 1`, or None.

    Example:
        >>> nash_weights(torch.tensor([[1.0, 0.0], [0.0, 4.0]]))
        tensor([1.0000, 0.5000])
    """
    g, scale = normalized_gramian(gramian)
    m = g.shape[0]
    if scale == 0.0:
        return None
    a = np.ones(m)
    if init is not None and bool(torch.all(init > 0)):
        a = init.detach().to("cpu", torch.float64).numpy() * np.sqrt(scale)
    with np.errstate(all="ignore"):
        try:
            a = _newton(g, a, max_iter)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(a)) or np.max(np.abs(a * (g @ a) - 1.0)) > 1e-8:
            return None
    return to_tensor(a / np.sqrt(scale), gramian)


def _newton(g: np.ndarray, a: np.ndarray, max_iter: int) -> np.ndarray:
    for _ in range(max_iter):
        ga = g @ a
        if not np.all(np.isfinite(a)) or np.max(np.abs(a * ga - 1.0)) < 1e-10:
            break
        grad = ga - 1.0 / a
        step = np.linalg.solve(g + np.diag(1.0 / a**2), grad)
        a = a - _damped(a, step, g, grad) * step
    return a


def _damped(a: np.ndarray, step: np.ndarray, g: np.ndarray, grad: np.ndarray) -> float:
    """Backtracking step length: alpha stays > 0 and the potential or the residual decreases.

    The residual test takes over near the solution, where potential differences fall below
    floating-point resolution.
    """

    def potential(x: np.ndarray) -> float:
        return float(0.5 * x @ g @ x - np.sum(np.log(x)))

    def residual(x: np.ndarray) -> float:
        return float(np.max(np.abs(x * (g @ x) - 1.0)))

    t, f0, r0, slope = 1.0, potential(a), residual(a), float(grad @ step)
    while np.any(a - t * step <= 0.0):
        t *= 0.5
    while t > 1e-12:
        trial = a - t * step
        if potential(trial) <= f0 - 1e-4 * t * slope or residual(trial) < r0:
            break
        t *= 0.5
    return t


@register("nashmtl")
class NashMTL(GramianMethod):
    r"""Nash-MTL: combine task gradients by the Nash bargaining solution among tasks.

    Paper: Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik, Fetaya, "Multi-Task Learning
    as a Bargaining Game", ICML 2022. https://arxiv.org/abs/2202.01017

    .. math::
        d = J^\top \alpha, \qquad \alpha > 0: \; G \alpha = 1/\alpha
        \;\; (\text{i.e. } \alpha_i\, g_i^\top d = 1 \;\forall i), \qquad
        \mathcal{L} = \sum_i \alpha_i L_i

    Variant: the paper approximates the solution of this system with a sequence of convex
    programs (CCP, cvxpy/ECOS, at most 20 iterations); here the same system is solved to a
    residual :math:`\max_i |\alpha_i (G\alpha)_i - 1| < 10^{-8}` by Newton's method on a
    convex potential (`nash_weights`), warm-started from the last solution, without cvxpy. As in the authors' code, the shared gradient is
    clipped to norm ``max_norm`` (0 disables), ``update_weights_every`` reuses the weights
    for that many steps (steps in between cost one backward), and when no solution is found
    the previous weights are kept. Heads get the gradient of :math:`\sum_i \alpha_i L_i`
    (unclipped). Shapes: Gramian ``[m, m]`` -> weights ``[m]`` (returned before clipping).

    Args:
        n_tasks: number of tasks.
        max_norm: clip norm of the shared gradient, ``>= 0`` (authors' default 1.0).
        update_weights_every: recompute the weights every this many steps (``>= 1``).
    """

    alpha: Tensor
    steps: Tensor

    def __init__(self, *, n_tasks: int, max_norm: float = 1.0, update_weights_every: int = 1) -> None:
        super().__init__(n_tasks=n_tasks)
        self.max_norm = check_float("max_norm", max_norm, ge=0.0)
        self.update_weights_every = check_int("update_weights_every", update_weights_every, ge=1)
        self.register_buffer("alpha", torch.ones(n_tasks))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        alpha = nash_weights(gramian, init=self.alpha)
        if alpha is None:  # no solution: keep the previous weights
            return self.alpha.to(gramian.dtype)
        self.alpha.copy_(alpha)  # the warm start (and the weights of steps that reuse them)
        return alpha  # in the Gramian's dtype: a float32 copy can lose an ill-conditioned solution

    def shared_scale(self, weights: Tensor, gramian: Tensor) -> float:
        norm = float(torch.sqrt(torch.clamp(weights @ gramian @ weights, min=0.0)))
        return min(1.0, self.max_norm / norm) if self.max_norm > 0 and norm > 0 else 1.0

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        self.steps += 1
        if (int(self.steps) - 1) % self.update_weights_every == 0:
            return super().backward(losses, shared, task_specific=task_specific)
        self._check_losses(losses)
        shared = self._check_shared(shared)
        alpha = self.alpha.to(losses.dtype)
        heads = [p for p in task_specific if p.requires_grad]
        grads = torch.autograd.grad((alpha * losses).sum(), shared + heads, allow_unused=True)
        k = len(shared)
        direction = flatten_rows([grads[:k]], shared)[0]
        norm = float(direction.norm())
        if self.max_norm > 0 and norm > self.max_norm:
            direction = direction * (self.max_norm / norm)
        accumulate_grad(shared, direction)
        accumulate_weighted(heads, [grads[k:]], torch.ones(1))
        return alpha.detach().clone()
