"""The problem registry: names, import paths, param binding, protocol check, cache."""

from __future__ import annotations

import math

import pytest
import torch

from paretosweep.errors import ConfigError, UnknownNameError
from paretosweep.problems import (
    Problem,
    _registry,
    available_problems,
    canonical_params_json,
    make_problem,
    make_problem_cached,
    problem_factory,
    register_problem,
)

BUILT_INS = {"fonseca", "cagrad_toy", "three_wells", "synthetic", "multimnist", "recsys"}
QUADRATIC = "tests.problems_for_tests:make_quadratic"


def test_available_problems_lists_the_built_ins_with_one_line_descriptions() -> None:
    listed = available_problems()
    assert set(listed) >= BUILT_INS
    for name in BUILT_INS:
        assert listed[name] and "\n" not in listed[name]


def test_unknown_name_suggests_the_closest_and_lists_all() -> None:
    with pytest.raises(UnknownNameError) as info:
        make_problem("fonseka", {})
    message = str(info.value)
    assert "Unknown problem `fonseka`" in message and "Did you mean `fonseca`?" in message
    assert all(name in message for name in BUILT_INS)
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests.no_such_module:make", "could not be imported"),
        ("tests.problems_for_tests:make_quadratik", "Did you mean `make_quadratic`?"),
        ("tests.problems_for_tests:", "mypkg.tasks:make_problem"),
        ("tests.problems_for_tests:__doc__", "not a callable"),
    ],
)
def test_bad_import_paths_name_the_field_and_the_fix(path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_problem(path, {})
    assert "`problem.name`" in str(info.value) and expected in str(info.value)


def test_unknown_param_names_the_field_and_lists_accepted_keywords() -> None:
    with pytest.raises(ConfigError) as info:
        make_problem("fonseca", {"n_dims": 3})
    message = str(info.value)
    assert "`problem.params.n_dims`" in message and "Did you mean `n_dim`?" in message
    assert "Accepted: n_dim, steps_per_epoch, init_range" in message


@pytest.mark.parametrize(("value", "hint"), [("3", "an integer"), (True, "an integer"), (2.5, "an integer")])
def test_param_of_the_wrong_type_is_refused(value: object, hint: str) -> None:
    with pytest.raises(ConfigError, match=rf"`problem.params.n_dim` of problem `fonseca` should be {hint}"):
        make_problem("fonseca", {"n_dim": value})


def test_optional_and_literal_hints_are_checked() -> None:
    make_problem(QUADRATIC, {"fail_above": None, "nan_below": -1})  # int for float | None is fine
    with pytest.raises(ConfigError, match=r"`problem\.params\.fail_above`.*a number or null"):
        make_problem(QUADRATIC, {"fail_above": "high"})
    with pytest.raises(ConfigError, match=r"`problem\.params\.init`.*one of 'uniform', 'paper'"):
        make_problem("cagrad_toy", {"init": "random"})


def test_out_of_range_value_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"`problem.params.n_tasks` should be an integer in \[2, 16\]"):
        make_problem("synthetic", {"n_tasks": 17})


def test_missing_required_param_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def needs_size(*, size: int) -> Problem:
        """Needs a size."""
        raise AssertionError("not reached")

    monkeypatch.setitem(_registry._REGISTRY, "needs_size", needs_size)
    with pytest.raises(ConfigError, match=r"`problem\.params\.size` is required"):
        make_problem("needs_size", {})


def test_factory_returning_a_non_problem_names_the_missing_members(monkeypatch: pytest.MonkeyPatch) -> None:
    class HalfProblem:
        name = "half"
        tasks = ()

        def make_model(self, *, seed: int) -> torch.nn.Module:
            return torch.nn.Linear(1, 1)

    monkeypatch.setitem(_registry._REGISTRY, "half", lambda: HalfProblem())
    with pytest.raises(ConfigError) as info:
        make_problem("half", {})
    message = str(info.value)
    assert "does not follow the Problem protocol" in message
    assert "`train_batches`, `task_losses`, `evaluate`, `shared_parameters`" in message
    assert "`make_model`" not in message.split("missing")[1].split(")")[0]


def test_factory_with_bad_tasks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    quadratic = make_problem(QUADRATIC, {})
    broken = type("Broken", (), {k: getattr(quadratic, k) for k in _registry._MEMBERS})
    broken.tasks = quadratic.tasks[:1]
    monkeypatch.setitem(_registry._REGISTRY, "one_task", lambda: broken)
    with pytest.raises(ConfigError, match="at least two TaskSpec"):
        make_problem("one_task", {})


def test_register_problem_validates_names_and_warns_on_overwrite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    with pytest.raises(ValueError, match="lowercase"):
        register_problem("My-Problem")
    with pytest.warns(UserWarning, match="already registered"):
        register_problem("fonseca")(lambda: None)


def test_user_problem_by_import_path() -> None:
    assert problem_factory(QUADRATIC).__name__ == "make_quadratic"
    problem = make_problem(QUADRATIC, {"steps_per_epoch": 3})
    assert isinstance(problem, Problem)
    assert [t.name for t in problem.tasks] == ["a", "b"]
    assert len(list(problem.train_batches(epoch=0, generator=torch.Generator()))) == 3


def test_quadratic_fails_above_and_goes_nan_below() -> None:
    cpu = torch.device("cpu")
    failing = make_problem(QUADRATIC, {"init": 0.9, "fail_above": 0.8})
    with pytest.raises(RuntimeError, match="x crossed fail_above"):
        failing.task_losses(failing.make_model(seed=0), None, cpu)
    nan = make_problem(QUADRATIC, {"init": -0.9, "nan_below": -0.8})
    losses = nan.task_losses(nan.make_model(seed=0), None, cpu)
    assert losses.shape == (2,) and torch.isnan(losses).all() and losses.requires_grad
    fine = make_problem(QUADRATIC, {"fail_above": 0.8, "nan_below": -0.8})
    model = fine.make_model(seed=0)
    assert fine.task_losses(model, None, cpu).tolist() == [1.0, 1.0]
    assert fine.evaluate(model, cpu) == {"a_loss": 1.0, "b_loss": 1.0}


def test_cached_problem_is_built_once_per_params() -> None:
    first = make_problem_cached("synthetic", canonical_params_json({"n_samples": 200, "data_seed": 1}))
    again = make_problem_cached("synthetic", canonical_params_json({"data_seed": 1, "n_samples": 200}))
    other = make_problem_cached("synthetic", canonical_params_json({"n_samples": 200, "data_seed": 2}))
    assert first is again and first is not other
    assert canonical_params_json({"b": 1, "a": math.pi}) == '{"a":3.141592653589793,"b":1}'
