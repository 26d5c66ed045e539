"""Fonseca-Fleming: the classic two-objective test problem with a concave Pareto front.

C. M. Fonseca and P. J. Fleming, "An Overview of Evolutionary Algorithms in Multiobjective
Optimization", Evolutionary Computation 3(1), 1995. https://doi.org/10.1162/evco.1995.3.1.1

.. math::

    f_1(x) = 1 - \\exp\\Big(-\\sum_{i=1}^n (x_i - 1/\\sqrt{n})^2\\Big), \\qquad
    f_2(x) = 1 - \\exp\\Big(-\\sum_{i=1}^n (x_i + 1/\\sqrt{n})^2\\Big)

The Pareto set is the segment ``x_1 = ... = x_n = t``, ``t in [-1/sqrt n, 1/sqrt n]``; its image,
``(1 - exp(-(s - 1)^2), 1 - exp(-(s + 1)^2))`` with ``s = t sqrt(n) in [-1, 1]``, is the same
curve for every ``n``, from ``(0, 0.9817)`` to ``(0.9817, 0)`` through ``(0.632, 0.632)``.

**Shape (measured on the exact curve, see the tests): concave** between its inflection points at
``f1 = 0.0822`` and ``f2 = 0.0822``; the two short end stretches are convex (``f2 ~ 0.98 - c
sqrt(f1)`` near ``f1 = 0``). Linear scalarization therefore reaches only points with
``min(f1, f2) <= 0.0018``, the immediate neighbourhood of the two end points, while (smooth)
Tchebycheff scalarization reaches the whole front.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from paretosweep.problems._common import DecisionVector, check_float, check_int, decision_vector
from paretosweep.problems._protocol import ExactFront, Metric, TaskSpec, column
from paretosweep.problems._registry import register_problem

_LOSS = (Metric("loss", "min"),)


class FonsecaFleming:
    """Fonseca-Fleming as a Problem: the model is the decision vector ``x`` (``[n_dim]``)."""

    name = "fonseca"

    def __init__(self, *, n_dim: int, steps_per_epoch: int, init_range: float) -> None:
        self.n_dim = n_dim
        self.steps_per_epoch = steps_per_epoch
        self.init_range = init_range
        self.tasks = (TaskSpec("f1", _LOSS, 0.0), TaskSpec("f2", _LOSS, 0.0))
        self.default_reference_point = {column("f1", "loss"): 1.0, column("f2", "loss"): 1.0}

    def objectives(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., n] -> [..., 2]``: ``(f1, f2)`` at ``x``."""
        shift = 1.0 / math.sqrt(self.n_dim)
        f1 = 1.0 - torch.exp(-((x - shift) ** 2).sum(dim=-1))
        f2 = 1.0 - torch.exp(-((x + shift) ** 2).sum(dim=-1))
        return torch.stack([f1, f2], dim=-1)

    def make_model(self, *, seed: int) -> nn.Module:
        """``x ~ U[-init_range, init_range]^n_dim``, drawn from ``seed``."""
        generator = torch.Generator().manual_seed(seed)
        initial = (torch.rand(self.n_dim, generator=generator, dtype=torch.float64) * 2 - 1) * self.init_range
        return DecisionVector(initial)

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[None]:
        """No data: ``steps_per_epoch`` empty batches."""
        return iter([None] * self.steps_per_epoch)

    def task_losses(self, model: nn.Module, batch: None, device: torch.device) -> torch.Tensor:
        """``[2]``: ``(f1(x), f2(x))``, differentiable in ``x``."""
        return self.objectives(decision_vector(model))

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """``{"f1_loss", "f2_loss"}`` at the current ``x`` (there is no held-out data)."""
        with torch.no_grad():
            values = self.objectives(decision_vector(model)).double().cpu().tolist()
        return {column("f1", "loss"): values[0], column("f2", "loss"): values[1]}

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        """Every parameter is shared: ``[x]``."""
        return [decision_vector(model)]

    def exact_front(self, n_points: int = 1000) -> ExactFront:
        """The exact front at ``n_points`` evenly spaced ``t`` of the Pareto set, ``f1`` ascending."""
        t = np.linspace(1.0, -1.0, n_points) / math.sqrt(self.n_dim)
        x = torch.as_tensor(np.repeat(t[:, None], self.n_dim, axis=1), dtype=torch.float64)
        points = self.objectives(x).numpy()
        return ExactFront(
            columns=(column("f1", "loss"), column("f2", "loss")),
            directions=("min", "min"),
            points=points,
            reference_point=(1.0, 1.0),
            notes="Concave between f1 = 0.082 and f2 = 0.082; linear scalarization reaches only "
            "points with min(f1, f2) <= 0.0018 (next to the two end points).",
        )


@register_problem("fonseca")
def make_fonseca(*, n_dim: int = 3, steps_per_epoch: int = 50, init_range: float = 1.0) -> FonsecaFleming:
    """Fonseca-Fleming (1995): two Gaussian wells, concave front; no data, the model is x in R^n.

    Args:
        n_dim: number of decision variables ``n`` (>= 1).
        steps_per_epoch: optimisation steps per "epoch" (there is no data to iterate).
        init_range: ``x`` starts uniform in ``[-init_range, init_range]^n`` (from the trial seed).
            Far from the origin both objectives are flat (``1 - exp(-d^2)``), so keep it small.

    Returns:
        The problem; tasks ``f1``, ``f2`` with metric ``loss`` (min), reference point (1, 1).
    """
    return FonsecaFleming(
        n_dim=check_int("n_dim", n_dim, low=1),
        steps_per_epoch=check_int("steps_per_epoch", steps_per_epoch, low=1),
        init_range=check_float("init_range", init_range, low=0.0, high=1e3, low_open=True),
    )
