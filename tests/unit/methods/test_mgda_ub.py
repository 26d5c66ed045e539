"""MGDA-UB (Sener & Koltun 2018, Section 3.3): MGDA on the gradients w.r.t. the shared representation Z."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor, nn

from paretosweep import api
from paretosweep.errors import ParetoSweepError
from paretosweep.methods import MGDA, mgda_weights
from paretosweep.methods._representation import RepresentationTap
from paretosweep.problems import make_problem
from paretosweep.problems._protocol import RepresentationProblem, has_shared_representation
from paretosweep.trial import train_trial
from tests.unit.methods.method_asserts import assert_common_descent, grads_of
from tests.unit.methods.method_inputs import WORKED_J, SharedBottom, regression_data

CPU = torch.device("cpu")


class LinearHeads(nn.Module):
    """``Z = x W^T`` (shared ``W``), ``L_i = sum_b h_i . z_b``: so ``dL_i/dz_b = h_i`` exactly."""

    def __init__(self, heads: Tensor, x: Tensor) -> None:
        super().__init__()
        self.x = x
        self.trunk = nn.Linear(x.shape[1], heads.shape[1], bias=False).double()
        self.heads = nn.Parameter(heads.clone())

    def losses(self) -> Tensor:
        z = self.trunk(self.x)
        return torch.stack([(z @ h).sum() for h in self.heads])


def ub(n_tasks: int, **options: Any) -> MGDA:
    return MGDA(n_tasks=n_tasks, upper_bound=True, **options)


def z_jacobian(model: SharedBottom, x: Tensor, y: Tensor) -> Tensor:
    """``[m, B*hidden]`` gradients of each task loss w.r.t. the trunk's output, by plain autograd."""
    z = model.trunk(x)
    losses = torch.stack([((h(z).squeeze(-1) - y[:, i]) ** 2).mean() for i, h in enumerate(model.heads)])
    return torch.stack([torch.autograd.grad(loss, z, retain_graph=True)[0].reshape(-1) for loss in losses])


def test_worked_example_weights_and_gradients() -> None:
    # Two samples, dL_i/dZ = [h_i, h_i]: Gramian 2 * WORKED_G, alpha = (2/3, 1/3) as in MGDA's worked example.
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=torch.float64)
    model = LinearHeads(WORKED_J, x)
    with RepresentationTap(model.trunk) as tap:
        losses = model.losses()
        w = ub(2).backward(losses, list(model.trunk.parameters()), task_specific=[model.heads], representation=tap.take())
    torch.testing.assert_close(w, torch.tensor([2 / 3, 1 / 3], dtype=torch.float64))
    d = w @ WORKED_J  # sum_i alpha_i h_i = (1/3, 2/3, 2/3)
    torch.testing.assert_close(model.trunk.weight.grad, torch.outer(d, x.sum(dim=0)))  # d/dW sum_b d . W x_b
    z = model.trunk(x).detach()
    torch.testing.assert_close(model.heads.grad, torch.outer(w, z.sum(dim=0)))


def test_all_parameters_get_the_gradient_of_the_weighted_loss() -> None:
    torch.manual_seed(0)
    model, (x, y) = SharedBottom(3), regression_data(3)
    params = model.shared() + model.task_specific()
    with RepresentationTap(model.trunk) as tap:
        losses = model.losses(x, y)
        w = ub(3).backward(losses, model.shared(), task_specific=model.task_specific(), representation=tap.take())
    got = grads_of(params)
    expected = torch.autograd.grad((w * model.losses(x, y)).sum(), params)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e)
    jac = z_jacobian(model, x, y).double()
    torch.testing.assert_close(w, mgda_weights(jac @ jac.T).float(), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_two_tasks_match_the_closed_form_on_z(seed: int) -> None:
    torch.manual_seed(seed)
    model, (x, y) = SharedBottom(2), regression_data(2, seed=seed)
    g = z_jacobian(model, x, y).double()
    diff = g[0] - g[1]
    a = float(torch.clamp((g[1] @ -diff) / (diff @ diff), 0.0, 1.0))
    with RepresentationTap(model.trunk) as tap:
        losses = model.losses(x, y)
        w = ub(2).backward(losses, model.shared(), task_specific=model.task_specific(), representation=tap.take())
    torch.testing.assert_close(w.double(), torch.tensor([a, 1 - a], dtype=torch.float64), atol=1e-5, rtol=0)


@pytest.mark.parametrize("n_tasks", [3, 5])
def test_common_descent_on_z(n_tasks: int) -> None:
    torch.manual_seed(n_tasks)
    model, (x, y) = SharedBottom(n_tasks), regression_data(n_tasks, seed=n_tasks)
    with RepresentationTap(model.trunk) as tap:
        losses = model.losses(x, y)
        w = ub(n_tasks).backward(losses, model.shared(), task_specific=model.task_specific(), representation=tap.take())
    assert (w >= 0).all() and torch.isclose(w.sum(), torch.tensor(1.0))
    assert_common_descent(z_jacobian(model, x, y).double(), w.double(), rtol=1e-5)


def test_l2_normalization_uses_the_z_gradient_norms() -> None:
    torch.manual_seed(1)
    model, (x, y) = SharedBottom(3), regression_data(3, seed=1)
    jac = z_jacobian(model, x, y)
    gram = jac @ jac.T
    n = torch.sqrt(torch.diagonal(gram))
    with RepresentationTap(model.trunk) as tap:
        losses = model.losses(x, y)
        z = tap.take()
        w = ub(3, normalization="l2").backward(losses, model.shared(), task_specific=model.task_specific(), representation=z)
    torch.testing.assert_close(w, mgda_weights(gram / torch.outer(n, n)), atol=1e-5, rtol=1e-4)


def test_without_upper_bound_the_representation_is_not_needed() -> None:
    assert ub(2).needs_representation and not MGDA(n_tasks=2).needs_representation


def test_missing_or_detached_representation_is_refused() -> None:
    model, (x, y) = SharedBottom(2), regression_data(2)
    with pytest.raises(ParetoSweepError, match="needs `representation`"):
        ub(2).backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())
    with pytest.raises(ParetoSweepError, match="does not require grad"):
        ub(2).backward(model.losses(x, y), model.shared(), representation=model.trunk(x).detach())


def test_tap_records_grad_passes_only_and_is_removed() -> None:
    model, (x, y) = SharedBottom(2), regression_data(2)
    tap = RepresentationTap(model.trunk)
    with torch.no_grad():
        model.losses(x, y)
    with pytest.raises(ParetoSweepError, match="ran 0 times"):
        tap.take()
    model.losses(x, y)
    model.losses(x, y)
    with pytest.raises(ParetoSweepError, match="ran 2 times"):
        tap.take()
    tap.remove()
    assert not model.trunk._forward_hooks


@pytest.mark.parametrize(
    "problem",
    [
        {"name": "recsys", "params": {"n_samples": 1200, "batch_size": 128}},
        {"name": "synthetic", "params": {"n_tasks": 3, "n_samples": 600}},
        {"name": "multimnist", "params": {"n_train": 256, "n_test": 128, "batch_size": 64}},
    ],
    ids=lambda p: p["name"],
)
def test_a_real_trial_completes_and_removes_its_hook(problem: dict[str, Any]) -> None:
    plan = api.plan(
        {
            "problem": problem,
            "budget": {"n_weights": 3, "epochs": 2, "steps_per_epoch": 4},
            "methods": [{"name": "mgda", "upper_bound": True}],
        }
    )
    trial = next(t for t in plan.trials if t.kind == "method")
    assert trial.method_params == {"upper_bound": True}
    built = make_problem(problem["name"], problem["params"])
    models: list[nn.Module] = []
    make_model = built.make_model
    built.make_model = lambda *, seed: models.append(make_model(seed=seed)) or models[-1]  # type: ignore[method-assign]
    outcome = train_trial(built, trial, plan.spec, device=CPU)
    assert outcome.status == "completed", outcome.error
    assert outcome.epochs_done == 2 and outcome.effective_weights_final is not None
    assert sum(outcome.effective_weights_final) == pytest.approx(1.0)
    assert outcome.method_hparams == {"normalization": "none", "upper_bound": True}
    assert not models[0].trunk._forward_hooks


@pytest.mark.parametrize(
    ("name", "has"), [("recsys", True), ("synthetic", True), ("multimnist", True), ("fonseca", False), ("cagrad_toy", False)]
)
def test_built_in_problems_with_a_trunk_expose_it(name: str, has: bool) -> None:
    problem = make_problem(name, {})
    assert has_shared_representation(problem) is has and isinstance(problem, RepresentationProblem) is has
    if has:
        model = problem.make_model(seed=0)
        assert problem.shared_representation(model) is model.trunk  # type: ignore[attr-defined]
        assert list(model.trunk.parameters()) == list(problem.shared_parameters(model))


def test_the_hook_is_removed_when_a_trial_fails() -> None:
    plan = api.plan(
        {
            "problem": {"name": "synthetic", "params": {"n_samples": 300}},
            "budget": {"n_weights": 2, "epochs": 1},
            "methods": [{"name": "mgda", "upper_bound": True}],
        }
    )
    trial = next(t for t in plan.trials if t.kind == "method")
    built = make_problem("synthetic", {"n_samples": 300})
    models: list[nn.Module] = []
    make_model = built.make_model
    built.make_model = lambda *, seed: models.append(make_model(seed=seed)) or models[-1]  # type: ignore[method-assign]

    def broken_evaluate(model: nn.Module, device: torch.device) -> dict[str, float]:
        assert models[0].trunk._forward_hooks  # registered while the trial runs
        raise RuntimeError("evaluation failed")

    built.evaluate = broken_evaluate  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="evaluation failed"):
        train_trial(built, trial, plan.spec, device=CPU)
    assert not models[0].trunk._forward_hooks


def test_a_direct_trial_on_a_problem_without_a_representation_fails_clearly() -> None:
    plan = api.plan(
        {
            "problem": {"name": "synthetic", "params": {"n_samples": 300}},
            "budget": {"n_weights": 2, "epochs": 1},
            "methods": [{"name": "mgda", "upper_bound": True}],
        }
    )
    trial = next(t for t in plan.trials if t.kind == "method")
    with pytest.raises(ParetoSweepError, match="no `shared_representation\\(model\\)`"):
        train_trial(make_problem("fonseca", {}), trial, plan.spec, device=CPU)  # bypasses plan-time validation
