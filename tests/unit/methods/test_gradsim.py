"""GradSim against Du et al.: an auxiliary gradient is used only where cos(g_main, g_aux) > 0."""

from __future__ import annotations

import torch

from paretosweep.methods import gradsim_weights
from tests.unit.methods.method_inputs import WORKED_G, WORKED_J, LinearProblem, build


def test_worked_example_conflicting_auxiliary_is_dropped() -> None:
    # cos(g1, g2) = -1 / sqrt(10) < 0.
    for main in (0, 1):
        expected = torch.zeros(2, dtype=torch.float64)
        expected[main] = 1.0
        torch.testing.assert_close(gradsim_weights(WORKED_G, main), expected)
        torch.testing.assert_close(gradsim_weights(WORKED_G, main, weighted=True), expected)
    problem = LinearProblem(WORKED_J)
    build("gradsim", 2, main_task=0).backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(problem.theta.grad, WORKED_J[0])
    torch.testing.assert_close(problem.heads.grad, torch.full((2,), 2.0, dtype=torch.float64))  # own losses


def test_aligned_auxiliaries_are_used_gated_or_cosine_weighted() -> None:
    jac = torch.tensor([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.1], [0.0, 3.0]], dtype=torch.float64)
    gram = jac @ jac.T
    cos = torch.nn.functional.cosine_similarity(jac[0:1], jac, dim=1)  # 1, 0.707, -0.995, 0
    torch.testing.assert_close(gradsim_weights(gram, 0), torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64))
    expected = torch.clamp(cos, min=0.0)
    torch.testing.assert_close(gradsim_weights(gram, 0, weighted=True), expected)


def test_zero_main_gradient_uses_no_auxiliary() -> None:
    jac = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    torch.testing.assert_close(gradsim_weights(jac @ jac.T, 0), torch.tensor([1.0, 0.0]))
