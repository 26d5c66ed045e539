"""MTAdam: Adam with per-loss moments, per-layer gradient magnitudes balanced to an anchor loss."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ._base import Method
from ._jacobian import TaskGrads, accumulate_grad, common_dtype, live_entries, norm_ratio, row_norms, task_gradients
from ._linalg import as_float64, like_input, to_tensor
from ._params import check_float, check_task
from ._registry import register

_TINY = 1e-10  # the authors' threshold for a vanishing gradient norm


def anchor_scales(norm_ema: Tensor | np.ndarray, anchor: int) -> Tensor | np.ndarray:
    r"""``[m, K]`` factors :math:`\bar n_{a_k,k} / \bar n_{ik}` balancing each block to its anchor.

    The anchor :math:`a_k` of block :math:`k` is ``anchor`` if its average norm exceeds
    :math:`10^{-10}`, else the first task (in index order) whose norm does; a task with a
    vanishing norm keeps factor 1. Computed in float64 NumPy; a tensor in gives a tensor out.

    Example:
        >>> anchor_scales(torch.tensor([[2.0, 0.0], [4.0, 3.0]]), anchor=0)
        tensor([[1.0000, 1.0000],
                [0.5000, 1.0000]])
    """
    n = as_float64(norm_ema)
    m = n.shape[0]
    alive = n > _TINY
    order = np.arange(m)
    priority = np.where(alive, np.where(order == anchor, -1, order)[:, None], m)
    first = priority.argmin(axis=0)
    anchor_norm = n[first, np.arange(n.shape[1])]
    return like_input(np.where(alive, anchor_norm / np.where(alive, n, 1.0), 1.0), norm_ema)


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
    AMSGrad. Implementation: the moments are stacked ``[m, n]`` tensors updated through
    ``torch._foreach`` ops over per-task, per-parameter views (no per-parameter Python loop),
    and the per-layer norm bookkeeping (``[m, K]``) runs in float64 NumPy. The returned
    weights are :math:`\lVert \hat g_i \rVert / \lVert g_i \rVert` over the shared parameters
    (the balancing factor; 1 for the anchor).
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
        self._views: tuple | None = None  # see _moment_views

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
        rows = task_gradients(losses, params)
        norms = row_norms(rows, len(params))  # [m, K] float64 NumPy: the small math runs there
        st = self._state_like(params)
        st["step"] += 1
        t = int(st["step"])
        norms_ema = st["norm_ema"].numpy()  # float64 CPU: updated in place through NumPy
        if t > 1:
            norms_ema *= self.beta3
            norms_ema += (1.0 - self.beta3) * norms
        else:
            norms_ema[...] = norms
        scales = np.asarray(anchor_scales(norms_ema, self.main_task))  # NumPy in, NumPy out
        self._update_moments(rows, scales, params)
        # max_i (sqrt(v_i / c2) + eps) == sqrt(max_i v_i) / sqrt(c2) + eps (sqrt is monotone), so
        # u = (sum_i m_i / c1) / that = (sum_i m_i) (sqrt(c2)/c1) / (sqrt(max_i v_i) + eps sqrt(c2))
        root_c2 = math.sqrt(1.0 - self.beta2**t)
        denom = torch.amax(st["exp_avg_sq"], dim=0).sqrt_().add_(self.eps * root_c2)
        update = st["exp_avg"].sum(dim=0).div_(denom).mul_(root_c2 / (1.0 - self.beta1**t))
        accumulate_grad(params, update)
        k_shared = len(shared)
        return to_tensor(np.asarray(norm_ratio(scales[:, :k_shared], norms[:, :k_shared])), update)

    def _update_moments(self, rows: TaskGrads, scales: np.ndarray, params: Sequence[Tensor]) -> None:
        r""":math:`m_{ik} \leftarrow \beta_1 m_{ik} + (1-\beta_1) s_{ik} g_{ik}` and
        :math:`v_{ik} \leftarrow \beta_2 v_{ik} + (1-\beta_2) s_{ik}^2 g_{ik}^2`.

        Both stacked ``[m, n]`` moments decay with one multiply each; then one
        ``torch._foreach_addcmul_`` per moment adds the balanced gradients in place, over the
        views of task ``i``'s block ``k`` for the gradients that exist (a task that does not
        reach a parameter adds nothing). No per-parameter Python loop, no temporaries.
        """
        st = self.state
        st["exp_avg"].mul_(self.beta1)
        st["exp_avg_sq"].mul_(self.beta2)
        live = live_entries(rows)
        if not live:
            return
        m_views, v_views = self._moment_views(params)
        grads = [g for i, k in live if (g := rows[i][k]) is not None]  # every live entry
        s = [float(scales[i, k]) for i, k in live]
        one = grads[0].new_ones(())
        torch._foreach_addcmul_(
            [m_views[i][k] for i, k in live],
            grads,
            [one] * len(grads),
            [(1.0 - self.beta1) * x for x in s],
        )
        torch._foreach_addcmul_(
            [v_views[i][k] for i, k in live],
            grads,
            grads,
            [(1.0 - self.beta2) * x * x for x in s],
        )

    def _moment_views(self, params: Sequence[Tensor]) -> tuple[list[list[Tensor]], list[list[Tensor]]]:
        """``views[i][k]``: task ``i``'s block of parameter ``k`` in ``exp_avg`` / ``exp_avg_sq``.

        Built once and reused while the views still point into the state tensors' memory (a new
        state from a checkpoint load, a copy or a device move rebuilds them).
        """
        shapes = tuple(tuple(p.shape) for p in params)
        bufs = (self.state["exp_avg"], self.state["exp_avg_sq"])
        ptrs = tuple(buf.data_ptr() for buf in bufs)
        cached = self._views
        if cached is None or cached[0] != (ptrs, shapes) or tuple(v[0][0].data_ptr() for v in cached[1:]) != ptrs:
            bounds = torch.tensor([0] + [p.numel() for p in params]).cumsum(0).tolist()
            views = tuple(
                [[buf[i, bounds[k] : bounds[k + 1]].view(shape) for k, shape in enumerate(shapes)] for i in range(buf.shape[0])]
                for buf in bufs
            )
            self._views = cached = ((ptrs, shapes), *views)
        return cached[1], cached[2]

    def _state_like(self, params: Sequence[Tensor]) -> dict[str, Tensor]:
        dtype, device = common_dtype(params), params[0].device
        shape = (self.n_tasks, sum(p.numel() for p in params))
        if not self.state or tuple(self.state["exp_avg"].shape) != shape:
            self.state = {
                "step": torch.zeros((), dtype=torch.long),
                "norm_ema": torch.zeros((self.n_tasks, len(params)), dtype=torch.float64),
                "exp_avg": torch.zeros(shape, dtype=dtype, device=device),
                "exp_avg_sq": torch.zeros(shape, dtype=dtype, device=device),
            }
        st = self.state
        if st["exp_avg"].device != device:
            self.state = st = {k: v.to(device) for k, v in st.items()}
        # step and the [m, K] norm averages live on the CPU, the averages in float64 (NumPy math)
        if st["step"].device.type != "cpu":
            st["step"] = st["step"].cpu()
        ema = st["norm_ema"]
        if ema.device.type != "cpu" or ema.dtype != torch.float64:
            st["norm_ema"] = ema.to("cpu", torch.float64)
        return st

    def get_extra_state(self) -> dict[str, Any]:
        return dict(self.state)

    def set_extra_state(self, state: dict[str, Any]) -> None:
        # copies: the moments are updated in place, and an in-memory state dict aliases its source
        self.state = {k: v.clone() if isinstance(v, Tensor) else v for k, v in state.items()}
