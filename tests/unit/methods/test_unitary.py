"""Unitary scalarization: the mean loss stepped exactly as the optimizer's own ``weight_decay`` would."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from paretosweep import methods
from tests.unit.methods.method_asserts import grads_of
from tests.unit.methods.method_inputs import SharedBottom, regression_data


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_steps_equal_the_optimizers_weight_decay_on_the_mean_loss(optimizer: str) -> None:
    torch.manual_seed(0)
    ours = SharedBottom(3)
    reference, undecayed = copy.deepcopy(ours), copy.deepcopy(ours)
    unitary = methods.create("unitary", n_tasks=3, weight_decay=0.05)

    def make(model: nn.Module, weight_decay: float) -> torch.optim.Optimizer:
        if optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=weight_decay)
        return torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=weight_decay)

    ours_opt, reference_opt, undecayed_opt = make(ours, 0.0), make(reference, 0.05), make(undecayed, 0.0)
    for step in range(5):
        x, y = regression_data(3, seed=step)
        ours_opt.zero_grad()
        weights = unitary.backward(ours.losses(x, y), ours.shared(), task_specific=ours.task_specific())
        ours_opt.step()
        reference_opt.zero_grad()
        reference.losses(x, y).mean().backward()
        reference_opt.step()
        undecayed_opt.zero_grad()
        undecayed.losses(x, y).mean().backward()
        undecayed_opt.step()
        torch.testing.assert_close(weights, torch.full((3,), 1 / 3))
    for a, b in zip(ours.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(ours.parameters(), undecayed.parameters()))


def test_zero_weight_decay_is_equal_weighting_and_unreached_parameters_stay_none() -> None:
    torch.manual_seed(0)
    model = SharedBottom(2)
    twin = copy.deepcopy(model)
    x, y = regression_data(2)
    methods.create("unitary", n_tasks=2, weight_decay=0.0).backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())
    methods.create("equal", n_tasks=2).backward(twin.losses(x, y), twin.shared(), task_specific=twin.task_specific())
    for a, b in zip(grads_of(list(model.parameters())), grads_of(list(twin.parameters()))):
        torch.testing.assert_close(a, b)
    unused = nn.Parameter(torch.ones(3))
    methods.create("unitary", n_tasks=2, weight_decay=0.1).backward(model.losses(x, y), model.shared(), task_specific=[unused])
    assert unused.grad is None  # as torch's optimizers, no decay where there is no gradient


def test_negative_weight_decay_names_the_field() -> None:
    with pytest.raises(methods.MethodParamError, match=r"`methods\[3\]\.weight_decay` should be a number >= 0"):
        methods.create("unitary", n_tasks=2, field="methods[3]", weight_decay=-1e-4)
