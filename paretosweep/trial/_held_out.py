"""The test split of a trained trial: reported beside the validation metrics, never used to choose.

A problem with a test split (``evaluate_test``, see :class:`paretosweep.problems.ProblemWithTestSplit`)
is evaluated on it once, after the last epoch of a completed trial (packed members too). Its
columns are the validation ones, ``<task>_<metric>``, stored as ``test_<task>_<metric>``
(:func:`paretosweep.results.as_test_column`). The per-epoch ``report`` and ``history`` hold only
validation metrics, so nothing that steers a sweep (schedulers, adaptive samplers) ever sees a
test value.

A non-finite test value is stored as it is (NaN): it reports, it does not make the trial diverge.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from paretosweep.errors import ParetoSweepError
from paretosweep.problems import Problem, column, has_test_split
from paretosweep.results import as_test_column


def as_test_metrics(raw: Mapping[str, float], problem: Problem) -> dict[str, float]:
    """``{test_<column>: value}`` from what ``evaluate_test`` returned, in the problem's column order.

    Raises:
        ParetoSweepError: ``raw`` does not hold exactly the declared ``<task>_<metric>`` columns.
    """
    declared = [column(t.name, m.name) for t in problem.tasks for m in t.metrics]
    if set(raw) != set(declared):
        name = getattr(problem, "name", type(problem).__name__)
        raise ParetoSweepError(
            f"`evaluate_test` of problem `{name}` should return the columns `evaluate` returns, {declared}. "
            f"Found {sorted(raw)}: return one float per declared task metric, on the test split."
        )
    return {as_test_column(c): float(raw[c]) for c in declared}


def final_test_metrics(problem: Problem, model: nn.Module, device: torch.device) -> dict[str, float]:
    """The trained ``model``'s ``test_<column>`` values; ``{}`` for a problem without a test split."""
    if not has_test_split(problem):
        return {}
    return as_test_metrics(problem.evaluate_test(model, device), problem)  # type: ignore[attr-defined]
