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

import numpy as np
import torch

from paretosweep.problems._analytic import AnalyticProblem
from paretosweep.problems._common import check_float, check_int
from paretosweep.problems._protocol import ExactFront, Metric, TaskSpec, column
from paretosweep.problems._registry import register_problem

_LOSS = (Metric("loss", "min"),)


class FonsecaFleming(AnalyticProblem):
    """Fonseca-Fleming as a Problem: the model is the decision vector ``x`` (``[n_dim]``)."""

    name = "fonseca"

    def __init__(self, *, n_dim: int, steps_per_epoch: int, init_range: float) -> None:
        self.n_dim = n_dim
        self.steps_per_epoch = steps_per_epoch
        self.init_range = init_range
        self.tasks = (TaskSpec("f1", _LOSS, 0.0), TaskSpec("f2", _LOSS, 0.0))
        self.default_reference_point = {column("f1", "loss"): 1.0, column("f2", "loss"): 1.0}

    def initial_x(self, seed: int) -> torch.Tensor:
        """``x ~ U[-init_range, init_range]^n_dim``, drawn from ``seed``."""
        return self.uniform_start(seed, self.n_dim, self.init_range)

    def objectives(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., n] -> [..., 2]``: ``(f1, f2)`` at ``x``."""
        shift = 1.0 / math.sqrt(self.n_dim)
        f1 = 1.0 - torch.exp(-((x - shift) ** 2).sum(dim=-1))
        f2 = 1.0 - torch.exp(-((x + shift) ** 2).sum(dim=-1))
        return torch.stack([f1, f2], dim=-1)

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
