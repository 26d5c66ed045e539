"""recsys with ``n_tasks: 4``: the repurchase stage, the same first three tasks, packed paths for 3 and 4 tasks."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.func import stack_module_state

from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.simplex import dirichlet
from paretosweep.trial import train_packed, train_trial

CPU = torch.device("cpu")
RATES = {"click_rate": 0.3, "cart_rate": 0.15, "purchase_rate": 0.08}


def test_four_tasks_add_a_nested_repurchase_stage_and_keep_the_first_three() -> None:
    three = make_problem("recsys", {"n_samples": 6000, **RATES})
    four = make_problem("recsys", {"n_samples": 6000, **RATES, "n_tasks": 4, "repurchase_rate": 0.04})
    assert [t.name for t in three.tasks] == ["click", "cart", "purchase"]
    assert [t.name for t in four.tasks] == ["click", "cart", "purchase", "repurchase"]
    for a, b in ((three.x_train, four.x_train), (three.y_train, four.y_train[:, :3]), (three.y_test, four.y_test[:, :3])):
        assert torch.equal(a, b)  # the fourth stage draws from its own generator
    y = torch.cat([four.y_train, four.y_val, four.y_test])
    assert (y[:, 3] <= y[:, 2]).all() and (y[:, 2] <= y[:, 1]).all() and (y[:, 1] <= y[:, 0]).all()
    assert y[:, 3].mean().item() == pytest.approx(0.04, rel=0.2)
    assert 0.05 < torch.corrcoef(y[:, 2:].T)[0, 1].item() < 0.95  # correlated with purchase, not a copy
    assert set(four.default_reference_point) == {f"{t}_{m}" for t in ("click", "cart", "purchase", "repurchase") for m in ("auc", "loss")}
    model = four.make_model(seed=0)
    batch = next(iter(four.train_batches(epoch=0, generator=torch.Generator().manual_seed(0))))
    assert four.task_losses(model, batch, CPU).shape == (4,)
    assert set(four.evaluate(model, CPU)) == set(four.default_reference_point)


@pytest.mark.parametrize("n_tasks", [3, 4])
def test_packed_losses_and_evaluation_equal_each_member_alone(n_tasks: int) -> None:
    problem = make_problem("recsys", {"n_samples": 3000, **RATES, "n_tasks": n_tasks, "repurchase_rate": 0.04})
    models = [problem.make_model(seed=s) for s in range(3)]
    params, buffers = stack_module_state(models)
    batch = next(iter(problem.train_batches(epoch=0, generator=torch.Generator().manual_seed(0))))
    packed = problem.packed_task_losses(params, buffers, batch, CPU)
    assert packed.shape == (3, n_tasks)
    for k, model in enumerate(models):
        torch.testing.assert_close(packed[k], problem.task_losses(model, batch, CPU), rtol=1e-5, atol=1e-6)
        alone = problem.evaluate(model, CPU)
        member = problem.packed_evaluate(params, buffers, CPU)[k]
        assert member.keys() == alone.keys()
        for key, value in alone.items():
            assert member[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key


def test_a_packed_sweep_step_on_four_tasks_equals_the_trials_alone() -> None:
    params: dict[str, Any] = {"n_samples": 2000, **RATES, "n_tasks": 4, "repurchase_rate": 0.04}
    spec = SweepSpec.model_validate(
        {"problem": {"name": "recsys", "params": params}, "budget": {"epochs": 2, "steps_per_epoch": 4}, "scalarizer": {"name": "linear"}}
    )
    problem = make_problem("recsys", params)
    trials = [TrialConfig(f"s-{i}", "scalarization", tuple(float(x) for x in w), 3, 1e-2) for i, w in enumerate(dirichlet(4, 3, seed=0))]
    for trial, packed in zip(trials, train_packed(problem, trials, spec, device=CPU), strict=True):
        alone = train_trial(problem, trial, spec, device=CPU)
        assert packed.status == alone.status == "completed"
        assert set(packed.metrics) == {f"{t}_{m}" for t in ("click", "cart", "purchase", "repurchase") for m in ("auc", "loss")}
        for key, value in alone.metrics.items():
            assert packed.metrics[key] == pytest.approx(value, rel=1e-4, abs=1e-7), key


@pytest.mark.parametrize(
    ("params", "field"),
    [({"n_tasks": 5}, "n_tasks"), ({"n_tasks": 2}, "n_tasks"), ({"n_tasks": 4, "repurchase_rate": 0.02}, "repurchase_rate")],
)
def test_bad_task_counts_and_rates_name_the_field(params: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"problem\.params\.{field}"):
        make_problem("recsys", params)
