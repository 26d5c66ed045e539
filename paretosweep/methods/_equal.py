"""Equal weighting: the centre of the simplex, one backward pass."""

from __future__ import annotations

import torch
from torch import Tensor

from ._base import LossWeighting
from ._registry import register


@register("equal")
class EqualWeighting(LossWeighting):
    r"""Equal loss weights 1/m: the baseline every method paper compares with.

    .. math:: \mathcal{L} = \frac{1}{m} \sum_{i=1}^m L_i

    The weights lie on the simplex, so this trial is the swept centre point
    :math:`w = \mathbf{1}/m` run as a method (LibMTL's ``EW`` uses :math:`w_i = 1`, which
    only rescales the learning rate). Shapes: losses ``[m]`` -> weights ``[m]``.

    Example:
        >>> EqualWeighting(n_tasks=4).objective(torch.tensor([1.0, 2.0, 3.0, 4.0]))[1]
        tensor([0.2500, 0.2500, 0.2500, 0.2500])
    """

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        weights = torch.full_like(losses, 1.0 / self.n_tasks).detach()
        return (weights * losses).sum(), weights
