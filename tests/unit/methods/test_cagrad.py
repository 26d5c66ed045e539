"""CAGrad against its defining problem: best worst-case improvement in a ball around g_0."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretosweep.methods import cagrad_weights
from tests.unit.methods.method_asserts import assert_permutation_equivariant
from tests.unit.methods.method_inputs import WORKED_G, WORKED_J, LinearProblem, build, random_jacobians


def brute_force_two_tasks(gram: np.ndarray, c: float) -> np.ndarray:
    """Grid search of min_w w^T G b + c |g0| sqrt(w^T G w) on the 1-simplex."""
    b = np.full(2, 0.5)
    sqrt_phi = c * np.sqrt(b @ gram @ b)
    grid = np.stack([np.linspace(0, 1, 200001), 1 - np.linspace(0, 1, 200001)], axis=1)
    values = grid @ gram @ b + sqrt_phi * np.sqrt(np.einsum("si,ij,sj->s", grid, gram, grid))
    w = grid[np.argmin(values)]
    return b + sqrt_phi / np.sqrt(w @ gram @ w) * w


def test_worked_example_against_brute_force() -> None:
    expected = brute_force_two_tasks(WORKED_G.numpy(), 0.4) / (1 + 0.4**2)
    torch.testing.assert_close(cagrad_weights(WORKED_G, c=0.4), torch.from_numpy(expected), atol=1e-5, rtol=0)
    problem = LinearProblem(WORKED_J)
    w = build("cagrad", 2, c=0.4).backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(problem.theta.grad, w @ WORKED_J)


@pytest.mark.parametrize("c", [0.1, 0.5, 2.0])
def test_direction_maximises_the_worst_improvement_in_the_ball(c: float) -> None:
    jac = random_jacobians()[3]
    d = cagrad_weights(jac @ jac.T, c=c, rescale=0) @ jac
    g0 = jac.mean(dim=0)
    radius = c * g0.norm()
    assert (d - g0).norm() <= radius * (1 + 1e-6)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(4000, jac.shape[1], generator=gen, dtype=jac.dtype)
    noise = noise / noise.norm(dim=1, keepdim=True) * radius * torch.rand(4000, 1, generator=gen, dtype=jac.dtype)
    others = (g0 + noise) @ jac.T
    assert (jac @ d).min() >= others.min(dim=1).values.max() - 1e-6 * float(radius * jac.norm(dim=1).max())


def test_c_zero_is_the_mean_gradient() -> None:
    jac = random_jacobians()[4]
    torch.testing.assert_close(cagrad_weights(jac @ jac.T, c=0.0), torch.full((5,), 0.2, dtype=torch.float64))


@pytest.mark.parametrize(("rescale", "divisor"), [(0, 1.0), (1, 1.25), (2, 1.5)])
def test_rescale_variants(rescale: int, divisor: float) -> None:
    base = cagrad_weights(WORKED_G, c=0.5, rescale=0)
    torch.testing.assert_close(cagrad_weights(WORKED_G, c=0.5, rescale=rescale), base / divisor)


def test_permutation_equivariant_and_scale_invariant() -> None:
    jac = random_jacobians()[5]
    weighting = lambda g: cagrad_weights(g, c=0.4)
    assert_permutation_equivariant(weighting, jac @ jac.T, torch.tensor([1, 0, 4, 3, 2]), atol=1e-5)
    torch.testing.assert_close(weighting(1e-9 * jac @ jac.T), weighting(jac @ jac.T), atol=1e-6, rtol=1e-5)
