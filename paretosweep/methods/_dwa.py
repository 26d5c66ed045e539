"""Dynamic weight average (DWA): weights from the epoch-to-epoch rate of loss decrease."""

from __future__ import annotations

import torch
from torch import Tensor

from ._base import LossWeighting
from ._params import check_float
from ._registry import register


def dwa_weights(previous: Tensor, before_previous: Tensor, temperature: float) -> Tensor:
    r"""DWA weights :math:`m \operatorname{softmax}(r / T)`, :math:`r_k = L_k(t-1)/L_k(t-2)`.

    Args:
        previous: ``[m]`` mean training losses of epoch ``t - 1``.
        before_previous: ``[m]`` mean training losses of epoch ``t - 2``.
        temperature: :math:`T > 0`.

    Returns:
        ``[m]`` weights summing to ``m``.

    Example:
        >>> dwa_weights(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0]), 2.0)
        tensor([1., 1.])
    """
    ratio = previous / before_previous
    return previous.numel() * torch.softmax(ratio / temperature, dim=0)


@register("dwa")
class DWA(LossWeighting):
    r"""Dynamic weight average: a task whose loss fell slowly last epoch gets more weight.

    Paper: Liu, Johns, Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019.
    https://arxiv.org/abs/1803.10704

    .. math::
        r_k(t-1) = \frac{L_k(t-1)}{L_k(t-2)}, \qquad
        w_k(t) = \frac{m \exp(r_k(t-1)/T)}{\sum_i \exp(r_i(t-1)/T)}

    :math:`L_k(t)` is the mean training loss of task :math:`k` over epoch :math:`t` (from
    `on_epoch_end`); :math:`w_k = 1` for the first two epochs, as in the paper. The weights
    sum to :math:`m`. Shapes: losses ``[m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        temperature: :math:`T > 0`; the paper uses 2.

    Example:
        >>> dwa = DWA(n_tasks=2)
        >>> dwa.on_epoch_end(0, torch.tensor([1.0, 1.0]))
        >>> dwa.on_epoch_end(1, torch.tensor([0.5, 1.0]))
        >>> dwa.current_weights
        tensor([0.8756, 1.1244])
    """

    current_weights: Tensor
    epoch_losses: Tensor
    epochs_seen: Tensor

    def __init__(self, *, n_tasks: int, temperature: float = 2.0) -> None:
        super().__init__(n_tasks=n_tasks)
        self.temperature = check_float("temperature", temperature, gt=0.0)
        self.register_buffer("current_weights", torch.ones(n_tasks))
        self.register_buffer("epoch_losses", torch.full((2, n_tasks), float("nan")))
        self.register_buffer("epochs_seen", torch.zeros((), dtype=torch.long))

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        weights = self.current_weights.to(losses.dtype)
        return (weights * losses).sum(), weights

    def on_epoch_end(self, epoch: int, mean_train_losses: Tensor) -> None:
        """Record the epoch's ``[m]`` mean training losses and set the next epoch's weights."""
        del epoch  # the method counts the epochs it has seen
        losses = mean_train_losses.detach().to(self.epoch_losses)
        self.epoch_losses[0] = self.epoch_losses[1]
        self.epoch_losses[1] = losses
        self.epochs_seen += 1
        if self.epochs_seen >= 2:
            self.current_weights = dwa_weights(self.epoch_losses[1], self.epoch_losses[0], self.temperature)
