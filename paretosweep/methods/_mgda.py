"""MGDA and MGDA-UB: the minimum-norm point of the convex hull of the task gradients."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import nnls
from torch import Tensor, nn

from paretosweep.errors import ParetoSweepError

from ._base import GramianMethod
from ._jacobian import task_gradients, weighted_backward
from ._linalg import normalized_gramian, psd_root, to_tensor
from ._params import check_bool, check_choice
from ._registry import register

NORMALIZATIONS = ("none", "l2", "loss", "loss+")


def mgda_weights(gramian: Tensor) -> Tensor:
    r"""Weights of the min-norm element of :math:`\operatorname{conv}\{g_i\}`, from the Gramian.

    .. math::
        \alpha^\star = \arg\min_{\alpha \in \Delta^{m-1}} \alpha^\top G \alpha

    Solved exactly as a non-negative least-squares problem:
    :math:`x^\star = \arg\min_{x \ge 0} \lVert R x \rVert^2 + (\mathbf{1}^\top x - 1)^2`
    with :math:`R^\top R = G`, then :math:`\alpha^\star = x^\star / \mathbf{1}^\top x^\star`
    (the KKT conditions of both problems coincide). At the optimum
    :math:`d = J^\top \alpha^\star` satisfies :math:`g_i^\top d \ge \lVert d \rVert^2` for all
    :math:`i`: a common descent direction, zero only at a Pareto-stationary point.

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.

    Returns:
        ``[m]`` weights on the simplex.

    Example:
        >>> mgda_weights(torch.tensor([[1.0, 0.0], [0.0, 4.0]]))
        tensor([0.8000, 0.2000])
    """
    g, scale = normalized_gramian(gramian)
    m = g.shape[0]
    if scale == 0.0 or m == 1:
        return to_tensor(np.full(m, 1.0 / m), gramian)
    a = np.vstack([psd_root(g), np.ones((1, m))])
    b = np.zeros(m + 1)
    b[-1] = 1.0
    x, _ = nnls(a, b)
    return to_tensor(x / x.sum(), gramian)


@register("mgda")
class MGDA(GramianMethod):
    r"""Multiple-gradient descent: step along the min-norm convex combination of task gradients.

    Paper: Sener, Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018.
    https://arxiv.org/abs/1810.04650

    With per-task gradients :math:`g_i` ([m, n] Jacobian :math:`J`) of the shared parameters
    and optional normalisers :math:`n_i`:

    .. math::
        \alpha = \arg\min_{\alpha \in \Delta^{m-1}}
            \Big\lVert \sum_i \alpha_i \frac{g_i}{n_i} \Big\rVert^2, \qquad
        \mathcal{L} = \sum_i \alpha_i L_i

    ``normalization`` follows the authors' code: ``none`` (:math:`n_i = 1`, the paper's
    algorithm), ``l2`` (:math:`\lVert g_i \rVert`), ``loss`` (:math:`L_i`), ``loss+``
    (:math:`L_i \lVert g_i \rVert`); as there, :math:`\alpha` multiplies the raw losses.
    The inner problem is solved exactly (`mgda_weights`) instead of with the paper's
    Frank-Wolfe iterations (Algorithm 2), which converge to the same point.

    Variants. ``upper_bound=False`` (default): MGDA on the per-task gradients of the *shared
    parameters*, :math:`g_i = \nabla_\theta L_i` (``m`` backward passes through the trunk).

    ``upper_bound=True``: MGDA-UB (Section 3.3). With the shared representation
    :math:`Z = f(x; \theta^{sh})` that every head reads, the chain rule gives
    :math:`\nabla_{\theta^{sh}} L_i = (\partial Z / \partial \theta^{sh})^\top \nabla_Z L_i`, so

    .. math::
        \Big\lVert \sum_i \alpha_i \nabla_{\theta^{sh}} L_i \Big\rVert^2
        \le \Big\lVert \frac{\partial Z}{\partial \theta^{sh}} \Big\rVert^2
        \Big\lVert \sum_i \alpha_i \nabla_Z L_i \Big\rVert^2

    and MGDA-UB minimises the right-hand factor instead (Theorem 1: if
    :math:`\partial Z / \partial \theta^{sh}` has full rank, the resulting :math:`\alpha`
    either gives :math:`\sum_i \alpha_i \nabla_Z L_i = 0`, a Pareto-stationary point, or a
    direction that decreases every task's loss). Here :math:`g_i = \nabla_Z L_i`,
    flattened over the whole batch: :math:`Z` is the ``[B, ...]`` output of
    ``problem.shared_representation(model)`` on the batch (the paper's per-sample
    representations :math:`z_1 \dots z_B`, stacked), passed as ``backward(...,
    representation=Z)``. The ``m`` per-task passes stop at :math:`Z` (they run through the
    heads only); then one backward of :math:`\sum_i \alpha_i L_i` writes the gradients of
    the shared and task-specific parameters (heads get their :math:`\alpha_i`-weighted gradient,
    as in plain MGDA here and in LibMTL; the paper's Algorithm 2 steps each head on its own
    loss). The same ``normalization`` applies, with norms of the :math:`Z`-gradients (as in the
    authors' code).

    Shapes: Gramian ``[m, m]`` -> weights ``[m]`` on the simplex.

    Args:
        n_tasks: number of tasks.
        normalization: ``none``, ``l2``, ``loss`` or ``loss+``.
        upper_bound: MGDA-UB (gradients w.r.t. the shared representation; the problem must
            define ``shared_representation(model)``).
    """

    def __init__(self, *, n_tasks: int, normalization: str = "none", upper_bound: bool = False) -> None:
        super().__init__(n_tasks=n_tasks)
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)
        self.upper_bound = check_bool("upper_bound", upper_bound)
        self.needs_representation = self.upper_bound

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
        representation: Tensor | None = None,
    ) -> Tensor:
        """MGDA on the shared parameters' gradients, or MGDA-UB on ``representation``'s."""
        if not self.upper_bound:
            return super().backward(losses, shared, task_specific=task_specific)
        self._check_losses(losses)
        if representation is None or not representation.requires_grad:
            found = "none" if representation is None else "a tensor that does not require grad"
            raise ParetoSweepError(
                f"MGDA with upper_bound=True needs `representation`, the shared representation Z "
                f"of the batch, in the autograd graph of the losses. Found {found}; pass the output "
                "of `problem.shared_representation(model)` from the forward pass that made `losses` "
                "(not detached)."
            )
        params = [p for p in (*shared, *task_specific) if p.requires_grad]
        if not params:
            raise ParetoSweepError("MGDA.backward was given no parameters.")
        rows = task_gradients(losses, [representation], retain_graph=True)
        z_grads = [torch.zeros_like(representation) if g is None else g for (g,) in rows]
        z_jac = torch.stack(z_grads).reshape(len(z_grads), -1)  # [m, numel(Z)]: one copy, no per-row cat
        alpha = self.weights(z_jac @ z_jac.T, losses.detach()).to(losses.dtype)
        weighted_backward(losses, alpha, params)
        return alpha.detach()

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        norms = torch.ones_like(losses)
        grad_norms = torch.sqrt(torch.clamp(torch.diagonal(gramian), min=0.0))
        if self.normalization == "l2":
            norms = grad_norms
        elif self.normalization == "loss":
            norms = losses
        elif self.normalization == "loss+":
            norms = losses * grad_norms
        norms = torch.where(norms.abs() > 1e-12, norms, torch.ones_like(norms)).to(gramian.dtype)
        return mgda_weights(gramian / torch.outer(norms, norms))
