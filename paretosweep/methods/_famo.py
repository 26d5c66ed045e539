"""FAMO: task logits that follow which log-loss fell least, at the cost of one backward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from paretosweep.errors import ParetoSweepError

from ._base import LossWeighting
from ._jacobian import accumulate_grads, clip_total_norm_
from ._linalg import as_float64, like_input
from ._params import check_float
from ._registry import register

#: Added to every loss before its log, as in the authors' code.
LOSS_EPS = 1e-8
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def famo_weights(logits: Tensor | np.ndarray, losses: Tensor | np.ndarray) -> Tensor | np.ndarray:
    r"""FAMO's effective weights :math:`w_i = \frac{z_i / L_i}{\sum_j z_j / L_j}`, :math:`z = \operatorname{softmax}(\xi)`.

    They are the coefficients of :math:`\nabla L_i` in the gradient of FAMO's objective
    :math:`\sum_i \frac{z_i}{c} \log L_i` with :math:`c = \sum_j z_j / L_j` held constant, and sum
    to 1. ``logits`` and ``losses`` are ``[m]``; the losses here already include the
    :math:`10^{-8}` offset. Computed in float64 NumPy; tensors in give a tensor like ``losses``.

    Example:
        >>> famo_weights(torch.zeros(2), torch.tensor([1.0, 3.0]))
        tensor([0.7500, 0.2500])
    """
    ratio = _softmax(as_float64(logits)) / as_float64(losses)
    return like_input(ratio / ratio.sum(), losses)


def famo_logit_gradient(
    logits: Tensor | np.ndarray, log_before: Tensor | np.ndarray, log_after: Tensor | np.ndarray
) -> Tensor | np.ndarray:
    r"""The logits' update direction :math:`\delta = \nabla_\xi z(\xi)^\top (\log L_{t} - \log L_{t+1})`.

    With :math:`z = \operatorname{softmax}(\xi)` (its Jacobian :math:`\operatorname{diag}(z) -
    z z^\top` is symmetric) this is :math:`z \odot (d - z^\top d)` for
    :math:`d = \log L_t - \log L_{t+1}` (``[m]`` each). A task whose log-loss fell more than
    the :math:`z`-average gets a positive entry, so the descent step lowers its logit. Computed in
    float64 NumPy; a tensor ``logits`` gives a tensor like it.

    Example:
        >>> famo_logit_gradient(torch.zeros(2), torch.tensor([0.0, 0.0]), torch.tensor([-1.0, 0.0]))
        tensor([ 0.2500, -0.2500])
    """
    z = _softmax(as_float64(logits))
    d = as_float64(log_before) - as_float64(log_after)
    return like_input(z * (d - z @ d), logits)


@register("famo")
class FAMO(LossWeighting):
    r"""Fast adaptive multitask optimisation: balance the tasks' log-loss decrease in O(1) per step.

    Paper: Liu, Feng, Stone, Liu, "FAMO: Fast Adaptive Multitask Optimization", NeurIPS 2023.
    https://arxiv.org/abs/2306.03792

    With task logits :math:`\xi` ([m], learnt), :math:`z = \operatorname{softmax}(\xi)` and
    :math:`c_t = \sum_i z_i / L_i(\theta_t)`, one step (Algorithm 1) is

    .. math::
        \theta_{t+1} = \theta_t - \eta \sum_i \frac{z_i}{c_t L_i} \nabla L_i(\theta_t), \qquad
        \xi_{t+1} = \xi_t - \beta\big(\nabla_\xi z^\top [\log L(\theta_t) - \log L(\theta_{t+1})]
        + \gamma \xi_t\big)

    i.e. one backward of :math:`\sum_i (z_i / c_t) \log L_i` (effective weights
    `famo_weights`, summing to 1; run as one backward of the losses with these weights as their
    output gradients, the same gradient by the chain rule): no per-task gradients, :math:`O(m)`
    extra memory and time.

    Variant: Algorithm 2 of the paper (Appendix C), which is also LibMTL's ``FAMO``, the
    authors' code and TorchJD's ``scalarization.FAMO`` (0.18): :math:`L_i + 10^{-8}` inside the
    logs with the lower bounds ``min_losses`` 0 (the losses must be :math:`\ge 0`, as MSE and
    cross-entropy are); the logits are stepped with Adam (learning rate ``w_lr``, L2 weight
    decay ``gamma``, betas (0.9, 0.999), the update rule of ``torch.optim.Adam``, computed in
    float64; its state is this module's extra state in ``state_dict()``); the shared parameters'
    gradient of the step is clipped to norm ``max_norm`` as in the authors' ``famo.py`` (0: no
    clipping; TorchJD and LibMTL do not clip, and the authors' ``weight_methods.py`` calls the
    clip before the backward, where it has no effect). Defaults:
    ``w_lr = 0.025`` and ``gamma = 1e-3`` as in Algorithm 2, LibMTL and TorchJD (the authors'
    ``weight_methods.py`` uses ``gamma = 1e-5``, their example ``famo.py`` 0.01).

    One difference of definition: the authors (and TorchJD's ``update``) evaluate
    :math:`L(\theta_{t+1})` by a second forward pass on the *same* batch after the optimizer step,
    which a method here cannot run (it sees only the losses). The logit step therefore uses
    the next step's losses, :math:`L(\theta_{t+1})` on the *next* batch, at the start of the
    next ``backward``, just before that step's weights are computed, so the logits are updated
    at the same point of the loop. Given the same loss sequence the updates are TorchJD's
    exactly (``update(L_{t+1})`` then ``L_{t+1}``'s step); with full-batch training that is the
    paper's update, with mini-batches the log-loss change also carries the difference between
    two batches, a noisier estimate of the same quantity, and no extra forward pass is paid. The
    first step has no previous loss and keeps :math:`\xi = 0` (equal :math:`z`). Heads get the
    same weighted gradient (unclipped). Shapes: losses ``[m]`` -> weights ``[m]`` (sum 1).

    Args:
        n_tasks: number of tasks.
        w_lr: Adam learning rate of the logits, ``> 0``.
        gamma: weight decay of the logits, ``>= 0``.
        max_norm: clip norm of the shared parameters' gradient, ``>= 0``.

    Example:
        >>> famo = FAMO(n_tasks=2)
        >>> theta = nn.Parameter(torch.tensor([1.0, 2.0]))
        >>> famo.backward(theta**2, [], task_specific=[theta])
        tensor([0.8000, 0.2000])
    """

    def __init__(self, *, n_tasks: int, w_lr: float = 0.025, gamma: float = 1e-3, max_norm: float = 1.0) -> None:
        super().__init__(n_tasks=n_tasks)
        self.w_lr = check_float("w_lr", w_lr, gt=0.0)
        self.gamma = check_float("gamma", gamma, ge=0.0)
        self.max_norm = check_float("max_norm", max_norm, ge=0.0)
        # Rows: the logits, Adam's two moments, the previous step's log-losses. [4, m] float64 on the
        # CPU, updated in place through NumPy (an [m] operation there costs about a microsecond);
        # saved as extra state, so device moves leave it where it is.
        self._state = torch.zeros(4, n_tasks, dtype=torch.float64)
        self._steps = 0

    @property
    def logits(self) -> Tensor:
        """The task logits :math:`\\xi` (``[m]`` float64, CPU; a view of the method's state)."""
        return self._state[0]

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        r""":math:`(\sum_i (z_i / c) \log L_i, [m] \text{ weights})`, :math:`c = \sum_j z_j / L_j` held constant.

        ``backward`` does not build this graph: it backpropagates ``losses`` with the weights as
        output gradients, the same gradient (chain rule) without the logs' autograd nodes.
        """
        shifted = losses + LOSS_EPS
        weights = torch.as_tensor(famo_weights(self.logits, shifted.detach()))
        z_over_c = weights * shifted.detach()  # z_i / c, since weights_i = z_i / (c L_i)
        return (z_over_c * shifted.log()).sum(), weights

    def backward(
        self,
        losses: Tensor,
        shared: Sequence[nn.Parameter],
        *,
        task_specific: Sequence[nn.Parameter] = (),
    ) -> Tensor:
        """Step the logits on the log-loss change since the last call, then one backward with FAMO's weights."""
        self._check_losses(losses)
        shared = [p for p in shared if p.requires_grad]
        heads = [p for p in task_specific if p.requires_grad]
        if not shared and not heads:
            raise ParetoSweepError("FAMO.backward was given no parameters.")
        shifted = self._shifted(losses)
        state = self._state.numpy()
        log_losses = np.log(shifted)
        if self._steps > 0:
            self._step_logits(np.asarray(famo_logit_gradient(state[0], state[3], log_losses)))
        state[3] = log_losses
        self._steps += 1
        weights = torch.as_tensor(famo_weights(state[0], shifted), dtype=losses.dtype, device=losses.device)
        grads = torch.autograd.grad(losses, [*shared, *heads], grad_outputs=weights, allow_unused=True)
        clip_total_norm_(grads[: len(shared)], self.max_norm)
        accumulate_grads([*shared, *heads], grads)
        return weights

    def get_extra_state(self) -> dict[str, Any]:
        return {"state": self._state.clone(), "steps": self._steps}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self._state.copy_(state["state"])
        self._steps = int(state["steps"])

    def _shifted(self, losses: Tensor) -> np.ndarray:
        """``[m]`` float64 ``L_i + 1e-8``; refuses a loss below ``-1e-8`` (its log is undefined)."""
        shifted = np.asarray(losses.detach().tolist(), dtype=np.float64) + LOSS_EPS
        if not (shifted > 0).all():
            raise ParetoSweepError(
                f"FAMO takes the log of every task loss, so the losses should be >= 0. Found "
                f"{losses.detach().tolist()}; give each task a non-negative loss (shift it by its lower bound)."
            )
        return shifted

    def _step_logits(self, grad: np.ndarray) -> None:
        """One ``torch.optim.Adam`` step of the logits (L2 weight decay ``gamma``, no amsgrad), in float64."""
        beta1, beta2 = ADAM_BETAS
        logits, exp_avg, exp_avg_sq = self._state.numpy()[:3]
        grad = grad + self.gamma * logits
        t = self._steps  # the logits' t-th step happens at the (t+1)-th backward
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = np.sqrt(exp_avg_sq / (1 - beta2**t)) + ADAM_EPS
        logits -= (self.w_lr / (1 - beta1**t)) * exp_avg / denom
