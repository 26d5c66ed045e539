"""MTAdam: Adam with per-loss moments, per-layer gradient magnitudes balanced to an anchor loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ._base import Method
from ._jacobian import (
    accumulate_grad, block_norms, block_sizes, expand_blocks, norm_ratio, task_jacobian,
)
from ._params import check_float, check_task
from ._registry import register

_TINY = 1e-10  # the authors' threshold for a vanishing gradient norm


def anchor_scales(norm_ema: Tensor, anchor: int) -> Tensor:
    r"""``[m, K]`` factors :math:`\bar n_{a_k,k} / \bar n_{ik}` balancing each block to its anchor.

    The anchor :math:`a_k` of block :math:`k` is ``anchor`` if its average norm exceeds
    :math:`10^{-10}`, else the first task (in index order) whose norm does; a task with a
    vanishing norm keeps factor 1.

    Example:
        >>> anchor_scales(torch.tensor([[2.0, 0.0], [4.0, 3.0]]), anchor=0)
        tensor([[1.0000, 1.0000],
                [0.5000, 1.0000]])
    """
    alive = norm_ema > _TINY
    order = torch.arange(norm_ema.shape[0], device=norm_ema.device)
    priority = torch.where(order == anchor, -1, order).unsqueeze(1).expand_as(norm_ema)
    priority = torch.where(alive, priority, norm_ema.shape[0])
    first = priority.argmin(dim=0)
    anchor_norm = norm_ema.gather(0, first.unsqueeze(0))
    safe = torch.where(alive, norm_ema, torch.ones_like(norm_ema))
    return torch.where(alive, anchor_norm / safe, torch.ones_like(norm_ema))


@register("mtadam")
class MTAdam(Method):
    r"""MTAdam: per-loss Adam moments, each loss's per-layer gradient rescaled to the anchor loss's.

    Paper: Malkiel, Wolf, "MTAdam: Automatic Balancing of Multiple Training Loss Terms",
    arXiv:2006.14683, 2020. https://arxiv.org/abs/2006.14683

    For every parameter tensor :math:`k` (layer) and loss :math:`i`, at step :math:`t`:

    .. math::
        \bar n_{ik} &\leftarrow \beta_3 \bar n_{ik} + (1-\beta_3) \lVert g_{ik} \rVert
            \quad (\bar n_{ik} = \lVert g_{ik} \rVert \text{ at } t = 1) \\
        \hat g_{ik} &= \frac{\bar n_{a,k}}{\bar n_{ik}} g_{ik} \\
        m_{ik} &\leftarrow \beta_1 m_{ik} + (1-\beta_1) \hat g_{ik}, \quad
        v_{ik} \leftarrow \beta_2 v_{ik} + (1-\beta_2) \hat g_{ik}^2 \\
        u_k &= \sum_i \frac{m_{ik} / (1-\beta_1^t)}
            {\max_j \big(\sqrt{v_{jk} / (1-\beta_2^t)} + \epsilon\big)}

    (max elementwise) and the parameter update is :math:`\theta_k \leftarrow \theta_k - \eta
    u_k`. This is Algorithm 1 of the paper as in the authors' released optimizer, with the
    anchor :math:`a` = ``main_task`` (the paper's first loss term; see `anchor_scales`).

    How it fits the protocol, precisely: MTAdam *is* an optimizer. This method computes
    :math:`u` and writes it into ``.grad`` of **all** parameters it is given (shared and
    task-specific: the authors apply MTAdam to every layer), keeping :math:`\bar n, m, v`
    and :math:`t` in its state. The published rule is reproduced exactly when the trainer
    steps these parameters with plain SGD at learning rate :math:`\eta` (no momentum, no
    weight decay); ``replaces_optimizer = True`` says so. Under another optimizer (e.g.
    Adam) the update is that optimizer applied to :math:`u`, which is *not* MTAdam.
    Omitted: the authors' per-loss ``ranks`` (fixed loss weights; 1 here), weight decay and
    AMSGrad. The returned weights are :math:`\lVert \hat g_i \rVert / \lVert g_i \rVert`
    over the shared parameters (the balancing factor; 1 for the anchor).
    Shapes: losses ``[m]``, Jacobian ``[m, n]``, state ``[m, n]`` twice -> weights ``[m]``.

    Args:
        n_tasks: number of tasks.
        main_task: index of the anchor loss (default 0, the paper's first term).
        beta1, beta2: Adam moment factors in ``[0, 1)`` (0.9, 0.999).
        beta3: moving-average factor of the gradient norms in ``[0, 1)`` (0.9).
        eps: Adam's :math:`\epsilon > 0`.
    """

    needs_shared_grads = True
    replaces_optimizer = True

    def __init__(
        self,
        *,
        n_tasks: int,
        main_task: int = 0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        beta3: float = 0.9,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(n_tasks=n_tasks)
        self.main_task = check_task("main_task", main_task, n_tasks)
        self.beta1 = check_float("beta1", beta1, ge=0.0, lt=1.0)
        self.beta2 = check_float("beta2", beta2, ge=0.0, lt=1.0)
        self.beta3 = check_float("beta3", beta3, ge=0.0, lt=1.0)
        self.eps = check_float("eps", eps, gt=0.0)
        self.state: dict[str, Tensor] = {}

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        self._check_losses(losses)
        shared = self._check_shared(shared)
        params = shared + [p for p in task_specific if p.requires_grad]
        jac = task_jacobian(losses, params)
        sizes = block_sizes(params)
        norms = block_norms(jac, sizes)
        st = self._state_like(jac, norms)
        st["step"] += 1
        t = int(st["step"])
        beta3 = 0.0 if t == 1 else self.beta3
        st["norm_ema"] = beta3 * st["norm_ema"] + (1.0 - beta3) * norms
        scales = anchor_scales(st["norm_ema"], self.main_task)
        balanced = expand_blocks(scales, sizes) * jac
        st["exp_avg"].mul_(self.beta1).add_(balanced, alpha=1.0 - self.beta1)
        st["exp_avg_sq"].mul_(self.beta2).addcmul_(balanced, balanced, value=1.0 - self.beta2)
        denom = (st["exp_avg_sq"] / (1.0 - self.beta2**t)).sqrt() + self.eps
        update = (st["exp_avg"] / (1.0 - self.beta1**t)).sum(dim=0) / torch.amax(denom, dim=0)
        accumulate_grad(params, update)
        k_shared = len(shared)
        return norm_ratio(scales[:, :k_shared], norms[:, :k_shared]).detach()

    def _state_like(self, jac: Tensor, norms: Tensor) -> dict[str, Tensor]:
        if not self.state or self.state["exp_avg"].shape != jac.shape:
            self.state = {
                "step": torch.zeros((), dtype=torch.long),
                "norm_ema": torch.zeros_like(norms),
                "exp_avg": torch.zeros_like(jac),
                "exp_avg_sq": torch.zeros_like(jac),
            }
        self.state = {k: v.to(jac.device) for k, v in self.state.items()}
        return self.state

    def get_extra_state(self) -> dict[str, Any]:
        return dict(self.state)

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.state = dict(state)
