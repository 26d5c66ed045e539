"""Nash-MTL against its bargaining system G alpha = 1/alpha."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import fsolve

from paretosweep.methods import NashMTL, nash_weights
from tests.unit.methods.method_asserts import assert_permutation_equivariant
from tests.unit.methods.method_inputs import WORKED_G, WORKED_J, LinearProblem, build, random_jacobians


def test_diagonal_gramian_has_the_closed_form() -> None:
    # Orthogonal gradients: alpha_i = 1 / |g_i|.
    torch.testing.assert_close(nash_weights(torch.diag(torch.tensor([1.0, 4.0, 0.25]))), torch.tensor([1.0, 0.5, 2.0]))


def test_worked_example_solves_the_system() -> None:
    alpha = nash_weights(WORKED_G)
    assert alpha is not None and (alpha > 0).all()
    torch.testing.assert_close(alpha * (WORKED_G @ alpha), torch.ones(2, dtype=torch.float64))
    g = WORKED_G.numpy()
    independent = fsolve(lambda a: g @ a - 1 / a, np.ones(2), xtol=1e-12)
    np.testing.assert_allclose(alpha.numpy(), independent, rtol=1e-8)


@pytest.mark.parametrize("jac", [j for j in random_jacobians() if j.shape[0] <= j.shape[1]])
def test_random_jacobians_solve_the_system(jac: torch.Tensor) -> None:
    gram = jac @ jac.T
    alpha = nash_weights(gram)
    assert alpha is not None and (alpha > 0).all()
    torch.testing.assert_close(alpha * (gram @ alpha), torch.ones(jac.shape[0], dtype=torch.float64), rtol=1e-6, atol=1e-6)


def test_permutation_equivariant() -> None:
    jac = random_jacobians()[5]
    assert_permutation_equivariant(lambda g: nash_weights(g), jac @ jac.T, torch.tensor([2, 3, 4, 1, 0]), atol=1e-9)


def test_cancelling_gradients_have_no_solution_and_keep_previous_weights() -> None:
    assert nash_weights(torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=torch.float64)) is None
    method = NashMTL(n_tasks=2)
    w = method.weights(torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=torch.float64), torch.ones(2))
    torch.testing.assert_close(w, torch.ones(2, dtype=torch.float64))


def test_shared_gradient_is_clipped_and_heads_are_not() -> None:
    problem = LinearProblem(WORKED_J)
    w = build("nashmtl", 2, max_norm=0.5).backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    d = w @ WORKED_J  # |d| = sqrt(alpha^T G alpha) = sqrt(m) > 0.5
    torch.testing.assert_close(problem.theta.grad, d * 0.5 / d.norm())
    torch.testing.assert_close(problem.heads.grad, 2 * w)


def test_update_every_k_steps_reuses_weights_with_one_backward() -> None:
    method = build("nashmtl", 2, max_norm=0.0, update_weights_every=2)
    problem = LinearProblem(WORKED_J)
    first = method.backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    problem.theta.grad = None
    problem.jac = 3 * WORKED_J  # the weights would change if recomputed
    second = method.backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(second, first)
    torch.testing.assert_close(problem.theta.grad, first @ (3 * WORKED_J))
