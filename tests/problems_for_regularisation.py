"""Small problems for the regularisation of comparison arms (dropout, early stopping) and for test
metrics at scheduler rungs; reachable by import path ``tests.problems_for_regularisation:make_...``.

All train one scalar ``x`` on ``L_a = (x - 1)^2`` and ``L_b = (x + 1)^2`` (as
``tests.problems_for_tests``), so where a trial goes follows from its weights alone.
"""

from __future__ import annotations

import torch
from torch import nn

from paretosweep.problems import column
from tests.problems_for_tests import Quadratic


class Overshoot(Quadratic):
    """Training drives ``x`` from ``init = -2`` towards 0 (equal weights); validation prefers ``x = -1``.

    Validation: ``((x)^2, (x + 2)^2)``, whose mean ``(x + 1)^2 + 1`` falls while ``x`` nears -1 and
    rises after it: early stopping on it must pick an epoch before the last. Test: the training
    losses ``((x - 1)^2, (x + 1)^2)``, so a test value tells which epoch's model was measured.
    """

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        x = float(model.get_parameter("x").detach())
        return {column("a", "loss"): x**2, column("b", "loss"): (x + 2) ** 2}

    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        x = float(model.get_parameter("x").detach())
        return {column("a", "loss"): (x - 1) ** 2, column("b", "loss"): (x + 1) ** 2}


def make_overshoot(*, steps_per_epoch: int = 5) -> Overshoot:
    """:class:`Overshoot` with ``x`` starting at -2."""
    return Overshoot(steps_per_epoch=steps_per_epoch, init=-2.0, fail_above=None, nan_below=None)


class Banded(Quadratic):
    """Validation losses raised by 1 in both tasks while ``-0.8 < x < -0.2``; a test split ``((x - 1/2)^2, (x + 1)^2)``.

    A linear-scalarization trial of weights ``(w, 1 - w)`` goes to ``x* = 2w - 1`` (it starts at 0):
    ``w = 0.5`` stays at ``x = 0``, validation ``(1, 1)``; ``w = 0.25`` reaches ``x ≈ -0.5``,
    validation about ``(3.25, 1.25)``, dominated by it, so at a rung that compares the two the
    second stops.
    """

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        x = float(model.get_parameter("x").detach())
        penalty = 1.0 if -0.8 < x < -0.2 else 0.0
        return {column("a", "loss"): (x - 1) ** 2 + penalty, column("b", "loss"): (x + 1) ** 2 + penalty}

    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        x = float(model.get_parameter("x").detach())
        return {column("a", "loss"): (x - 0.5) ** 2, column("b", "loss"): (x + 1) ** 2}


def make_banded(*, steps_per_epoch: int = 20) -> Banded:
    """:class:`Banded` with ``x`` starting at 0."""
    return Banded(steps_per_epoch=steps_per_epoch, init=0.0, fail_above=None, nan_below=None)
