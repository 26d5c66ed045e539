"""PCGrad: project each task gradient off the normal planes of the gradients it conflicts with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from ._base import GramianMethod
from ._linalg import normalized_gramian, to_tensor
from ._registry import register


def pcgrad_weights(gramian: Tensor, orders: Sequence[Sequence[int]] | None = None) -> Tensor:
    r"""Weights :math:`w` with :math:`J^\top w = \sum_i g_i^{PC}` (projections tracked as weights).

    Each projected gradient stays a combination of the original rows,
    :math:`g_i^{PC} = J^\top c_i`, so every inner product needs only the Gramian:
    :math:`g_i^{PC\top} g_j = (G c_i)_j`. For task :math:`i`, for :math:`j` in ``orders[i]``:

    .. math::
        \text{if } g_i^{PC\top} g_j < 0: \quad
        g_i^{PC} \leftarrow g_i^{PC} - \frac{g_i^{PC\top} g_j}{\lVert g_j \rVert^2} g_j

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.
        orders: for each task, the order in which the other tasks are visited; random
            permutations (torch's default generator) when None, as in the paper.

    Returns:
        ``[m]`` weights :math:`\sum_i c_i` (equal to 1 each when no pair conflicts).

    Example:
        >>> pcgrad_weights(torch.tensor([[1.0, -1.0], [-1.0, 4.0]]))
        tensor([2.0000, 1.2500])
    """
    g, _ = normalized_gramian(gramian)
    m = g.shape[0]
    if orders is None:
        orders = [[j for j in torch.randperm(m).tolist() if j != i] for i in range(m)]
    total = np.zeros(m)
    for i in range(m):
        coef = np.zeros(m)
        coef[i] = 1.0
        for j in orders[i]:
            inner = g[j] @ coef
            if j != i and inner < 0.0 and g[j, j] > 0.0:
                coef[j] -= inner / g[j, j]
        total += coef
    return to_tensor(total, gramian)


@register("pcgrad")
class PCGrad(GramianMethod):
    r"""Gradient surgery: remove from each task gradient its component along conflicting ones.

    Paper: Yu, Kumar, Gupta, Levine, Hausman, Finn, "Gradient Surgery for Multi-Task
    Learning", NeurIPS 2020. https://arxiv.org/abs/2001.06782

    Algorithm 1: for each task :math:`i`, visit the other tasks :math:`j` in random order and,
    if :math:`g_i^{PC} \cdot g_j < 0`,
    :math:`g_i^{PC} \leftarrow g_i^{PC} - \frac{g_i^{PC} \cdot g_j}{\lVert g_j\rVert^2} g_j`;
    the update is :math:`\sum_i g_i^{PC}` (a sum, as in the paper; no averaging).

    Variant: surgery on the gradients of the shared parameters, with heads getting the
    gradient of :math:`\sum_i w_i L_i` for the tracked weights :math:`w` (`pcgrad_weights`),
    which is exactly what projecting the full parameter vector does to the heads when the
    conflicts are measured on the shared part. Shapes: Gramian ``[m, m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
    """

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        return pcgrad_weights(gramian)
