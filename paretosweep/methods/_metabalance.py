"""MetaBalance: move each auxiliary gradient's magnitude toward the main task's, layer by layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ._base import Method
from ._jacobian import accumulate_grad, accumulate_weighted, block_norms, block_sizes, combine_blocks, norm_ratio
from ._params import check_choice, check_float, check_task
from ._registry import register

STRATEGIES = ("adapt", "reduce", "enlarge")
_TINY = 1e-12


def metabalance_scales(norm_ema: Tensor, main_task: int, relax_factor: float, strategy: str = "adapt") -> Tensor:
    r"""Per-task, per-block factors :math:`s_{ik}` applied to the gradients :math:`g_{ik}`.

    .. math::
        s_{ik} = r \frac{\bar n_{main,k}}{\bar n_{ik}} + (1 - r)

    where :math:`\bar n_{ik}` is the moving average of :math:`\lVert g_{ik} \rVert`. Only
    where the strategy applies (``adapt``: always; ``reduce``: :math:`\bar n_{ik} >
    \bar n_{main,k}`; ``enlarge``: :math:`\bar n_{ik} < \bar n_{main,k}`); elsewhere, for the
    main task and for zero averages, :math:`s_{ik} = 1`.

    Args:
        norm_ema: ``[m, K]`` moving averages of the block gradient norms.
        main_task: index of the main task.
        relax_factor: :math:`r \in [0, 1]`.
        strategy: ``adapt``, ``reduce`` or ``enlarge``.

    Returns:
        ``[m, K]`` factors.

    Example:
        >>> metabalance_scales(torch.tensor([[1.0], [4.0]]), 0, 0.5)
        tensor([[1.0000],
                [0.6250]])
    """
    main = norm_ema[main_task].unsqueeze(0)
    safe = torch.where(norm_ema > _TINY, norm_ema, torch.ones_like(norm_ema))
    scales = relax_factor * main / safe + (1.0 - relax_factor)
    apply = norm_ema > _TINY
    if strategy == "reduce":
        apply &= norm_ema > main
    elif strategy == "enlarge":
        apply &= norm_ema < main
    scales = torch.where(apply, scales, torch.ones_like(scales))
    scales[main_task] = 1.0
    return scales


@register("metabalance")
class MetaBalance(Method):
    r"""MetaBalance: auxiliary-task gradient magnitudes pulled toward the main task's, per layer.

    Paper: He, Feng, Cheng, Lu, Liu, Bai, Zhang, "MetaBalance: Improving Multi-Task
    Recommendations via Adapting Gradient Magnitudes of Auxiliary Tasks", WWW 2022.
    https://arxiv.org/abs/2203.06801

    For each shared parameter tensor :math:`k` and task :math:`i`, with moving averages
    :math:`\bar n_{ik} \leftarrow \beta \bar n_{ik} + (1-\beta) \lVert g_{ik} \rVert`
    (initialised 0, no bias correction, as in the authors' code):

    .. math::
        g_{ik} \leftarrow r \frac{\bar n_{main,k}}{\bar n_{ik}} g_{ik} + (1 - r) g_{ik},
        \qquad d_k = \sum_i g_{ik}

    ``strategy`` is the paper's choice of when to adapt: ``adapt`` (always, the authors'
    released optimizer), ``reduce`` (only auxiliary gradients larger than the main one),
    ``enlarge`` (only smaller ones). Task-specific parameters get each task's own loss
    gradient (:math:`\sum_i L_i`). The returned weights are :math:`\lVert \hat g_i \rVert /
    \lVert g_i \rVert` over the shared parameters (1 for the main task): by how much the
    method rescaled each task's gradient. Shapes: losses ``[m]``, Jacobian ``[m, n]`` ->
    weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        main_task: index of the target (main) task.
        relax_factor: :math:`r \in [0, 1]` (paper: 0.7 by default).
        beta: moving-average factor :math:`\beta \in [0, 1)` (paper: 0.9).
        strategy: ``adapt``, ``reduce`` or ``enlarge``.
    """

    needs_shared_grads = True

    def __init__(
        self,
        *,
        n_tasks: int,
        main_task: int,
        relax_factor: float = 0.7,
        beta: float = 0.9,
        strategy: str = "adapt",
    ) -> None:
        super().__init__(n_tasks=n_tasks)
        self.main_task = check_task("main_task", main_task, n_tasks)
        self.relax_factor = check_float("relax_factor", relax_factor, ge=0.0, le=1.0)
        self.beta = check_float("beta", beta, ge=0.0, lt=1.0)
        self.strategy = check_choice("strategy", strategy, STRATEGIES)
        self.norm_ema: Tensor | None = None

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        shared, heads, jac, head_rows = self._task_gradients(losses, shared, task_specific)
        sizes = block_sizes(shared)
        norms = block_norms(jac, sizes)
        if self.norm_ema is None or self.norm_ema.shape != norms.shape:
            self.norm_ema = torch.zeros_like(norms)
        self.norm_ema = self.beta * self.norm_ema.to(norms) + (1.0 - self.beta) * norms
        scales = metabalance_scales(self.norm_ema, self.main_task, self.relax_factor, self.strategy)
        accumulate_grad(shared, combine_blocks(scales, jac, sizes))
        accumulate_weighted(heads, head_rows, torch.ones_like(losses))
        return torch.as_tensor(norm_ratio(scales, norms)).detach()  # a tensor, as norms is

    def get_extra_state(self) -> dict[str, Any]:
        return {"norm_ema": self.norm_ema}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.norm_ema = state["norm_ema"]
