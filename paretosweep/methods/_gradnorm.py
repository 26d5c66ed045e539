"""GradNorm: learn loss weights that equalise the tasks' gradient norms, scaled by training rate."""

from __future__ import annotations

import torch
from torch import Tensor

from ._base import GramianMethod
from ._params import check_float
from ._registry import register


def gradnorm_weight_gradient(weights: Tensor, grad_norms: Tensor, losses: Tensor, initial_losses: Tensor, alpha: float) -> Tensor:
    r"""The gradient :math:`\nabla_w L_{grad}` of GradNorm's auxiliary loss (target held constant).

    .. math::
        G_i = w_i \lVert \nabla_W L_i \rVert, \quad
        r_i = \frac{L_i / L_i(0)}{\frac1m \sum_j L_j / L_j(0)}, \quad
        L_{grad} = \sum_i \big| G_i - \bar G\, r_i^{\alpha} \big|, \quad
        \frac{\partial L_{grad}}{\partial w_i} =
            \operatorname{sign}\!\big(G_i - \bar G r_i^\alpha\big) \lVert \nabla_W L_i \rVert

    Args:
        weights: ``[m]`` current loss weights :math:`w`.
        grad_norms: ``[m]`` norms :math:`\lVert \nabla_W L_i \rVert` of the unweighted losses.
        losses: ``[m]`` current losses; ``initial_losses``: ``[m]`` losses at the first step.
        alpha: asymmetry :math:`\alpha \ge 0`.

    Returns:
        ``[m]`` gradient w.r.t. ``weights``.

    Example:
        >>> gradnorm_weight_gradient(torch.ones(2), torch.tensor([1.0, 3.0]),
        ...                          torch.ones(2), torch.ones(2), alpha=1.5)
        tensor([-1.,  3.])
    """
    norms = weights * grad_norms
    ratio = losses / torch.clamp(initial_losses, min=torch.finfo(losses.dtype).tiny)
    rate = ratio / ratio.mean()
    target = norms.mean() * rate**alpha
    return torch.sign(norms - target) * grad_norms


@register("gradnorm")
class GradNorm(GramianMethod):
    r"""GradNorm: loss weights that make each weighted gradient norm track its training rate.

    Paper: Chen, Badrinarayanan, Lee, Rabinovich, "GradNorm: Gradient Normalization for
    Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018.
    https://proceedings.mlr.press/v80/chen18a.html

    At each step the network gets the gradient of :math:`\sum_i w_i(t) L_i`; then :math:`w` takes
    one step on :math:`L_{grad}` (see `gradnorm_weight_gradient`) and is renormalised:

    .. math::
        w \leftarrow w - \eta_w \,\mathrm{Adam}(\nabla_w L_{grad}), \qquad
        w \leftarrow \frac{m\, w}{\sum_i w_i}

    Variant and deviations: :math:`W` is *all* shared parameters (as in LibMTL; the paper
    uses the last shared layer to save compute, which the protocol does not identify);
    :math:`L_i(0)` are the losses of the first step; :math:`w_i(0) = 1`. The paper trains
    :math:`w` with gradient descent alongside the network; here :math:`w` is a buffer updated
    inside the method by its own Adam step (rate ``weight_lr``, betas 0.9/0.999, state in
    buffers), so the trainer's optimizer never sees it (``parameters()`` is empty), and
    :math:`w` is floored at :math:`10^{-3}` before renormalising. Heads get the gradient of
    :math:`\sum_i w_i L_i`. Shapes: Gramian ``[m, m]`` -> weights ``[m]`` (sum ``m``).

    Args:
        n_tasks: number of tasks.
        alpha: asymmetry :math:`\alpha \ge 0` (paper: 0.12 .. 1.5; 0 equalises norms).
        weight_lr: Adam learning rate of the weights, ``> 0``.
    """

    loss_weights: Tensor
    initial_losses: Tensor
    adam_m: Tensor
    adam_v: Tensor
    steps: Tensor

    def __init__(self, *, n_tasks: int, alpha: float = 1.5, weight_lr: float = 0.025) -> None:
        super().__init__(n_tasks=n_tasks)
        self.alpha = check_float("alpha", alpha, ge=0.0)
        self.weight_lr = check_float("weight_lr", weight_lr, gt=0.0)
        self.register_buffer("loss_weights", torch.ones(n_tasks))
        self.register_buffer("initial_losses", torch.full((n_tasks,), float("nan")))
        self.register_buffer("adam_m", torch.zeros(n_tasks))
        self.register_buffer("adam_v", torch.zeros(n_tasks))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def weights(self, gramian: Tensor, losses: Tensor) -> Tensor:
        applied = self.loss_weights.clone()
        if bool(torch.isnan(self.initial_losses).any()):
            self.initial_losses.copy_(losses)
        grad_norms = torch.sqrt(torch.clamp(torch.diagonal(gramian), min=0.0)).to(applied)
        grad = gradnorm_weight_gradient(applied, grad_norms, losses.to(applied), self.initial_losses, self.alpha)
        self._adam_step(grad)
        return applied.to(gramian.dtype)

    def _adam_step(self, grad: Tensor, beta1: float = 0.9, beta2: float = 0.999) -> None:
        if not bool(torch.isfinite(grad).all()):
            return  # a non-finite loss; the trainer records the divergence
        self.steps += 1
        t = int(self.steps)
        self.adam_m.mul_(beta1).add_(grad, alpha=1 - beta1)
        self.adam_v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        m_hat = self.adam_m / (1 - beta1**t)
        v_hat = self.adam_v / (1 - beta2**t)
        w = self.loss_weights - self.weight_lr * m_hat / (v_hat.sqrt() + 1e-8)
        w = torch.clamp(w, min=1e-3)
        self.loss_weights.copy_(self.n_tasks * w / w.sum())
