"""The loss-only methods against their formulas: equal, RLW, DWA, uncertainty weighting."""

from __future__ import annotations

import math

import pytest
import torch

from paretosweep.methods import DWA, RLW, UncertaintyWeighting, dwa_weights
from tests.unit.methods.method_inputs import WORKED_J, LinearProblem, build


def test_equal_is_the_simplex_centre() -> None:
    problem = LinearProblem(WORKED_J)
    w = build("equal", 2).backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(w, torch.full((2,), 0.5, dtype=torch.float64))
    torch.testing.assert_close(problem.theta.grad, WORKED_J.mean(dim=0))


@pytest.mark.parametrize("distribution", ["normal", "dirichlet"])
def test_rlw_draws_fresh_simplex_weights_reproducibly(distribution: str) -> None:
    method = RLW(n_tasks=4, distribution=distribution)
    torch.manual_seed(3)
    first = [method.objective(torch.ones(4))[1] for _ in range(3)]
    torch.manual_seed(3)
    again = [method.objective(torch.ones(4))[1] for _ in range(3)]
    for w, w2 in zip(first, again):
        assert (w > 0).all() and math.isclose(float(w.sum()), 1.0, rel_tol=1e-6)
        torch.testing.assert_close(w, w2)
    assert not torch.allclose(first[0], first[1])


def test_rlw_normal_is_softmax_of_a_standard_normal_draw() -> None:
    torch.manual_seed(7)
    expected = torch.softmax(torch.randn(3), dim=0)
    torch.manual_seed(7)
    torch.testing.assert_close(RLW(n_tasks=3).objective(torch.ones(3))[1], expected)


def test_dwa_formula_and_first_two_epochs() -> None:
    dwa = DWA(n_tasks=3, temperature=2.0)
    losses = [torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, 2.0, 3.3]), torch.tensor([0.4, 1.0, 3.3])]
    torch.testing.assert_close(dwa.objective(torch.ones(3))[1], torch.ones(3))
    dwa.on_epoch_end(0, losses[0])
    torch.testing.assert_close(dwa.current_weights, torch.ones(3))
    dwa.on_epoch_end(1, losses[1])
    ratio = losses[1] / losses[0]
    expected = 3 * torch.exp(ratio / 2) / torch.exp(ratio / 2).sum()
    torch.testing.assert_close(dwa.current_weights, expected)
    dwa.on_epoch_end(2, losses[2])  # uses epochs 1 and 2 only
    torch.testing.assert_close(dwa.current_weights, dwa_weights(losses[2], losses[1], 2.0))
    torch.testing.assert_close(dwa.current_weights.sum(), torch.tensor(3.0))


def test_uncertainty_gradients_follow_the_objective() -> None:
    # d/ds_i [1/2 (e^{-s_i} L_i + s_i)] = 1/2 (1 - e^{-s_i} L_i); network: sum_i 1/2 e^{-s_i} g_i.
    method = UncertaintyWeighting(n_tasks=2)
    with torch.no_grad():
        method.log_vars.copy_(torch.tensor([0.0, math.log(2.0)]))
    problem = LinearProblem(WORKED_J.float())
    problem.theta.data.fill_(1.0)
    losses = problem.losses()  # (2 + 1, 1 + 1) = (3, 2)
    w = method.backward(losses, [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(w, torch.tensor([0.5, 0.25]))
    torch.testing.assert_close(method.log_vars.grad, 0.5 * (1 - torch.tensor([3.0, 1.0])))
    torch.testing.assert_close(problem.theta.grad, (w.unsqueeze(1) * WORKED_J.float()).sum(dim=0))


def test_uncertainty_owns_its_parameters_for_the_optimizer() -> None:
    method = UncertaintyWeighting(n_tasks=3)
    assert [p.shape for p in method.parameters()] == [torch.Size([3])]
