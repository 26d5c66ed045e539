"""Autograd plumbing shared by the methods: per-task Jacobians and writing `.grad`.

``task_jacobian`` computes the ``[m, n]`` matrix of per-task gradients over a shared forward
pass. Two ways, same numbers: one batched backward (``is_grads_batched=True``: ``torch.vmap``
over the rows of the identity), or ``m`` ordinary passes over the retained graph. On CPU the
loop measured faster (``benchmarks/method_step.py``: vmap's batching overhead outweighs the
saved per-op dispatch there), so ``batched=None`` picks the loop on CPU and the batched pass on
accelerators, where it amortises kernel launches (not yet measured in this repository). The
batched pass falls back to the loop when an operation has no vmap batching rule.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

_BATCHING_FAILED: set[str] = set()  # error messages already warned about


def task_jacobian(
    losses: Tensor,
    params: Sequence[Tensor],
    *,
    retain_graph: bool = False,
    batched: bool | None = None,
) -> Tensor:
    """Per-task gradients of ``params``, flattened and concatenated in order.

    Args:
        losses: ``[m]`` task losses of one batch, differentiable w.r.t. ``params``.
        params: the parameters to differentiate; a parameter a task does not reach gets zeros.
        retain_graph: keep the graph for a later backward.
        batched: vmap-batched backward (True), a loop over tasks (False), or by device (None).

    Returns:
        ``[m, n]`` Jacobian, ``n = sum(p.numel() for p in params)``, rows in task order.
    """
    m = losses.shape[0]
    params = list(params)
    if batched is None:
        batched = losses.device.type != "cpu"
    if batched:
        try:
            eye = torch.eye(m, dtype=losses.dtype, device=losses.device)
            grads = torch.autograd.grad(
                losses, params, grad_outputs=eye, retain_graph=True,
                is_grads_batched=True, allow_unused=True, materialize_grads=True,
            )
            return torch.cat([g.reshape(m, -1) for g in grads], dim=1)
        except RuntimeError as exc:  # an op without a vmap batching rule
            if str(exc) not in _BATCHING_FAILED:
                _BATCHING_FAILED.add(str(exc))
                warnings.warn(f"batched Jacobian failed, looping over tasks: {exc}", stacklevel=2)
    rows = []
    for i in range(m):
        grads = torch.autograd.grad(
            losses[i], params, retain_graph=retain_graph or i < m - 1,
            allow_unused=True, materialize_grads=True,
        )
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def block_sizes(params: Sequence[Tensor]) -> list[int]:
    """Number of entries of each parameter tensor, the column blocks of a Jacobian."""
    return [p.numel() for p in params]


def accumulate_grad(params: Sequence[Tensor], flat: Tensor) -> None:
    """Add the flat vector ``flat`` ([n]) into ``p.grad`` of each parameter, in order.

    Gradients accumulate as with ``Tensor.backward``; the trainer zeroes them each step. A
    missing ``.grad`` becomes a view into ``flat`` (no copy), so pass a fresh tensor.
    """
    if flat.numel() != sum(p.numel() for p in params):
        raise ValueError(f"flat gradient of {flat.numel()} entries for parameters of another size")
    for p, g in zip(params, torch.split(flat, [p.numel() for p in params])):
        g = g.view_as(p).to(p.dtype)
        if p.grad is None:
            p.grad = g
        else:
            p.grad.add_(g)


def weighted_backward(losses: Tensor, weights: Tensor, params: Sequence[Tensor]) -> None:
    """Accumulate the gradient of ``sum_i weights[i] * losses[i]`` into ``params`` only.

    Autograd prunes the graph to the paths that reach ``params``, so for task-specific heads
    this does not traverse the shared trunk again.
    """
    params = list(params)
    if params:
        grad_tensors = weights.detach().to(losses.dtype)
        torch.autograd.backward(losses, grad_tensors=grad_tensors, inputs=params)


def block_norms(jac: Tensor, sizes: Sequence[int]) -> Tensor:
    """``[m, K]`` norms of each task's gradient restricted to each of the ``K`` parameter blocks."""
    return torch.stack([block.norm(dim=1) for block in torch.split(jac, list(sizes), dim=1)], dim=1)


def combine_blocks(per_block: Tensor, jac: Tensor, sizes: Sequence[int]) -> Tensor:
    """``[n]`` direction ``d_k = sum_i s_ik J_ik`` for ``[m, K]`` per-block factors ``s``."""
    blocks = torch.split(jac, list(sizes), dim=1)
    return torch.cat([per_block[:, k].to(block.dtype) @ block for k, block in enumerate(blocks)])


def expand_blocks(per_block: Tensor, sizes: Sequence[int]) -> Tensor:
    """Repeat ``[m, K]`` per-block factors over the block's columns: ``[m, n]``."""
    repeats = torch.as_tensor(list(sizes), device=per_block.device)
    return torch.repeat_interleave(per_block, repeats, dim=1)


def norm_ratio(scales: Tensor, norms: Tensor) -> Tensor:
    """``[m]`` factor by which per-block ``scales`` change each task's gradient norm.

    ``||(s_ik g_ik)_k|| / ||g_i||`` for ``[m, K]`` scales and block norms; 1 for a zero gradient.
    """
    before = norms.pow(2).sum(dim=1).sqrt()
    after = (scales * norms).pow(2).sum(dim=1).sqrt()
    return torch.where(before > 0, after / torch.where(before > 0, before, 1.0), 1.0)
