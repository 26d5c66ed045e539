"""Seeded inputs for the method tests: the worked 2x3 Jacobian, Jacobian families, tiny models."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from paretosweep import methods

#: The worked example: g_1 = (1, 0, 1), g_2 = (-1, 2, 0); they conflict (g_1 . g_2 = -1).
WORKED_J = torch.tensor([[1.0, 0.0, 1.0], [-1.0, 2.0, 0.0]], dtype=torch.float64)
WORKED_G = WORKED_J @ WORKED_J.T  # [[2, -1], [-1, 5]]

#: Options that some methods require.
REQUIRED_OPTIONS: dict[str, dict[str, int]] = {"gradsim": {"main_task": 0}, "metabalance": {"main_task": 0}}

STATEFUL = ("dwa", "famo", "gradnorm", "metabalance", "mtadam", "nashmtl", "stch", "uncertainty")


def build(name: str, n_tasks: int, **options: object) -> methods.Method:
    """The registered method ``name`` with its required options filled in."""
    return methods.create(name, n_tasks=n_tasks, **{**REQUIRED_OPTIONS.get(name, {}), **options})


def random_jacobians(seed: int = 0) -> list[Tensor]:
    """Float64 Jacobians: several (m, n), conflicting and not, and extreme scales."""
    gen = torch.Generator().manual_seed(seed)
    shapes = [(2, 3), (2, 20), (3, 3), (3, 50), (5, 8), (5, 40), (10, 100)]
    jacs = [torch.randn(m, n, generator=gen, dtype=torch.float64) for m, n in shapes]
    jacs += [torch.randn(3, 30, generator=gen, dtype=torch.float64) * s for s in (1e-10, 1e10)]
    return jacs


class LinearProblem(nn.Module):
    """Losses with a known Jacobian: ``L_i = J_i . theta + head_i^2`` (grads are exact)."""

    def __init__(self, jac: Tensor) -> None:
        super().__init__()
        self.jac = jac
        self.theta = nn.Parameter(torch.zeros(jac.shape[1], dtype=jac.dtype))
        self.heads = nn.Parameter(torch.ones(jac.shape[0], dtype=jac.dtype))

    def losses(self) -> Tensor:
        return self.jac @ self.theta + self.heads**2


class SharedBottom(nn.Module):
    """A shared-bottom MLP: trunk of two layers, one linear head per task."""

    def __init__(self, n_tasks: int, d_in: int = 6, hidden: int = 12) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.Tanh())
        self.heads = nn.ModuleList(nn.Linear(hidden, 1) for _ in range(n_tasks))

    def losses(self, x: Tensor, y: Tensor) -> Tensor:
        z = self.trunk(x)
        return torch.stack([((h(z).squeeze(-1) - y[:, i]) ** 2).mean() for i, h in enumerate(self.heads)])

    def shared(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters())

    def task_specific(self) -> list[nn.Parameter]:
        return list(self.heads.parameters())


def regression_data(n_tasks: int, n: int = 32, d_in: int = 6, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A seeded random regression batch ``(x [n, d_in], y [n, n_tasks])``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d_in, generator=gen), torch.randn(n, n_tasks, generator=gen)
