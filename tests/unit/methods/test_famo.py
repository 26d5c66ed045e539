"""FAMO: the step's weights, the logits' Adam step on the log-loss change, clipping, and bad losses."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paretosweep import methods
from paretosweep.errors import ParetoSweepError
from paretosweep.methods import famo_logit_gradient, famo_weights
from paretosweep.methods._famo import LOSS_EPS
from tests.unit.methods.method_inputs import SharedBottom, regression_data


def test_first_step_weights_each_gradient_by_its_inverse_loss() -> None:
    """:math:`z = 1/m`: :math:`w_i \\propto 1 / L_i`, summing to 1, and the gradient is :math:`\\sum_i w_i \\nabla L_i`."""
    theta = nn.Parameter(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    famo = methods.create("famo", n_tasks=3, max_norm=0.0)
    weights = famo.backward(theta**2, [], task_specific=[theta])
    expected = (1 / (theta**2 + LOSS_EPS)).detach()
    torch.testing.assert_close(weights, expected / expected.sum())
    assert theta.grad is not None
    torch.testing.assert_close(theta.grad, (expected / expected.sum()) * 2 * theta.detach())


def test_logits_follow_torch_adam_on_the_log_loss_change() -> None:
    """Our in-module Adam is ``torch.optim.Adam(lr=w_lr, weight_decay=gamma)`` fed :math:`\\nabla_\\xi z^\\top d`."""
    gen = torch.Generator().manual_seed(0)
    sequence = torch.rand(8, 3, generator=gen) + 0.1
    famo = methods.FAMO(n_tasks=3, w_lr=0.1, gamma=0.01, max_norm=0.0)
    xi = nn.Parameter(torch.zeros(3, dtype=torch.float64))
    adam = torch.optim.Adam([xi], lr=0.1, weight_decay=0.01)
    for t, losses in enumerate(sequence):
        leaf = nn.Parameter(losses.clone())
        famo.backward(leaf * 1.0, [leaf])
        if t > 0:
            before, after = (sequence[t - 1].double() + LOSS_EPS).log(), (losses.double() + LOSS_EPS).log()
            xi.grad = famo_logit_gradient(xi.detach(), before, after)
            adam.step()
    assert famo.logits.abs().max() > 1e-3  # the logits moved: the comparison is not vacuous
    torch.testing.assert_close(famo.logits, xi.detach(), rtol=1e-6, atol=1e-9)


def test_the_task_whose_loss_fell_least_gains_weight() -> None:
    famo = methods.FAMO(n_tasks=2, w_lr=0.5, max_norm=0.0)
    for losses in ([1.0, 1.0], [0.5, 0.99], [0.25, 0.98]):  # task 0 falls fast, task 1 barely
        leaf = nn.Parameter(torch.tensor(losses))
        famo.backward(leaf * 1.0, [leaf])
    z = torch.softmax(famo.logits, dim=0)
    assert z[1] > z[0]
    assert famo_weights(torch.zeros(2), torch.tensor([1.0, 3.0])).tolist() == pytest.approx([0.75, 0.25])


def test_shared_gradient_is_clipped_and_the_heads_are_not() -> None:
    torch.manual_seed(0)
    clipped, plain = SharedBottom(3), SharedBottom(3)
    plain.load_state_dict(clipped.state_dict())
    x, y = regression_data(3)
    for model, max_norm in ((clipped, 1e-3), (plain, 0.0)):
        methods.create("famo", n_tasks=3, max_norm=max_norm).backward(
            model.losses(x, y), model.shared(), task_specific=model.task_specific()
        )
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in plain.shared()]))
    assert norm > 1e-3
    for c, p in zip(clipped.shared(), plain.shared()):
        torch.testing.assert_close(c.grad, p.grad * (1e-3 / norm))
    for c, p in zip(clipped.task_specific(), plain.task_specific()):
        torch.testing.assert_close(c.grad, p.grad)


def test_negative_losses_are_refused_with_the_fix() -> None:
    leaf = nn.Parameter(torch.tensor([0.5, -1.0]))
    with pytest.raises(ParetoSweepError, match="losses should be >= 0"):
        methods.create("famo", n_tasks=2).backward(leaf * 1.0, [leaf])
