"""The spec's `methods:` list is checked at plan time (no Ray): names, params, tasks, shared params."""

from __future__ import annotations

from typing import Any

import pytest

from paretosweep import api
from paretosweep.errors import ConfigError, UnknownNameError

BASE: dict[str, Any] = {
    "problem": {"name": "synthetic", "params": {"n_tasks": 3, "n_samples": 300}},
    "budget": {"n_weights": 3, "epochs": 1},
}


def plan_with(*methods: dict[str, Any], problem: dict[str, Any] | None = None) -> Any:
    return api.plan({**BASE, **({"problem": problem} if problem else {}), "methods": list(methods)})


def test_methods_become_method_trials_with_task_indices() -> None:
    plan = plan_with({"name": "pcgrad"}, {"name": "gradsim", "main_task": "t2"})
    methods = [t for t in plan.trials if t.kind == "method"]
    assert [(t.method, t.method_params) for t in methods] == [("pcgrad", {}), ("gradsim", {"main_task": 2})]
    assert all(t.weights is None for t in methods)


def test_methods_get_the_same_learning_rates_and_seeds_as_the_sweep() -> None:
    plan = api.plan(
        {**BASE, "budget": {"n_weights": 3, "epochs": 1, "lr": [0.01, 0.001], "seeds_per_weight": 2}, "methods": [{"name": "mgda"}]}
    )
    sweep = {(t.seed, t.lr) for t in plan.trials if t.kind == "scalarization"}
    method = {(t.seed, t.lr) for t in plan.trials if t.kind == "method"}
    assert method == sweep and len(method) == 4


def test_unknown_method_has_a_did_you_mean() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean `pcgrad`"):
        plan_with({"name": "pcgradd"})


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"name": "gradnorm", "alpha": -1.0}, "methods[0].alpha"),
        ({"name": "cagrad", "c": -0.5}, "methods[0].c"),
        ({"name": "metabalance", "main_task": "t0", "relax_factor": 1.5}, "methods[0].relax_factor"),
        ({"name": "gradnorm", "alpha": "big"}, "methods[0].alpha"),
        ({"name": "pcgrad", "alpah": 1.0}, "methods[0].alpah"),
    ],
)
def test_bad_method_parameters_name_the_field(entry: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        plan_with(entry)


def test_main_task_must_be_a_task_of_the_problem() -> None:
    with pytest.raises(UnknownNameError, match=r"methods\[0\].main_task.*Did you mean `t1`"):
        plan_with({"name": "gradsim", "main_task": "t11"})


def test_gradient_method_needs_the_problem_to_name_its_shared_parameters() -> None:
    no_shared = {"name": "tests.problems_for_tests:make_quadratic_without_shared"}
    with pytest.raises(ConfigError, match=r"methods\[0\].*shared_parameters"):
        plan_with({"name": "mgda"}, problem=no_shared)
    plan_with({"name": "uncertainty"}, problem=no_shared)  # loss-only methods need none


@pytest.mark.parametrize("problem", ["fonseca", "cagrad_toy"])
def test_mgda_ub_needs_a_shared_representation(problem: str) -> None:
    with pytest.raises(ConfigError, match=r"methods\[1\]\.upper_bound.*shared_representation\(model\).*upper_bound: false"):
        plan_with({"name": "mgda"}, {"name": "mgda", "upper_bound": True}, problem={"name": problem})
    plan_with({"name": "mgda"}, problem={"name": problem})  # plain MGDA needs only the shared parameters


def test_mgda_ub_plans_on_problems_with_a_trunk() -> None:
    plan = plan_with({"name": "mgda", "upper_bound": True, "normalization": "l2"})
    methods = {t.method: t.method_params for t in plan.trials if t.kind == "method"}
    assert methods == {"mgda": {"upper_bound": True, "normalization": "l2"}}
