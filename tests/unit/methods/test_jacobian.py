"""The autograd plumbing: batched Jacobian, fallback loop, gradient writing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paretosweep.methods._jacobian import accumulate_grad, task_jacobian, weighted_backward
from tests.unit.methods.method_inputs import SharedBottom, regression_data


def reference_jacobian(losses: torch.Tensor, params: list[nn.Parameter]) -> torch.Tensor:
    rows = []
    for i in range(losses.shape[0]):
        grads = torch.autograd.grad(losses[i], params, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)]))
    return torch.stack(rows)


@pytest.mark.parametrize("batched", [True, False])
def test_jacobian_matches_per_task_autograd(batched: bool) -> None:
    torch.manual_seed(0)
    model = SharedBottom(3)
    x, y = regression_data(3)
    losses = model.losses(x, y)
    params = model.shared() + model.task_specific()
    expected = reference_jacobian(losses, params)
    torch.testing.assert_close(task_jacobian(losses, params, retain_graph=True, batched=batched), expected)
    # heads a task does not use have zero columns
    head0 = sum(p.numel() for p in model.shared())
    assert (expected[1, head0 : head0 + 13] == 0).all()


def test_accumulate_grad_adds_like_backward() -> None:
    p = nn.Parameter(torch.zeros(2, 2))
    q = nn.Parameter(torch.zeros(3))
    accumulate_grad([p, q], torch.arange(7.0))
    accumulate_grad([p, q], torch.ones(7))
    torch.testing.assert_close(p.grad, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    torch.testing.assert_close(q.grad, torch.tensor([5.0, 6.0, 7.0]))


def test_weighted_backward_touches_only_the_given_parameters() -> None:
    torch.manual_seed(0)
    model = SharedBottom(2)
    x, y = regression_data(2)
    losses = model.losses(x, y)
    weights = torch.tensor([0.25, 2.0])
    expected = torch.autograd.grad((weights * losses).sum(), model.task_specific(), retain_graph=True)
    weighted_backward(losses, weights, model.task_specific())
    for p, g in zip(model.task_specific(), expected):
        torch.testing.assert_close(p.grad, g)
    assert all(p.grad is None for p in model.shared())


@pytest.mark.parametrize(("batched", "passes"), [(True, 1), (False, 3)])
def test_batched_jacobian_is_one_pass_and_the_loop_one_per_task(batched: bool, passes: int) -> None:
    model = SharedBottom(3)
    x, y = regression_data(3)
    z = model.trunk(x)
    calls: list[int] = []
    z.register_hook(lambda g: calls.append(1))
    losses = torch.stack([((h(z).squeeze(-1) - y[:, i]) ** 2).mean() for i, h in enumerate(model.heads)])
    task_jacobian(losses, model.shared(), batched=batched)
    assert len(calls) == passes


def test_the_device_picks_the_strategy_on_cpu() -> None:
    model = SharedBottom(2)
    x, y = regression_data(2)
    z = model.trunk(x)
    calls: list[int] = []
    z.register_hook(lambda g: calls.append(1))
    losses = torch.stack([((h(z).squeeze(-1) - y[:, i]) ** 2).mean() for i, h in enumerate(model.heads)])
    task_jacobian(losses, model.shared())
    assert len(calls) == 2  # the loop on CPU
