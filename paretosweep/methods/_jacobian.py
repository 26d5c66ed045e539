"""Autograd plumbing shared by the methods: per-task gradients and writing `.grad`.

`task_gradients` computes the per-task gradients of a list of parameters over a shared
forward pass, `task_jacobian` the same flattened into an ``[m, n]`` matrix. Two ways, same
numbers: one batched backward (``is_grads_batched=True``: ``torch.vmap`` over the rows of the
identity), or ``m`` ordinary passes over the retained graph. On CPU the loop measured faster
(``benchmarks/method_step.py``: vmap's batching overhead outweighs the saved per-op dispatch
there), so ``batched=None`` picks the loop on CPU and the batched pass on accelerators, where
it amortises kernel launches. The batched pass falls back to the loop when an operation has no
vmap batching rule.

The loop starts task ``i``'s pass at that task's own loss when ``losses`` is a
``torch.stack`` of the task losses (the usual case): autograd's ``GradientEdge`` of the
stack's ``i``-th input. Differentiating ``losses[i]`` instead enters the stack, which hands
*zero* gradients to every other task's branch, and autograd then runs every other task's
head backward on zeros in every pass (measured: about 10 % of a step at 3 tasks on the
``method_step`` model). Starting at the task's own loss skips those branches: parameters a
task does not reach get no gradient (None) and cost nothing. Other losses (not a stack, or a
stacked leaf) take the ``losses[i]`` path; the numbers are the same either way.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.autograd.graph import GradientEdge

from ._linalg import as_float64, like_input

_BATCHING_FAILED: set[str] = set()  # error messages already warned about

#: Per-task gradients: ``rows[i][k]`` is task ``i``'s gradient of parameter ``k`` (None: unreached).
TaskGrads = list[tuple[Tensor | None, ...]]


def task_roots(losses: Tensor) -> list[Tensor | GradientEdge | None]:
    """Where each task's backward pass starts: its own loss node when ``losses`` is a stack.

    Returns, per task, the `GradientEdge` of the stack's input (the task's own loss), None for
    a task loss that does not require grad (its gradient is zero), or ``losses[i]`` when
    ``losses`` is not a ``torch.stack`` of non-leaf tensors.
    """
    m = losses.shape[0]
    fn = losses.grad_fn
    if fn is not None and fn.name() == "StackBackward0" and len(fn.next_functions) == m:
        edges = fn.next_functions
        if not any(node is not None and node.name() == "torch::autograd::AccumulateGrad" for node, _ in edges):
            return [None if node is None else GradientEdge(node, nr) for node, nr in edges]
    return [losses[i] for i in range(m)]


def task_gradients(
    losses: Tensor,
    params: Sequence[Tensor],
    *,
    retain_graph: bool = False,
    batched: bool | None = None,
) -> TaskGrads:
    """Per-task gradients of ``params``, one tuple per task (None where a task does not reach).

    Args:
        losses: ``[m]`` task losses of one batch, differentiable w.r.t. ``params``.
        params: the parameters to differentiate.
        retain_graph: keep the graph for a later backward.
        batched: vmap-batched backward (True), a loop over tasks (False), or by device (None).

    Returns:
        ``m`` tuples of ``len(params)`` gradients (or None), in task and parameter order.
    """
    m = losses.shape[0]
    params = list(params)
    if batched is None:
        batched = losses.device.type != "cpu"
    if batched:
        try:
            eye = torch.eye(m, dtype=losses.dtype, device=losses.device)
            grads = torch.autograd.grad(
                losses,
                params,
                grad_outputs=eye,
                retain_graph=True,
                is_grads_batched=True,
                allow_unused=True,
            )
            return [tuple(None if g is None else g[i] for g in grads) for i in range(m)]
        except RuntimeError as exc:  # an op without a vmap batching rule
            if str(exc) not in _BATCHING_FAILED:
                _BATCHING_FAILED.add(str(exc))
                warnings.warn(f"batched Jacobian failed, looping over tasks: {exc}", stacklevel=2)
    roots = task_roots(losses)
    live = [i for i, root in enumerate(roots) if root is not None]
    one = torch.ones((), dtype=losses.dtype, device=losses.device)
    rows: TaskGrads = []
    for i, root in enumerate(roots):
        if root is None:
            rows.append((None,) * len(params))
            continue
        rows.append(
            torch.autograd.grad(
                root,
                params,
                grad_outputs=one if isinstance(root, GradientEdge) else None,
                retain_graph=retain_graph or i != live[-1],
                allow_unused=True,
            )
        )
    return rows


def common_dtype(params: Sequence[Tensor]) -> torch.dtype:
    """The dtype a flat vector of all ``params`` has (type promotion, as ``torch.cat``)."""
    return functools.reduce(torch.promote_types, (p.dtype for p in params))


def flatten_rows(rows: TaskGrads, params: Sequence[Tensor]) -> Tensor:
    """The ``[m, n]`` matrix of per-task gradients (zeros where None), ``n = sum(numel)``."""
    params = list(params)
    if not params:
        raise ValueError("no parameters to flatten the per-task gradients of")
    sizes = [p.numel() for p in params]
    out = torch.empty((len(rows), sum(sizes)), dtype=common_dtype(params), device=params[0].device)
    missing = [size for row in rows for g, size in zip(row, sizes) if g is None]
    zeros = out.new_zeros(max(missing, default=0))  # one buffer, sliced per gap
    for i, row in enumerate(rows):
        blocks = [g.reshape(-1) if g is not None else zeros[:size] for g, size in zip(row, sizes)]
        torch.cat(blocks, out=out[i])
    return out


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
    rows = task_gradients(losses, params, retain_graph=retain_graph, batched=batched)
    return flatten_rows(rows, params)


def accumulate_weighted(params: Sequence[Tensor], rows: TaskGrads, weights: Tensor) -> None:
    r"""Add :math:`\sum_i w_i g_{ik}` into ``p_k.grad`` from per-task gradients ``rows``.

    This is the gradient of :math:`\sum_i w_i L_i` w.r.t. ``params`` (task ``i``'s row holds
    :math:`\partial L_i / \partial p_k`), without another backward pass. A parameter no task
    reaches keeps its ``.grad``, as with ``Tensor.backward``.
    """
    w = weights.detach().tolist()
    for k, p in enumerate(params):
        for i, row in enumerate(rows):
            g = row[k]
            if g is None:
                continue
            if p.grad is None:
                p.grad = (g * w[i]).to(p.dtype)
            else:
                p.grad.add_(g.to(p.dtype), alpha=w[i])


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
        g = g.view(p.shape) if g.dtype == p.dtype else g.view(p.shape).to(p.dtype)
        if p.grad is None:
            p.grad = g
        else:
            p.grad.add_(g)


def accumulate_grads(params: Sequence[Tensor], grads: Sequence[Tensor | None]) -> None:
    """Add each gradient of ``grads`` into ``p.grad`` of the parameter at its position.

    A missing ``.grad`` becomes the gradient itself (no copy: pass fresh tensors, as
    ``torch.autograd.grad`` returns); None (a parameter the loss does not reach) is skipped.
    """
    for p, g in zip(params, grads, strict=True):
        if g is None:
            continue
        if p.grad is None:
            p.grad = g if g.dtype == p.dtype else g.to(p.dtype)
        else:
            p.grad.add_(g.to(p.dtype))


def clip_total_norm_(grads: Sequence[Tensor | None], max_norm: float) -> float:
    """Scale ``grads`` in place so that their joint L2 norm is at most ``max_norm``; return the norm before.

    The rule of ``torch.nn.utils.clip_grad_norm_`` applied to gradient tensors instead of ``.grad``
    fields (one ``torch._foreach_norm`` and one ``torch._foreach_mul_``); ``max_norm = 0`` leaves
    them as they are.
    """
    live = [g for g in grads if g is not None]
    if not live:
        return 0.0
    norm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(live))))
    if 0.0 < max_norm < norm:
        torch._foreach_mul_(live, max_norm / norm)
    return norm


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


def live_entries(rows: TaskGrads) -> list[tuple[int, int]]:
    """``(task, parameter)`` index pairs of the gradients that are not None, in row order."""
    return [(i, k) for i, row in enumerate(rows) for k, g in enumerate(row) if g is not None]


def row_norms(rows: TaskGrads, n_params: int) -> np.ndarray:
    """``[m, K]`` float64 norms of each task's gradient of each of ``K`` parameters (0: None).

    One ``torch._foreach_norm`` call over all the gradients (the op behind
    ``clip_grad_norm_``) instead of one norm per block, and one transfer to NumPy.
    """
    out = np.zeros((len(rows), n_params))
    live = live_entries(rows)
    if live:
        norms = torch._foreach_norm([g for i, k in live if (g := rows[i][k]) is not None])
        out[tuple(np.array(live).T)] = torch.stack(norms).tolist()  # stack promotes dtypes
    return out


def norm_ratio(scales: Tensor | np.ndarray, norms: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """``[m]`` factor by which per-block ``scales`` change each task's gradient norm.

    ``||(s_ik g_ik)_k|| / ||g_i||`` for ``[m, K]`` scales and block norms; 1 for a zero gradient.
    Computed in float64 NumPy; returns a tensor like ``norms`` when given tensors.
    """
    s, n = as_float64(scales), as_float64(norms)
    before = np.sqrt((n**2).sum(axis=1))
    after = np.sqrt(((s * n) ** 2).sum(axis=1))
    return like_input(np.where(before > 0, after / np.where(before > 0, before, 1.0), 1.0), norms)
