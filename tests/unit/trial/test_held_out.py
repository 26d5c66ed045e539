"""The test split of a trial: evaluated once after training, stored as ``test_*``, never in the history."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from paretosweep.config import SweepSpec
from paretosweep.errors import ParetoSweepError
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.trial import train_trial
from tests.problems_for_tests import make_quadratic, make_quadratic_with_test_split, make_quadratic_with_wrong_test_columns

CPU = torch.device("cpu")


def _spec(problem: str, params: dict[str, Any] | None = None, epochs: int = 2) -> SweepSpec:
    """The budget and scalarizer the trials run with (the problem object is passed to them directly)."""
    return SweepSpec.model_validate(
        {
            "problem": {"name": problem, "params": params or {}},
            "scalarizer": {"name": "linear"},
            "budget": {"epochs": epochs, "steps_per_epoch": 6},
        }
    )


def _trial(weights: tuple[float, ...], trial_id: str = "s-1") -> TrialConfig:
    return TrialConfig(trial_id, "scalarization", weights, 0, 0.05)


def test_a_data_problem_trial_stores_its_test_metrics_apart_from_the_validation_history() -> None:
    problem = make_problem("synthetic", {"n_samples": 400})
    outcome = train_trial(problem, _trial((0.5, 0.5)), _spec("synthetic", {"n_samples": 400}), device=CPU)
    assert outcome.status == "completed"
    assert set(outcome.test_metrics) == {f"test_{c}" for c in outcome.metrics} == {"test_t0_loss", "test_t1_loss"}
    assert all(outcome.test_metrics[f"test_{c}"] != v for c, v in outcome.metrics.items())  # another split
    assert all(not k.startswith("test_") for epoch in outcome.history for k in epoch)  # never reported per epoch


def test_test_metrics_are_those_of_the_final_model() -> None:
    """Quadratic: validation (a, b) = ((x-1)^2, (x+1)^2) gives x = (b - a) / 4; test a is (x - 1/2)^2 of that x."""
    outcome = train_trial(make_quadratic_with_test_split(), _trial((0.9, 0.1)), _spec("fonseca"), device=CPU)
    x = (outcome.metrics["b_loss"] - outcome.metrics["a_loss"]) / 4
    assert outcome.test_metrics == pytest.approx({"test_a_loss": (x - 0.5) ** 2, "test_b_loss": (x + 1) ** 2}, rel=1e-9)


def test_a_one_split_problem_has_no_test_metrics() -> None:
    outcome = train_trial(make_quadratic(), _trial((0.5, 0.5)), _spec("fonseca"), device=CPU)
    assert outcome.status == "completed" and outcome.test_metrics == {}


def test_a_diverged_trial_is_not_evaluated_on_the_test_split() -> None:
    problem = make_quadratic_with_test_split(nan_below=-0.2)  # weights (0.1, 0.9) pull x to -0.8
    calls: list[float] = []
    original = problem.evaluate_test
    problem.evaluate_test = lambda model, device: calls.append(1.0) or original(model, device)  # type: ignore[method-assign]
    outcome = train_trial(problem, _trial((0.1, 0.9)), _spec("fonseca", epochs=4), device=CPU)
    assert outcome.status == "diverged" and outcome.test_metrics == {} and calls == []


def test_evaluate_test_with_other_columns_fails_the_trial_naming_the_fix() -> None:
    with pytest.raises(ParetoSweepError, match=r"`evaluate_test` of problem `quadratic` should return the columns .*b_loss"):
        train_trial(make_quadratic_with_wrong_test_columns(), _trial((0.5, 0.5)), _spec("fonseca"), device=CPU)
