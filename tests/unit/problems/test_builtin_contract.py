"""Every built-in problem follows the Problem protocol and learns (skorch-style test_all)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from paretosweep.problems import (
    Problem,
    ProblemWithTestSplit,
    available_problems,
    canonical_params_json,
    column,
    has_test_split,
    make_problem_cached,
)

CPU = torch.device("cpu")

#: Small sizes keep the suite fast; defaults are built once in test_defaults_build.
SMALL: dict[str, dict[str, Any]] = {
    "fonseca": {},
    "cagrad_toy": {},
    "three_wells": {},
    "synthetic": {"n_samples": 800},
    "multimnist": {"n_train": 400, "n_test": 300},
    "recsys": {"n_samples": 8000},
}
#: Problems whose data depends on ``data_seed`` (the analytic ones have no data).
WITH_DATA = ("synthetic", "multimnist", "recsys")
#: Adam learning rate and steps of the equal-weights sanity run.
SANITY = {"fonseca": (0.05, 200), "cagrad_toy": (0.05, 300), "three_wells": (0.05, 200), "synthetic": (0.01, 300),
          "multimnist": (0.01, 150), "recsys": (0.01, 300)}  # fmt: skip


def build(name: str, **overrides: Any) -> Problem:
    return make_problem_cached(name, canonical_params_json({**SMALL[name], **overrides}))


def declared_columns(problem: Problem) -> set[str]:
    return {column(t.name, m.name) for t in problem.tasks for m in t.metrics}


def test_every_built_in_is_covered() -> None:
    assert set(SMALL) == set(available_problems())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_defaults_build(name: str) -> None:
    problem = make_problem_cached(name, "{}")
    assert problem.name == name and isinstance(problem, Problem)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_tasks_and_metrics_are_declared(name: str) -> None:
    problem = build(name)
    assert isinstance(problem.tasks, tuple) and len(problem.tasks) >= 2
    for task in problem.tasks:
        assert task.metric("loss") is not None and task.metric("loss").direction == "min"
        assert len({m.name for m in task.metrics}) == len(task.metrics)
    reference = getattr(problem, "default_reference_point", None)
    if reference is not None:  # covers the default objective columns (first metric per task), keyed by metric columns
        assert {column(t.name, t.metrics[0].name) for t in problem.tasks} <= set(reference)
        assert set(reference) <= {column(t.name, m.name) for t in problem.tasks for m in t.metrics}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_task_losses_are_m_differentiable_scalars(name: str) -> None:
    problem = build(name)
    model = problem.make_model(seed=0)
    batch = next(iter(problem.train_batches(epoch=0, generator=torch.Generator().manual_seed(0))))
    losses = problem.task_losses(model, batch, CPU)
    assert losses.shape == (len(problem.tasks),) and torch.isfinite(losses).all()
    shared = list(problem.shared_parameters(model))
    assert shared and all(any(s is p for p in model.parameters()) for s in shared)
    for i in range(len(problem.tasks)):  # each task reaches the shared parameters
        grads = torch.autograd.grad(losses[i], shared, retain_graph=True, allow_unused=True)
        assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_evaluate_returns_exactly_the_declared_columns(name: str) -> None:
    problem = build(name)
    model = problem.make_model(seed=0)
    model.train()
    metrics = problem.evaluate(model, CPU)
    assert set(metrics) == declared_columns(problem)
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
    assert model.training  # back in train mode
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_data_problems_have_a_test_split_and_analytic_ones_say_why_not(name: str) -> None:
    problem = build(name)
    if name not in WITH_DATA:
        assert not has_test_split(problem) and not isinstance(problem, ProblemWithTestSplit)
        assert problem.selection_split == "function" and "the objective is the function itself" in problem.splits_note
        return
    assert has_test_split(problem) and isinstance(problem, ProblemWithTestSplit)
    model = problem.make_model(seed=0)
    model.train()
    validation, test = problem.evaluate(model, CPU), problem.evaluate_test(model, CPU)
    assert set(test) == set(validation) == declared_columns(problem)
    assert all(isinstance(v, float) and math.isfinite(v) for v in test.values())
    assert test != validation  # another split, other numbers
    assert model.training and all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_make_model_and_batches_are_seeded(name: str) -> None:
    problem = build(name)
    a, b, c = (problem.make_model(seed=s) for s in (3, 3, 4))
    state_a, state_b, state_c = (list(m.state_dict().values()) for m in (a, b, c))
    assert all(torch.equal(x, y) for x, y in zip(state_a, state_b))
    assert not all(torch.equal(x, y) for x, y in zip(state_a, state_c))
    if name in WITH_DATA:
        first, again = (
            [t for batch in problem.train_batches(epoch=0, generator=torch.Generator().manual_seed(1)) for t in batch] for _ in range(2)
        )
        assert len(first) == len(again) and all(torch.equal(x, y) for x, y in zip(first, again))


@pytest.mark.parametrize("name", WITH_DATA)
def test_same_data_seed_same_data_other_seed_other_data(name: str) -> None:
    params = canonical_params_json({**SMALL[name], "data_seed": 5})
    one = make_problem_cached.__wrapped__(name, params)  # bypass the cache: two real builds
    two = make_problem_cached.__wrapped__(name, params)
    other = build(name, data_seed=6)
    for attr in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(one, attr), getattr(two, attr))
    assert not torch.equal(one.x_train, other.x_train)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_equal_weights_training_reduces_the_losses(name: str) -> None:
    torch.manual_seed(0)
    problem = build(name)
    model = problem.make_model(seed=0)
    lr, steps = SANITY[name]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(0)
    losses_of = lambda metrics: [metrics[column(t.name, "loss")] for t in problem.tasks]
    before = losses_of(problem.evaluate(model, CPU))
    done, epoch = 0, 0
    while done < steps:
        for batch in problem.train_batches(epoch=epoch, generator=generator):
            optimizer.zero_grad()
            problem.task_losses(model, batch, CPU).mean().backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
        epoch += 1
    after = losses_of(problem.evaluate(model, CPU))
    if name in WITH_DATA:  # every held-out loss goes down
        assert all(a < b for a, b in zip(after, before)), (before, after)
    else:  # analytic problems: the equal-weights objective goes down
        assert sum(after) < sum(before) - 1e-3, (before, after)
