"""Smooth Tchebycheff as a per-step method: one preference, a running ideal point, softmax weights."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from paretosweep.scalarizers import effective_weights, scalarize

from ._base import LossWeighting
from ._params import check_float, check_preference
from ._registry import register

SCALARIZER = "smooth_tchebycheff"


@register("stch")
class STCH(LossWeighting):
    r"""Smooth Tchebycheff scalarization at one preference, the ideal point tracked during training.

    Paper: Lin, Zhang, Yang, Liu, Wang, Zhang, "Smooth Tchebycheff Scalarization for
    Multi-Objective Optimization", ICML 2024. https://arxiv.org/abs/2402.19078

    With preference :math:`p` (``1/m`` each by default), smoothing :math:`\mu` and ideal point
    :math:`z` (the smallest value of each loss seen so far in the trial, minus ``ideal_margin``):

    .. math::
        \mathcal{L} = \mu \log \sum_i \exp\!\Big(\frac{p_i (L_i - z_i)}{\mu}\Big), \qquad
        \nabla \mathcal{L} = \sum_i p_i\, \sigma_i \nabla L_i, \quad
        \sigma = \operatorname{softmax}\!\Big(\frac{p \odot (L - z)}{\mu}\Big)

    The formula and the effective weights are the ``smooth_tchebycheff`` scalarizer's
    (`paretosweep.scalarizers.scalarize` and `effective_weights`; its ``ideal: running_min``),
    so a ``stch`` trial is the swept smooth-Tchebycheff trial at :math:`w = p` run as a
    comparison method, e.g. beside a linear sweep. The returned weights are
    :math:`p \odot \sigma` normalised to sum 1, as the scalarizer records them (the step itself
    is :math:`\sum_i p_i \sigma_i \nabla L_i`, unnormalised). The method sees only the losses,
    so the ideal point is the running minimum rather than the problem's loss lower bounds.
    The authors' multi-task code (LibMTL's ``STCH``) differs: a warm-up epoch on
    :math:`\sum_i \log L_i`, then :math:`\log(L_i / \bar L_i)` with the warm-up's mean losses
    :math:`\bar L` as nadir point and :math:`p = 1`; that variant is not implemented. Heads get
    the same weighted gradient. Shapes: losses ``[m]`` -> weights ``[m]`` (sum 1).

    Args:
        n_tasks: number of tasks.
        preference: ``m`` numbers ``>= 0`` (default ``1/m`` each), used as given.
        mu: smoothing :math:`\mu > 0` (:math:`\mu \to 0`: Tchebycheff).
        ideal_margin: subtracted from the running minimum, ``>= 0``.

    Example:
        >>> stch = STCH(n_tasks=2, mu=1.0)
        >>> stch.objective(torch.tensor([1.0, 3.0]))[1]
        tensor([0.5000, 0.5000])
    """

    running_min: Tensor

    def __init__(
        self,
        *,
        n_tasks: int,
        preference: Sequence[float] | None = None,
        mu: float = 0.1,
        ideal_margin: float = 1e-3,
    ) -> None:
        super().__init__(n_tasks=n_tasks)
        self.preference = check_preference("preference", preference, n_tasks)
        self.mu = check_float("mu", mu, gt=0.0)
        self.ideal_margin = check_float("ideal_margin", ideal_margin, ge=0.0)
        self.register_buffer("running_min", torch.full((n_tasks,), float("inf")))

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        """``(smooth Tchebycheff loss, [m] normalised effective weights)``; moves the running minimum."""
        self.running_min = torch.minimum(self.running_min.to(losses.dtype), losses.detach())
        ideal = self.running_min - self.ideal_margin
        if self.preference is None:
            pref = torch.full_like(losses, 1.0 / self.n_tasks).detach()
        else:
            pref = torch.tensor(self.preference, dtype=losses.dtype, device=losses.device)
        total = scalarize(SCALARIZER, losses, pref, ideal, mu=self.mu)
        return total, effective_weights(SCALARIZER, losses, pref, ideal, mu=self.mu)
