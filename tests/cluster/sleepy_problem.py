"""``tests.cluster.sleepy_problem:make_sleepy_quadratic``: the test quadratic, with epochs of a fixed wall time.

Each epoch also waits ``epoch_seconds``, so a trial lasts about ``epochs * epoch_seconds`` however
busy the CPUs are: the cluster tests need trials long enough to be caught mid-flight, and a sleep
costs no CPU on a shared 2-core machine. The module is not installed on the test cluster's nodes:
``paretosweep submit`` ships the ``tests`` package with the job (``py_modules``).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from tests.problems_for_tests import Quadratic


class SleepyQuadratic(Quadratic):
    """:class:`Quadratic` whose held-out evaluation (once per epoch) waits ``epoch_seconds`` first."""

    def __init__(self, *, epoch_seconds: float, **quadratic: object) -> None:
        super().__init__(**quadratic)  # type: ignore[arg-type]
        self.epoch_seconds = epoch_seconds

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        time.sleep(self.epoch_seconds)
        return super().evaluate(model, device)


def make_sleepy_quadratic(
    *,
    epoch_seconds: float = 0.5,
    steps_per_epoch: int = 20,
    fail_above: float | None = None,
) -> SleepyQuadratic:
    """The quadratic of ``tests.problems_for_tests``, each epoch lasting at least ``epoch_seconds``."""
    return SleepyQuadratic(epoch_seconds=epoch_seconds, steps_per_epoch=steps_per_epoch, init=0.0, fail_above=fail_above, nan_below=None)
