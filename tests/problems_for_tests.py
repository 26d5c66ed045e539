"""A user problem reachable by import path ``tests.problems_for_tests:make_quadratic``.

Two tasks on one scalar ``x``: ``L_a = (x - 1)^2`` and ``L_b = (x + 1)^2``. Under linear
weights ``(w, 1 - w)`` the optimum is ``x* = 2w - 1``, so a test can steer a trial across
``fail_above`` (the trial raises) or ``nan_below`` (its losses become NaN) by its weights, and
check that failing and diverging trials are recorded while the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from paretosweep.problems import Metric, TaskSpec, column


class _Scalar(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.x = nn.Parameter(torch.tensor(float(value)))


class Quadratic:
    """Two quadratics with minima at +1 and -1; optional failure and NaN thresholds."""

    name = "quadratic"
    tasks = (TaskSpec("a", (Metric("loss", "min"),)), TaskSpec("b", (Metric("loss", "min"),)))

    def __init__(self, *, steps_per_epoch: int, init: float, fail_above: float | None, nan_below: float | None) -> None:
        self.default_reference_point = {column("a", "loss"): 4.0, column("b", "loss"): 4.0}
        self.steps_per_epoch = steps_per_epoch
        self.init = init
        self.fail_above = fail_above
        self.nan_below = nan_below

    def make_model(self, *, seed: int) -> nn.Module:
        """``x = init`` whatever the seed, so thresholds are crossed predictably."""
        return _Scalar(self.init)

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[None]:
        return iter([None] * self.steps_per_epoch)

    def task_losses(self, model: nn.Module, batch: None, device: torch.device) -> torch.Tensor:
        x = model.get_parameter("x")
        value = float(x.detach())
        if self.fail_above is not None and value > self.fail_above:
            raise RuntimeError(f"x crossed fail_above ({value:.3f} > {self.fail_above})")
        losses = torch.stack([(x - 1) ** 2, (x + 1) ** 2])
        if self.nan_below is not None and value < self.nan_below:
            return losses * torch.nan  # still attached to the graph
        return losses

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        x = float(model.get_parameter("x").detach())
        return {column("a", "loss"): (x - 1) ** 2, column("b", "loss"): (x + 1) ** 2}

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        return [model.get_parameter("x")]


def make_quadratic(
    *,
    steps_per_epoch: int = 20,
    init: float = 0.0,
    fail_above: float | None = None,
    nan_below: float | None = None,
) -> Quadratic:
    """Scalar x, L_a = (x-1)^2, L_b = (x+1)^2; raise above ``fail_above``, NaN below ``nan_below``.

    Args:
        steps_per_epoch: steps per epoch (no data).
        init: starting value of ``x`` (the seed is ignored).
        fail_above: ``task_losses`` raises ``RuntimeError("x crossed fail_above ...")`` once
            ``x > fail_above``.
        nan_below: ``task_losses`` returns NaN losses once ``x < nan_below``.
    """
    return Quadratic(steps_per_epoch=steps_per_epoch, init=init, fail_above=fail_above, nan_below=nan_below)


class _NoSharedQuadratic(Quadratic):
    """The same problem, but it does not say which parameters are shared."""

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        return []


def make_quadratic_without_shared() -> Quadratic:
    """The quadratic problem whose ``shared_parameters`` is empty (gradient methods refuse it)."""
    return _NoSharedQuadratic(steps_per_epoch=20, init=0.0, fail_above=None, nan_below=None)


def make_quadratic_without_reference() -> Quadratic:
    """The quadratic problem without a default reference point (the run must fix one itself)."""
    problem = make_quadratic()
    del problem.default_reference_point
    return problem


class QuadraticWithTestSplit(Quadratic):
    """The quadratic problem with a test split that deliberately disagrees with its validation split.

    ``evaluate`` (validation) is ``((x - 1)^2, (x + 1)^2)``, whose Pareto set is ``x in [-1, 1]``;
    ``evaluate_test`` is ``((x - 1/2)^2, (x + 1)^2)``, under which every ``x > 1/2`` is dominated
    by ``x = 1/2``. A linear-scalarization trial of weights ``(w, 1 - w)`` ends near
    ``x* = 2w - 1``: with trials at ``w = 0.9`` (x = 0.8) and ``w = 0.75`` (x = 1/2), the first lies
    on the validation frontier but off the test one, so a sweep that chose on test values would
    drop it.
    """

    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        x = float(model.get_parameter("x").detach())
        return {column("a", "loss"): (x - 0.5) ** 2, column("b", "loss"): (x + 1) ** 2}


def make_quadratic_with_test_split(*, steps_per_epoch: int = 20, nan_below: float | None = None) -> Quadratic:
    """:class:`QuadraticWithTestSplit` (x starts at 0); NaN losses below ``nan_below``."""
    return QuadraticWithTestSplit(steps_per_epoch=steps_per_epoch, init=0.0, fail_above=None, nan_below=nan_below)


class _WrongTestColumns(Quadratic):
    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        return {"a_loss": 0.0}  # b_loss missing


def make_quadratic_with_wrong_test_columns() -> Quadratic:
    """A quadratic problem whose ``evaluate_test`` forgets a column (the trial must fail, naming it)."""
    return _WrongTestColumns(steps_per_epoch=5, init=0.0, fail_above=None, nan_below=None)
