"""Uncertainty weighting: learnable homoscedastic log-variances, one per task."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._base import LossWeighting
from ._registry import register


@register("uncertainty")
class UncertaintyWeighting(LossWeighting):
    r"""Learnable loss weights from per-task homoscedastic uncertainty (log-variances).

    Paper: Kendall, Gal, Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for
    Scene Geometry and Semantics", CVPR 2018. https://arxiv.org/abs/1705.07115

    With :math:`s_i = \log \sigma_i^2` learnt jointly with the network:

    .. math::
        \mathcal{L}(\theta, s) = \sum_i \tfrac12 \left( e^{-s_i} L_i(\theta) + s_i \right)

    This is the paper's regression form (eq. 7) in the log-variance parametrisation its
    Section 3.2 recommends for stability, and the form of the authors' reference and of the
    CAGrad / Nash-MTL / LibMTL code; the classification form differs by a factor 2 on
    :math:`e^{-s_i} L_i`. The effective weights are :math:`w_i = \tfrac12 e^{-s_i}` (not
    normalised). The log-variances ``log_vars`` ([m], initialised 0) are this module's
    ``parameters()``: the trainer must add them to the optimizer as a second param group.
    The objective can be negative; that is expected.

    Args:
        n_tasks: number of tasks.

    Example:
        >>> uw = UncertaintyWeighting(n_tasks=2)
        >>> uw.objective(torch.tensor([2.0, 4.0]))
        (tensor(3., grad_fn=<SumBackward0>), tensor([0.5000, 0.5000], grad_fn=<MulBackward0>))
    """

    def __init__(self, *, n_tasks: int) -> None:
        super().__init__(n_tasks=n_tasks)
        self.log_vars = nn.Parameter(torch.zeros(n_tasks))

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        s = self.log_vars.to(losses.dtype)
        weights = 0.5 * torch.exp(-s)
        return (weights * losses + 0.5 * s).sum(), weights
