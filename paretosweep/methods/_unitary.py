"""Unitary scalarization: equal weights plus weight decay, dropout and early stopping, the regularised baseline of Kurin et al."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._base import LossWeighting
from ._params import check_float
from ._registry import register
from ._regularisation import check_dropout, check_early_stopping


def add_weight_decay(params: Sequence[Tensor], weight_decay: float) -> None:
    r"""Add :math:`\lambda \theta` to ``p.grad`` of every parameter that has a gradient.

    This is the gradient of :math:`\frac{\lambda}{2} \lVert \theta \rVert^2`, the term that
    ``torch.optim.SGD`` and ``torch.optim.Adam`` add with their ``weight_decay=λ`` (coupled L2, not
    AdamW's decoupled decay); like them it skips parameters whose ``.grad`` is None. Each parameter
    is counted once even if it is listed twice. One ``torch._foreach_add_`` over all of them.
    """
    if weight_decay == 0.0:
        return
    live = list({id(p): p for p in params if p.grad is not None}.values())
    grads = [g for p in live if (g := p.grad) is not None]
    with torch.no_grad():
        values = [p if p.dtype == g.dtype else p.to(g.dtype) for p, g in zip(live, grads, strict=True)]
        torch._foreach_add_(grads, values, alpha=weight_decay)


@register("unitary")
class UnitaryScalarization(LossWeighting):
    r"""Unitary scalarization: equal loss weights with weight decay, dropout and early stopping, the baseline to beat.

    Paper: Kurin, De Palma, Kostrikov, Whiteson, Kumar, "In Defense of the Unitary
    Scalarization for Deep Multi-Task Learning", NeurIPS 2022. https://arxiv.org/abs/2201.04122

    The paper's finding: the plain sum of the task losses, regularised and tuned as any single-task
    model is (weight decay, dropout, early stopping), matches the specialised multi-task
    optimisers at equal compute. Here, on every parameter :math:`\theta` given to ``backward``
    (shared and task-specific):

    .. math::
        \mathcal{L}(\theta) = \frac{1}{m} \sum_{i=1}^m L_i(\theta)
            + \frac{\lambda}{2} \lVert \theta \rVert^2, \qquad
        \nabla_\theta \mathcal{L} = \frac{1}{m} \sum_i \nabla L_i + \lambda \theta

    with :math:`\lambda` = ``weight_decay``. The :math:`\lambda\theta` term is written into
    ``.grad`` after the backward of the mean loss, so the step is exactly that of the trial's
    optimizer with ``weight_decay=λ`` (``torch.optim.SGD`` / ``Adam``: coupled L2), whatever
    optimizer the trainable uses. Variant: the weights are :math:`1/m` (the centre of the swept
    simplex, as `EqualWeighting`), not the paper's 1: the paper's objective
    :math:`\sum_i L_i + \frac{\lambda'}{2}\lVert\theta\rVert^2` is :math:`m` times this one with
    :math:`\lambda' = m\lambda`, so under Adam (invariant to a constant factor) ``weight_decay: λ``
    here is the paper's :math:`m\lambda`, and under SGD the same at a learning rate :math:`m`
    times smaller. ``weight_decay: 0`` (and no dropout or early stopping) is `EqualWeighting`.

    Dropout and early stopping, the paper's other regularisers, act on the model and the loop
    (`paretosweep.methods._regularisation`), and the built-in training loop applies them:

    * ``dropout: p`` (in :math:`[0, 1)`, default 0): :math:`Z \to \mathrm{dropout}_p(Z)` on the
      shared representation, a forward hook on ``problem.shared_representation(model)`` active in
      training mode only (every built-in problem evaluates under ``model.eval()``, and the loop
      puts the model in evaluation mode around ``evaluate``/``evaluate_test`` too). A problem
      without ``shared_representation`` is refused at plan time.
    * ``early_stopping: {patience: k}`` (default none: every epoch of the budget): after each
      epoch the loop monitors :math:`\bar L^{val} = \frac1m \sum_i L_i^{val}` (the mean of the
      ``<task>_loss`` validation columns, the unitary objective); after :math:`k` epochs in a row
      without a strict improvement it stops. The trial's metrics, checkpoint and test-split
      metrics are then those of the best epoch's model (its state is restored). The epoch is
      chosen on the validation split, the same split that chooses the swept frontier; the test
      split is only reported. Compute stays honest: ``epochs_done``, ``history`` and
      ``train_seconds`` count the epochs actually trained (at most the budget, the same budget as
      every other trial), and the status is ``completed`` (the trial chose to stop).

    In a function trainable (your own ``train(ctx)``), ``ctx.method_options`` holds these options:
    apply them with `RepresentationDropout` and `EarlyStopping`, and end with
    ``ctx.select_epoch(best_epoch, test_metrics=..., checkpoint=...)``. Tune :math:`\lambda`, ``p``
    and ``patience`` as the paper does (e.g. several ``unitary`` entries in ``methods:``, each its
    own comparison arm).

    Effective weights :math:`1/m`. Shapes: losses ``[m]`` -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        weight_decay: L2 coefficient :math:`\lambda \ge 0` (default ``1e-4``).
        dropout: probability :math:`p \in [0, 1)` of zeroing a unit of the shared representation
            in training (default 0: none).
        early_stopping: ``{"patience": k}``, ``k >= 1`` (default None: train the whole budget).

    Example:
        >>> unitary = UnitaryScalarization(n_tasks=2, weight_decay=0.1)
        >>> theta = nn.Parameter(torch.tensor([1.0, 2.0]))
        >>> unitary.backward(theta * 1.0, [theta])
        tensor([0.5000, 0.5000])
        >>> theta.grad
        tensor([0.6000, 0.7000])
    """

    def __init__(
        self, *, n_tasks: int, weight_decay: float = 1e-4, dropout: float = 0.0, early_stopping: dict[str, int] | None = None
    ) -> None:
        super().__init__(n_tasks=n_tasks)
        self.weight_decay = check_float("weight_decay", weight_decay, ge=0.0)
        self.dropout = check_dropout(dropout)
        self.early_stopping = check_early_stopping(early_stopping)

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        weights = torch.full_like(losses, 1.0 / self.n_tasks).detach()
        return (weights * losses).sum(), weights

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        """The mean loss's backward, then :math:`\\lambda\\theta` added to every ``.grad`` it reached."""
        weights = super().backward(losses, shared, task_specific=task_specific)
        add_weight_decay([p for p in (*shared, *task_specific) if p.requires_grad], self.weight_decay)
        return weights
