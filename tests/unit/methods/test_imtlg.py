"""IMTL-G against the paper's closed form and its defining property (equal projections)."""

from __future__ import annotations

import pytest
import torch

from paretosweep.methods import imtlg_weights
from tests.unit.methods.method_asserts import assert_permutation_equivariant
from tests.unit.methods.method_inputs import WORKED_G, WORKED_J, random_jacobians


def paper_closed_form(jac: torch.Tensor) -> torch.Tensor:
    """alpha_{2:m} = g_1 U^T (D U^T)^{-1}, alpha_1 = 1 - sum(alpha_{2:m}) (Liu et al., Thm. 1)."""
    u = jac / jac.norm(dim=1, keepdim=True)
    d_mat = jac[0] - jac[1:]
    u_mat = u[0] - u[1:]
    rest = jac[0] @ u_mat.T @ torch.linalg.inv(d_mat @ u_mat.T)
    return torch.cat([(1 - rest.sum()).reshape(1), rest])


def test_worked_example() -> None:
    # G^{-1} (sqrt 2, sqrt 5) = ((5 sqrt2 + sqrt5)/9, (sqrt2 + 2 sqrt5)/9), normalised to sum 1.
    w = imtlg_weights(WORKED_G)
    torch.testing.assert_close(w, torch.tensor([0.612574, 0.387426], dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(w, paper_closed_form(WORKED_J))


@pytest.mark.parametrize("jac", [j for j in random_jacobians() if j.shape[0] <= j.shape[1]][:6])
def test_matches_closed_form_and_equalises_projections(jac: torch.Tensor) -> None:
    w = imtlg_weights(jac @ jac.T)
    torch.testing.assert_close(w, paper_closed_form(jac), rtol=1e-6, atol=1e-8)
    d = w @ jac
    projections = (jac / jac.norm(dim=1, keepdim=True)) @ d
    torch.testing.assert_close(projections, projections.mean().expand_as(projections), rtol=1e-6, atol=1e-9)
    assert torch.isclose(w.sum(), torch.tensor(1.0, dtype=w.dtype))


def test_matches_torchjd() -> None:
    aggregation = pytest.importorskip("torchjd.aggregation")
    jac = random_jacobians()[5]
    torch.testing.assert_close(imtlg_weights(jac @ jac.T), aggregation.IMTLGWeighting()(jac @ jac.T))


def test_permutation_equivariant_and_scale_invariant() -> None:
    jac = random_jacobians()[4]
    assert_permutation_equivariant(imtlg_weights, jac @ jac.T, torch.tensor([4, 2, 3, 0, 1]))
    torch.testing.assert_close(imtlg_weights(1e8 * jac @ jac.T), imtlg_weights(jac @ jac.T))


def test_zero_gradients_give_zero_weights() -> None:
    assert (imtlg_weights(torch.zeros(3, 3)) == 0).all()
