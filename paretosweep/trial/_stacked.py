"""The members of one pack as stacked parameters in one flat tensor, and the problem's packed hooks.

Members' models are stacked with :func:`torch.func.stack_module_state` and laid out in one flat
tensor (:func:`flat_parameters`) whose views are the ``[P, ...]`` parameters, so one optimiser
steps them all with the same elementwise arithmetic as P separate optimisers. On CPU the
members run in consecutive groups (:func:`member_groups`) so each group's activations stay in cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from paretosweep.problems import Problem

#: On CPU a pack's step runs its members in groups of at most this many (see :func:`member_groups`).
CPU_GROUP = 16


class LossModule(nn.Module):
    """``forward(batch) = problem.task_losses(model, batch, device)``; parameters named ``model.*``."""

    def __init__(self, problem: Problem, model: nn.Module, device: torch.device) -> None:
        super().__init__()
        self.model = model
        self._problem = problem
        self._device = device

    def forward(self, batch: Any) -> torch.Tensor:
        return self._problem.task_losses(self.model, batch, self._device)


def flat_parameters(
    params: dict[str, torch.Tensor], groups: Sequence[slice]
) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor], list[dict[str, torch.Tensor]]]:
    """One flat tensor holding every stacked parameter; views of it and of its grad; per group of members, leaf views.

    Returns ``(flat, values, grads, group_leaves)``: ``values[k]`` / ``grads[k]`` are ``[P, ...]``
    views of ``flat`` / ``flat.grad`` (to read, and to zero a dead member's gradient);
    ``group_leaves[g][k]`` are the leaves a training step differentiates, group by group.

    ``flat`` is laid out parameter by parameter, members leading, so a group of consecutive
    members of one parameter is one contiguous slice. Each view's ``.grad`` is the matching view
    of ``flat.grad``, which autograd accumulates into in place: the optimiser steps one tensor
    (a few large elementwise ops per step, not a few per parameter tensor), with the same
    elementwise arithmetic, hence the same trajectory per member.
    """
    flat = torch.cat([t.detach().reshape(-1) for t in params.values()])
    flat.grad = torch.zeros_like(flat)
    views: list[dict[str, torch.Tensor]] = [{} for _ in groups]
    values: dict[str, torch.Tensor] = {}
    grads: dict[str, torch.Tensor] = {}
    offset = 0
    for name, tensor in params.items():
        per_member = tensor[0].numel()
        values[name] = flat[offset : offset + tensor.numel()].view(tensor.shape)
        grads[name] = flat.grad[offset : offset + tensor.numel()].view(tensor.shape)
        for group, sl in zip(views, groups, strict=True):
            lo, hi = offset + sl.start * per_member, offset + sl.stop * per_member
            view = flat[lo:hi].view(sl.stop - sl.start, *tensor.shape[1:]).requires_grad_()
            view.grad = flat.grad[lo:hi].view(view.shape)
            group[name] = view
        offset += tensor.numel()
    return flat, values, grads, views


def packed_hook(problem: Problem, hook: str, plain: str) -> Any:
    """``problem.<hook>`` if it has one that belongs to its ``<plain>`` method, else None.

    A subclass that overrides ``task_losses`` (or ``evaluate``) but inherits the packed variant
    would be trained (or evaluated) with its parent's formula: the hook is used only when it is
    defined on the class that defines ``<plain>`` or on a subclass of it.
    """
    method = getattr(problem, hook, None)
    if not callable(method):
        return None
    mro = type(problem).__mro__
    owner = next((c for c in mro if hook in vars(c)), None)
    plain_owner = next((c for c in mro if plain in vars(c)), None)
    if owner is None:  # set on the instance
        return method
    if plain_owner is not None and not issubclass(owner, plain_owner):
        return None
    return method


def member_groups(n: int, device: torch.device, cpu_group: int = CPU_GROUP) -> list[slice]:
    """Consecutive groups of at most ``cpu_group`` members on CPU (one group on a GPU).

    On CPU a group's activations should stay in cache: a problem with large activations per
    member sets a smaller ``packed_cpu_group`` (multimnist: 4, measured).
    """
    size = n if device.type == "cuda" else max(1, cpu_group)
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def load_member(model: nn.Module, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], i: int) -> nn.Module:
    """``model`` with member ``i``'s slice of the stacked ``params`` / ``buffers`` copied in (to evaluate it alone)."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.copy_(params[name][i])
        for name, buffer in model.named_buffers():
            if name in buffers:
                buffer.copy_(buffers[name][i])
    return model
