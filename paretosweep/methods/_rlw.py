"""Random loss weighting (RLW): fresh random simplex weights every step."""

from __future__ import annotations

import torch
from torch import Tensor

from ._base import LossWeighting
from ._params import check_choice
from ._registry import register

DISTRIBUTIONS = ("normal", "dirichlet")


@register("rlw")
class RLW(LossWeighting):
    r"""Random loss weighting: weights drawn afresh from a distribution on the simplex each step.

    Paper: Lin, Ye, Xu, Shi, Zhang, "Reasonable Effectiveness of Random Weighting: A Litmus Test
    for Multi-Task Learning", TMLR 2022. https://openreview.net/forum?id=jjtFD8A1Wx
    (arXiv:2111.10603).

    .. math::
        \lambda \sim p(\lambda), \quad w = \operatorname{softmax}(\lambda), \quad
        \mathcal{L} = \sum_i w_i L_i

    Variants: ``distribution="normal"`` draws :math:`\lambda \sim \mathcal{N}(0, I_m)` and
    applies the softmax (the paper's default and its authors' LibMTL implementation);
    ``"dirichlet"`` draws :math:`w \sim \mathrm{Dir}(\mathbf{1})` (uniform on the simplex)
    directly. Samples come from torch's default generator on the losses' device, which the
    trainer seeds per trial. Shapes: losses ``[m]`` -> weights ``[m]`` (sum 1).

    Args:
        n_tasks: number of tasks.
        distribution: ``"normal"`` or ``"dirichlet"``.

    Example:
        >>> w = RLW(n_tasks=3).objective(torch.ones(3))[1]
        >>> bool(torch.isclose(w.sum(), torch.tensor(1.0)))
        True
    """

    def __init__(self, *, n_tasks: int, distribution: str = "normal") -> None:
        super().__init__(n_tasks=n_tasks)
        self.distribution = check_choice("distribution", distribution, DISTRIBUTIONS)

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        m = self.n_tasks
        if self.distribution == "normal":
            weights = torch.softmax(torch.randn(m, device=losses.device), dim=0)
        else:
            concentration = torch.ones(m, device=losses.device)
            weights = torch.distributions.Dirichlet(concentration).sample()
        weights = weights.to(losses.dtype)
        return (weights * losses).sum(), weights
