"""Which parameters a loss depends on: the leaves of its autograd graph."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


def graph_leaves(outputs: Iterable[Tensor]) -> list[Tensor]:
    """The leaf tensors that require grad (parameters) reachable from ``outputs``, in a stable order.

    A walk over the ``grad_fn`` graph: every ``AccumulateGrad`` node holds one leaf. O(nodes).
    """
    seen_nodes: set[int] = set()
    leaves: dict[int, Tensor] = {}
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    for t in outputs:
        if t.grad_fn is None and t.requires_grad:
            leaves[id(t)] = t
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            leaves.setdefault(id(variable), variable)
        stack.extend(next_node for next_node, _ in node.next_functions if next_node is not None)
    return list(leaves.values())
