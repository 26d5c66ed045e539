"""MGDA: the minimum-norm point of the convex hull of the task gradients."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import nnls
from torch import Tensor

from ._base import GramianMethod
from ._linalg import normalized_gramian, psd_root, to_tensor
from ._params import MethodParamError, check_bool, check_choice
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

    Variant: MGDA on the gradients of the *shared parameters*. MGDA-UB (the paper's upper
    bound, using gradients w.r.t. the shared representation :math:`z`) needs :math:`z`, which
    the Problem protocol does not expose, so ``upper_bound=True`` is refused.

    Shapes: Gramian ``[m, m]`` -> weights ``[m]`` on the simplex.

    Args:
        n_tasks: number of tasks.
        normalization: ``none``, ``l2``, ``loss`` or ``loss+``.
        upper_bound: must be False (see above).
    """

    def __init__(
        self, *, n_tasks: int, normalization: str = "none", upper_bound: bool = False
    ) -> None:
        super().__init__(n_tasks=n_tasks)
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)
        self.upper_bound = check_bool("upper_bound", upper_bound)
        if self.upper_bound:
            raise MethodParamError(
                "upper_bound",
                "false: MGDA-UB needs gradients w.r.t. the shared representation, which "
                "problems do not expose (this MGDA uses shared-parameter gradients)",
                upper_bound,
            )

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
