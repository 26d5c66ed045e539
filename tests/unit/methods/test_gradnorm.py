"""GradNorm against its L_grad: the weight gradient, the update and the renormalisation."""

from __future__ import annotations

import math

import torch

from paretosweep.methods import GradNorm, gradnorm_weight_gradient
from tests.unit.methods.method_inputs import WORKED_J, LinearProblem, build


def test_weight_gradient_matches_autograd_of_l_grad() -> None:
    gen = torch.Generator().manual_seed(0)
    for alpha in (0.0, 0.5, 1.5):
        w = torch.rand(4, generator=gen, dtype=torch.float64) + 0.5
        norms = torch.rand(4, generator=gen, dtype=torch.float64) + 0.1
        losses = torch.rand(4, generator=gen, dtype=torch.float64) + 0.1
        initial = torch.rand(4, generator=gen, dtype=torch.float64) + 0.5
        w_var = w.clone().requires_grad_(True)
        g_w = w_var * norms
        ratio = losses / initial
        target = (g_w.mean() * (ratio / ratio.mean()) ** alpha).detach()  # held constant
        (g_w - target).abs().sum().backward()
        torch.testing.assert_close(gradnorm_weight_gradient(w, norms, losses, initial, alpha), w_var.grad)


def test_first_step_worked_example() -> None:
    # w(0) = 1: network gets g1 + g2; |g| = (sqrt2, sqrt5), r = 1 -> target = mean(|g|),
    # dL/dw = (-sqrt2, +sqrt5); Adam's first step moves each weight by weight_lr * sign.
    problem = LinearProblem(WORKED_J)
    method = build("gradnorm", 2, alpha=1.5, weight_lr=0.025)
    w = method.backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(w, torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(problem.theta.grad, WORKED_J.sum(dim=0))
    torch.testing.assert_close(method.loss_weights, torch.tensor([1.025, 0.975]))
    assert math.isclose(float(method.loss_weights.sum()), 2.0)


def test_weights_are_renormalised_to_sum_m_and_stay_positive() -> None:
    method = GradNorm(n_tasks=3, weight_lr=0.9)
    gram = torch.diag(torch.tensor([1e-4, 1.0, 1e4]))
    for _ in range(50):
        applied = method.weights(gram, torch.tensor([1.0, 0.5, 0.1]))
        assert torch.isfinite(applied).all()
    assert (method.loss_weights > 0).all()
    torch.testing.assert_close(method.loss_weights.sum(), torch.tensor(3.0))
    assert method.loss_weights[0] > method.loss_weights[2]  # the small gradient gets weight


def test_weights_are_buffers_not_parameters() -> None:
    method = GradNorm(n_tasks=2)
    assert list(method.parameters()) == []
    assert "loss_weights" in method.state_dict()
