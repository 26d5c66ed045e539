"""MGDA against its definition: the min-norm point of the convex hull of the task gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretosweep.methods import MGDA, MethodParamError, mgda_weights
from tests.unit.methods.method_asserts import assert_common_descent, assert_permutation_equivariant
from tests.unit.methods.method_inputs import WORKED_G, WORKED_J, LinearProblem, build, random_jacobians


def test_worked_example() -> None:
    # min_a |a g1 + (1-a) g2|^2: a = (G22 - G12) / (G11 + G22 - 2 G12) = 6/9.
    torch.testing.assert_close(mgda_weights(WORKED_G), torch.tensor([2 / 3, 1 / 3], dtype=torch.float64))


def test_backward_sets_the_min_norm_direction_and_head_grads() -> None:
    problem = LinearProblem(WORKED_J)
    w = build("mgda", 2).backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(problem.theta.grad, torch.tensor([1 / 3, 2 / 3, 2 / 3], dtype=torch.float64))
    torch.testing.assert_close(problem.heads.grad, 2 * w)  # d(sum w_i h_i^2)/dh = 2 w h, h = 1


@pytest.mark.parametrize("jac", random_jacobians(), ids=lambda j: f"{tuple(j.shape)}|{j.abs().max():.0e}")
def test_common_descent_direction_and_simplex(jac: torch.Tensor) -> None:
    w = mgda_weights(jac @ jac.T)
    assert (w >= 0).all() and torch.isclose(w.sum(), torch.tensor(1.0, dtype=w.dtype))
    assert_common_descent(jac, w)


@pytest.mark.parametrize("seed", range(5))
def test_two_tasks_match_the_closed_form(seed: int) -> None:
    g = torch.randn(2, 7, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    diff = g[0] - g[1]
    a = float(torch.clamp((g[1] @ -diff) / (diff @ diff), 0.0, 1.0))
    torch.testing.assert_close(mgda_weights(g @ g.T), torch.tensor([a, 1 - a], dtype=torch.float64))


def test_no_better_convex_combination_exists() -> None:
    jac = random_jacobians()[4]
    gram = jac @ jac.T
    best = float(mgda_weights(gram) @ gram @ mgda_weights(gram))
    samples = torch.distributions.Dirichlet(torch.ones(jac.shape[0], dtype=torch.float64)).sample((2000,))
    assert (torch.einsum("si,ij,sj->s", samples, gram, samples) >= best - 1e-12).all()


def test_matches_torchjd_frank_wolfe() -> None:
    aggregation = pytest.importorskip("torchjd.aggregation")
    jac = random_jacobians()[3]
    reference = aggregation.MGDAWeighting(epsilon=1e-9, max_iters=10000)(jac @ jac.T)
    torch.testing.assert_close(mgda_weights(jac @ jac.T), reference, atol=1e-3, rtol=0)


def test_permutation_equivariant() -> None:
    jac = random_jacobians()[5]
    assert_permutation_equivariant(mgda_weights, jac @ jac.T, torch.tensor([3, 0, 4, 1, 2]))


def test_zero_gradients_give_uniform_weights() -> None:
    torch.testing.assert_close(mgda_weights(torch.zeros(4, 4)), torch.full((4,), 0.25))


@pytest.mark.parametrize("normalization", ["l2", "loss", "loss+"])
def test_normalization_rescales_gradients_before_solving(normalization: str) -> None:
    losses = torch.tensor([0.5, 4.0], dtype=torch.float64)
    norms = torch.sqrt(torch.diagonal(WORKED_G))
    n = {"l2": norms, "loss": losses, "loss+": losses * norms}[normalization]
    expected = mgda_weights(WORKED_G / torch.outer(n, n))
    torch.testing.assert_close(MGDA(n_tasks=2, normalization=normalization).weights(WORKED_G, losses), expected)
    assert not np.allclose(expected.numpy(), mgda_weights(WORKED_G).numpy())


def test_upper_bound_must_be_a_bool() -> None:
    with pytest.raises(MethodParamError, match="upper_bound"):
        MGDA(n_tasks=2, upper_bound="yes")  # type: ignore[arg-type]
    # MGDA-UB itself is tested in test_mgda_ub.py.
