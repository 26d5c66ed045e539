"""UPGrad and DualProj: the projection's optimality conditions, non-conflict, and the options."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretosweep import methods
from paretosweep.methods import dual_cone_weights, dualproj_weights, upgrad_weights
from tests.unit.methods.method_asserts import assert_permutation_equivariant
from tests.unit.methods.method_inputs import WORKED_G, random_jacobians

EXACT = {"norm_eps": 0.0, "reg_eps": 0.0}  # the paper's projection, no preconditioning


def assert_kkt(g: np.ndarray, u: np.ndarray, v: np.ndarray, tol: float = 1e-9) -> None:
    """``v = argmin_{v >= u} v^T G v``: feasible, multipliers ``G v >= 0``, complementary slackness."""
    grad = g @ v
    scale = max(1.0, float(np.abs(g).max()) * float(np.abs(v).max()))
    assert (v >= u - tol).all(), v - u
    assert (grad >= -tol * scale).all(), grad
    assert np.abs((v - u) * grad).max() <= tol * scale


@pytest.mark.parametrize("jac", random_jacobians()[:7])
def test_each_projection_satisfies_the_optimality_conditions(jac: torch.Tensor) -> None:
    g = (jac @ jac.T).numpy() / float(torch.trace(jac @ jac.T)) + 1e-6 * np.eye(jac.shape[0])
    rng = np.random.default_rng(0)
    targets = np.abs(rng.standard_normal((4, jac.shape[0])))
    for u, v in zip(targets, dual_cone_weights(g, targets)):
        assert_kkt(g, u, v)


@pytest.mark.parametrize("weights", [upgrad_weights, dualproj_weights])
@pytest.mark.parametrize("jac", [j for j in random_jacobians() if j.shape[0] <= j.shape[1]])
def test_no_task_opposes_the_update(weights: object, jac: torch.Tensor) -> None:
    """:math:`J A \\succeq 0`: the update lies in the dual cone, so no loss rises to first order."""
    w = weights(jac @ jac.T, **EXACT)  # type: ignore[operator]
    d = w @ jac
    assert (jac @ d >= -1e-9 * float(jac.norm(dim=1).max()) * float(d.norm())).all()
    assert (w >= torch.full_like(w, 1.0 / jac.shape[0]) - 1e-12).all()


def test_upgrad_is_the_mean_of_the_projected_gradients() -> None:
    """:math:`\\frac1m \\sum_i \\pi_J(g_i)`, each projection solved on its own."""
    jac = random_jacobians()[3]
    g = (jac @ jac.T).numpy()
    projected = [dual_cone_weights(g, np.eye(3)[i : i + 1])[0] @ jac.numpy() for i in range(3)]
    torch.testing.assert_close(upgrad_weights(jac @ jac.T, **EXACT) @ jac, torch.as_tensor(np.mean(projected, axis=0)))


def test_a_gramian_without_conflict_gives_the_preference() -> None:
    jac = torch.tensor([[1.0, 0.0, 1.0], [0.0, 2.0, 1.0], [1.0, 1.0, 0.0]], dtype=torch.float64)  # G >= 0 entrywise
    for fn in (upgrad_weights, dualproj_weights):
        torch.testing.assert_close(fn(jac @ jac.T), torch.full((3,), 1 / 3, dtype=torch.float64))
        torch.testing.assert_close(fn(jac @ jac.T, [0.2, 0.0, 0.5]), torch.tensor([0.2, 0.0, 0.5], dtype=torch.float64))


def test_worked_example_and_invariances() -> None:
    w = upgrad_weights(WORKED_G, **EXACT)  # g_1 . g_2 = -1: both projections move
    assert (w > 0.5).all()
    torch.testing.assert_close(upgrad_weights(1e8 * WORKED_G, **EXACT), w)
    torch.testing.assert_close(upgrad_weights(WORKED_G, [1.0, 1.0], **EXACT), 2 * w)  # homogeneous in p
    jac = random_jacobians()[4]
    for fn in (upgrad_weights, dualproj_weights):
        assert_permutation_equivariant(lambda g, fn=fn: fn(g, **EXACT), jac @ jac.T, torch.tensor([4, 2, 3, 0, 1]), atol=1e-6)


def test_a_tiny_gramian_counts_as_zero_unless_norm_eps_is_zero() -> None:
    """TorchJD's ``norm_eps``: a trace below it gives the plain mean; 0 always projects."""
    tiny = 1e-7 * WORKED_G
    torch.testing.assert_close(upgrad_weights(tiny), torch.full((2,), 0.5, dtype=torch.float64))
    torch.testing.assert_close(upgrad_weights(tiny, norm_eps=0.0), upgrad_weights(WORKED_G, norm_eps=0.0))
    torch.testing.assert_close(upgrad_weights(torch.zeros(3, 3)), torch.full((3,), 1 / 3))


@pytest.mark.parametrize("name", ["upgrad", "dualproj", "alignedmtl", "stch"])
@pytest.mark.parametrize(
    ("preference", "pattern"),
    [([1.0, 2.0], "a list of 3 numbers"), ([1.0, -1.0, 1.0], ">= 0"), ([0.0, 0.0, 0.0], "positive sum"), ("abc", "a list")],
)
def test_bad_preference_names_the_field(name: str, preference: object, pattern: str) -> None:
    with pytest.raises(methods.MethodParamError, match=rf"`methods\[1\]\.preference` should be .*{pattern}"):
        methods.create(name, n_tasks=3, field="methods[1]", preference=preference)
