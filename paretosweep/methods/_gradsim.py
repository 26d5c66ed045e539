"""Gradient similarity: an auxiliary gradient is used only when it agrees with the main one."""

from __future__ import annotations

import torch
from torch import Tensor

from ._base import GramianMethod
from ._params import check_bool, check_task
from ._registry import register


def gradsim_weights(gramian: Tensor, main_task: int, weighted: bool = False) -> Tensor:
    r"""Weights 1 for the main task and :math:`\mathbb{1}[\cos(g_{main}, g_k) > 0]` for the others.

    .. math::
        \cos_k = \frac{G_{main,k}}{\sqrt{G_{main,main} G_{kk}}}, \qquad
        w_k = \begin{cases} \mathbb{1}[\cos_k > 0] & \text{unweighted} \\
                            \max(0, \cos_k) & \text{weighted} \end{cases}

    A zero gradient has cosine 0 with everything, so it is not used.

    Args:
        gramian: ``[m, m]`` PSD matrix :math:`G = J J^\top`.
        main_task: index of the main task.
        weighted: use :math:`\max(0, \cos)` instead of the indicator.

    Returns:
        ``[m]`` weights, ``w[main_task] == 1``.

    Example:
        >>> gradsim_weights(torch.tensor([[1.0, 0.5, -1.0], [0.5, 1.0, 0.0], [-1.0, 0.0, 4.0]]), 0)
        tensor([1., 1., 0.])
    """
    diag = torch.clamp(torch.diagonal(gramian), min=0.0)
    denom = torch.sqrt(diag[main_task] * diag)
    cos = torch.where(denom > 0, gramian[main_task] / torch.where(denom > 0, denom, 1.0), 0.0)
    weights = torch.clamp(cos, min=0.0) if weighted else (cos > 0).to(gramian.dtype)
    weights[main_task] = 1.0
    return weights


@register("gradsim")
class GradSim(GramianMethod):
    r"""Auxiliary gradients gated by their cosine similarity with the main task's gradient.

    Paper: Du, Czarnecki, Jayakumar, Farajtabar, Pascanu, Lakshminarayanan, "Adapting
    Auxiliary Losses Using Gradient Similarity", arXiv:1812.02224, 2018.
    https://arxiv.org/abs/1812.02224

    .. math::
        d = g_{main} + \sum_{k \ne main} \mathbb{1}[\cos(g_{main}, g_k) > 0]\, g_k

    on the shared parameters (the paper's unweighted version; ``weighted=True`` uses
    :math:`\max(0, \cos)` as the factor, its weighted version). Several auxiliary tasks are
    gated independently against the main task. Cosines are taken over all shared parameters
    at once. Task-specific parameters get each task's own loss gradient
    (:math:`\sum_i L_i`), as in the paper, where only the shared update is gated.
    Shapes: Gramian ``[m, m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        main_task: index of the main task (the spec names it; the config maps it to an index).
        weighted: cosine-weighted instead of gated.
    """

    def __init__(self, *, n_tasks: int, main_task: int, weighted: bool = False) -> None:
        super().__init__(n_tasks=n_tasks)
        self.main_task = check_task("main_task", main_task, n_tasks)
        self.weighted = check_bool("weighted", weighted)

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        del losses
        return gradsim_weights(gramian, self.main_task, self.weighted)

    def head_weights(self, weights: Tensor) -> Tensor:
        return torch.ones_like(weights)
