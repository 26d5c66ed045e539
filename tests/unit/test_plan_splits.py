"""The plan says which split chooses, and adds one ``test_*`` column per metric when the problem has a test split."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretosweep.config import parse_spec
from paretosweep.errors import RunDirectoryError
from paretosweep.planning import ONE_SPLIT_NOTE, build_plan
from paretosweep.results import RunStore
from paretosweep.sweep._driver import open_store


def _plan(problem: str, params: dict | None = None, tmp: Path | None = None):
    spec = {"name": "s", "problem": {"name": problem, "params": params or {}}, "budget": {"n_weights": 3, "epochs": 1}}
    if tmp is not None:
        spec["storage"] = str(tmp)
    return build_plan(parse_spec(spec))


def test_a_data_problem_gets_test_columns_after_its_validation_columns() -> None:
    plan = _plan("multimnist", {"n_train": 64, "n_val": 32, "n_test": 32})
    validation = ("left_acc", "left_loss", "right_acc", "right_loss")
    assert plan.metric_columns == (*validation, *(f"test_{c}" for c in validation))
    assert (plan.splits.selection, plan.splits.report) == ("validation", "test")
    assert plan.splits.test_columns == {c: f"test_{c}" for c in validation}
    assert [o.column for o in plan.objectives] == ["left_acc", "right_acc"]  # the objectives stay on validation


def test_analytic_problems_declare_one_split_and_say_why() -> None:
    plan = _plan("three_wells")
    assert plan.metric_columns == ("f1_loss", "f2_loss", "f3_loss")
    assert (plan.splits.selection, plan.splits.report, plan.splits.test_columns) == ("function", None, {})
    assert "the objective is the function itself" in plan.splits.note


def test_a_user_problem_with_one_split_still_plans_and_is_told_so() -> None:
    plan = _plan("tests.problems_for_tests:make_quadratic")
    assert plan.metric_columns == ("a_loss", "b_loss")
    assert (plan.splits.selection, plan.splits.report, plan.splits.note) == ("validation", None, ONE_SPLIT_NOTE)
    with_test = _plan("tests.problems_for_tests:make_quadratic_with_test_split")
    assert with_test.metric_columns == ("a_loss", "b_loss", "test_a_loss", "test_b_loss")


def test_resuming_a_run_without_the_test_columns_is_refused_with_the_fix(tmp_path: Path) -> None:
    plan = _plan("synthetic", {"n_samples": 200}, tmp_path / "run")
    RunStore(tmp_path / "run").create(
        objectives=plan.objectives, tasks=plan.task_names, metric_columns=("t0_loss", "t1_loss")
    )  # as written before test splits
    with pytest.raises(RunDirectoryError, match=r"no columns \['test_t0_loss', 'test_t1_loss'\].*--overwrite"):
        open_store(plan, str(tmp_path / "run"), resume=True)
    assert open_store(plan, str(tmp_path / "fresh"), resume=False).splits == plan.splits
