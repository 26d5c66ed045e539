"""The autograd plumbing: batched Jacobian, fallback loop, gradient writing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from paretosweep.methods import create
from paretosweep.methods._jacobian import (
    accumulate_grad,
    accumulate_weighted,
    flatten_rows,
    row_norms,
    task_gradients,
    task_jacobian,
    task_roots,
    weighted_backward,
)
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


def stacked_losses(model: SharedBottom, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """The model's losses, and a counter of how often each head's output gets a gradient."""
    z = model.trunk(x)
    calls = [0] * len(model.heads)
    outs = []
    for i, h in enumerate(model.heads):
        out = h(z).squeeze(-1)
        out.register_hook(lambda g, i=i: calls.__setitem__(i, calls[i] + 1))
        outs.append(((out - y[:, i]) ** 2).mean())
    return torch.stack(outs), calls


def test_stacked_losses_start_each_pass_at_the_tasks_own_loss() -> None:
    """Task i's pass runs head i only; the other heads get None, not zeros, and no backward."""
    torch.manual_seed(0)
    model = SharedBottom(3)
    x, y = regression_data(3)
    losses, calls = stacked_losses(model, x, y)
    params = model.shared() + model.task_specific()
    expected = reference_jacobian(losses, params)
    assert calls == [3, 3, 3]  # differentiating losses[i] runs every head in every pass
    calls[:] = [0, 0, 0]
    rows = task_gradients(losses, params, retain_graph=True, batched=False)
    assert calls == [1, 1, 1]
    k = len(model.shared())
    for i, row in enumerate(rows):
        assert [g is None for g in row[k:]] == [j != i for j in range(3) for _ in (0, 1)]
    torch.testing.assert_close(flatten_rows(rows, params), expected)


def test_losses_that_are_not_a_stack_take_the_indexing_path() -> None:
    torch.manual_seed(0)
    model = SharedBottom(2)
    x, y = regression_data(2)
    losses = model.losses(x, y) * torch.tensor([1.0, 2.0])  # grad_fn is a Mul, not a Stack
    assert all(isinstance(r, torch.Tensor) for r in task_roots(losses))
    params = model.shared() + model.task_specific()
    torch.testing.assert_close(task_jacobian(losses, params, retain_graph=True, batched=False), reference_jacobian(losses, params))


def test_a_constant_task_loss_gets_a_zero_row_and_no_pass() -> None:
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    losses = torch.stack([(p**2).sum(), torch.tensor(3.0), p[0] * 5.0])
    roots = task_roots(losses)
    assert roots[1] is None
    torch.testing.assert_close(task_jacobian(losses, [p], batched=False), torch.tensor([[2.0, 4.0], [0.0, 0.0], [5.0, 0.0]]))


def test_stacked_leaves_and_mixed_dtypes_match_the_reference() -> None:
    a = nn.Parameter(torch.tensor([1.0, -2.0]))
    b = nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    leaf = nn.Parameter(torch.tensor(4.0, dtype=torch.float64))
    losses = torch.stack([(a**2).sum().double() + leaf, (b**3).sum(), leaf])  # a stacked leaf
    assert all(isinstance(r, torch.Tensor) for r in task_roots(losses))
    torch.testing.assert_close(
        task_jacobian(losses, [a, b, leaf], retain_graph=True, batched=False),
        reference_jacobian(losses, [a, b, leaf]).to(torch.float64),
    )
    mixed = torch.stack([(a**2).sum(), (b**3).sum()])  # float32 and float64: stack promotes
    assert mixed.dtype == torch.float64
    assert all(not isinstance(r, torch.Tensor) for r in task_roots(mixed))
    rows = task_gradients(mixed, [a, b], retain_graph=True, batched=False)
    torch.testing.assert_close(rows[0][0], torch.tensor([2.0, -4.0]))
    assert rows[0][1] is None and rows[1][0] is None
    torch.testing.assert_close(rows[1][1], torch.tensor([0.75], dtype=torch.float64))


@pytest.mark.parametrize("batched", [True, False])
def test_accumulate_weighted_equals_a_weighted_backward(batched: bool) -> None:
    torch.manual_seed(0)
    model = SharedBottom(3)
    x, y = regression_data(3)
    heads = model.task_specific()
    weights = torch.tensor([0.5, -2.0, 3.0])
    losses = model.losses(x, y)
    weighted_backward(losses, weights, heads)
    expected = [p.grad.clone() for p in heads]
    for p in heads:
        p.grad = torch.ones_like(p)  # accumulates, as backward does
    accumulate_weighted(heads, task_gradients(model.losses(x, y), heads, batched=batched), weights)
    for p, g in zip(heads, expected):
        torch.testing.assert_close(p.grad, g + 1.0)


def test_gradient_methods_give_heads_the_gradient_of_the_weighted_losses() -> None:
    """Heads' gradients come from the per-task passes; they equal sum_i h_i dL_i/dhead."""
    for name in ("mgda", "pcgrad", "cagrad", "imtlg", "nashmtl", "gradnorm"):
        torch.manual_seed(0)
        model = SharedBottom(3)
        x, y = regression_data(3)
        method = create(name, n_tasks=3)
        w = method.backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())
        heads = model.task_specific()
        expected = torch.autograd.grad((w * model.losses(x, y)).sum(), heads)
        for p, g in zip(heads, expected):
            torch.testing.assert_close(p.grad, g, msg=name)


def test_row_norms_match_dense_blocks() -> None:
    torch.manual_seed(0)
    model = SharedBottom(3)
    x, y = regression_data(3)
    params = model.shared() + model.task_specific()
    losses = model.losses(x, y)
    rows = task_gradients(losses, params, retain_graph=True, batched=False)
    assert sum(g is None for row in rows for g in row) == 12  # other tasks' heads
    jac = reference_jacobian(losses, params)
    blocks = torch.split(jac, [p.numel() for p in params], dim=1)
    expected = torch.stack([b.norm(dim=1) for b in blocks], dim=1).double().numpy()
    np.testing.assert_allclose(row_norms(rows, len(params)), expected, rtol=1e-6)
