"""Property checks shared by the method tests (TorchJD-style, over seeded input families)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def assert_finite_weights(weights: Tensor, n_tasks: int) -> None:
    """A method returns a detached, finite ``[m]`` vector."""
    assert weights.shape == (n_tasks,), weights.shape
    assert not weights.requires_grad
    assert torch.isfinite(weights).all(), weights


def assert_common_descent(jac: Tensor, weights: Tensor, rtol: float = 1e-6) -> None:
    """``d = J^T w`` satisfies ``g_i . d >= |d|^2`` for every task (MGDA's KKT conditions).

    In particular ``g_i . d >= 0``: a small step along ``-d`` decreases no task's loss.
    """
    d = weights.to(jac) @ jac
    slack = jac @ d - d @ d
    scale = jac.norm(dim=1).max() ** 2
    assert (slack >= -rtol * scale).all(), slack


def assert_permutation_equivariant(weighting: Callable[[Tensor], Tensor], gramian: Tensor, perm: Tensor, atol: float = 1e-7) -> None:
    """Permuting the tasks permutes the weights: ``w(P G P^T) = P w(G)``."""
    expected = weighting(gramian)[perm]
    found = weighting(gramian[perm][:, perm])
    torch.testing.assert_close(found, expected, atol=atol, rtol=1e-6)


def grads_of(params: list[nn.Parameter]) -> list[Tensor]:
    """Clones of the ``.grad`` of each parameter (zeros where None)."""
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]
