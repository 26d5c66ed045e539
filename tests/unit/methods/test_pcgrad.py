"""PCGrad against Algorithm 1 of Yu et al.: projections onto normal planes of conflicting gradients."""

from __future__ import annotations

import torch

from paretosweep.methods import pcgrad_weights
from tests.unit.methods.method_inputs import WORKED_G, WORKED_J, LinearProblem, build, random_jacobians


def project(jac: torch.Tensor, i: int, order: list[int]) -> torch.Tensor:
    """g_i^PC of Algorithm 1 on explicit vectors, visiting the tasks in ``order``."""
    g = jac[i].clone()
    for j in order:
        inner = g @ jac[j]
        if inner < 0:
            g = g - inner / (jac[j] @ jac[j]) * jac[j]
    return g


def reference_pcgrad(jac: torch.Tensor, orders: list[list[int]]) -> torch.Tensor:
    """Algorithm 1's update: the sum of the projected gradients."""
    return torch.stack([project(jac, i, order) for i, order in enumerate(orders)]).sum(dim=0)


def test_worked_example() -> None:
    # g1_pc = g1 + g2/5 and g2_pc = g2 + g1/2: weights (1 + 1/2, 1/5 + 1) = (1.5, 1.2).
    torch.testing.assert_close(pcgrad_weights(WORKED_G), torch.tensor([1.5, 1.2], dtype=torch.float64))
    problem = LinearProblem(WORKED_J)
    build("pcgrad", 2).backward(problem.losses(), [problem.theta], task_specific=[problem.heads])
    torch.testing.assert_close(problem.theta.grad, torch.tensor([0.3, 2.4, 1.5], dtype=torch.float64))
    torch.testing.assert_close(problem.heads.grad, torch.tensor([3.0, 2.4], dtype=torch.float64))


def test_two_tasks_conflict_is_removed() -> None:
    gen = torch.Generator().manual_seed(1)
    conflicting = 0
    for _ in range(20):
        jac = torch.randn(2, 6, generator=gen, dtype=torch.float64)
        conflicting += int(jac[0] @ jac[1] < 0)
        g1_pc, g2_pc = project(jac, 0, [1]), project(jac, 1, [0])
        assert g1_pc @ jac[1] >= -1e-12 and g2_pc @ jac[0] >= -1e-12
        torch.testing.assert_close(pcgrad_weights(jac @ jac.T) @ jac, g1_pc + g2_pc)
    assert conflicting > 0  # the family exercises the projection


def test_no_conflict_means_plain_sum() -> None:
    jac = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(pcgrad_weights(jac @ jac.T), torch.ones(3, dtype=torch.float64))


def test_weights_reproduce_algorithm_1_for_given_orders() -> None:
    for jac in random_jacobians():
        m = jac.shape[0]
        orders = [[j for j in reversed(range(m)) if j != i] for i in range(m)]
        direction = pcgrad_weights(jac @ jac.T, orders=orders) @ jac
        expected = reference_pcgrad(jac, orders)
        torch.testing.assert_close(direction, expected, rtol=1e-8, atol=1e-8 * float(expected.abs().max()))


def test_permutation_equivariant_with_permuted_orders() -> None:
    jac = random_jacobians()[4]
    m = jac.shape[0]
    perm = torch.tensor([2, 4, 0, 1, 3])
    orders = [[j for j in range(m) if j != i] for i in range(m)]
    inverse = torch.argsort(perm)
    permuted_orders = [[int(inverse[orders[int(perm[a])][k]]) for k in range(m - 1)] for a in range(m)]
    gram = jac @ jac.T
    expected = pcgrad_weights(gram, orders=orders)[perm]
    torch.testing.assert_close(pcgrad_weights(gram[perm][:, perm], orders=permuted_orders), expected)
