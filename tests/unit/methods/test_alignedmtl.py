"""Aligned-MTL: the aligned gradients have condition number 1 (Senushkin et al., Algorithm 1)."""

from __future__ import annotations

import pytest
import torch

from paretosweep import methods
from paretosweep.methods import alignedmtl_weights
from tests.unit.methods.method_asserts import assert_permutation_equivariant
from tests.unit.methods.method_inputs import random_jacobians


def balance(gramian: torch.Tensor) -> torch.Tensor:
    """``B`` ([m, m]) read back from the weights of the unit preferences: column i is ``w(e_i)``."""
    m = gramian.shape[0]
    return torch.stack([alignedmtl_weights(gramian, [float(i == j) for j in range(m)]) for i in range(m)], dim=1)


@pytest.mark.parametrize("jac", [j for j in random_jacobians() if j.shape[0] <= j.shape[1]][:6])
def test_aligned_gradients_have_equal_singular_values(jac: torch.Tensor) -> None:
    """:math:`\\hat J^\\top = J^\\top B` has every singular value :math:`\\sqrt{\\lambda_{\\min}}`."""
    gramian = jac @ jac.T
    aligned = balance(gramian).T @ jac  # rows: the aligned task gradients
    singular = torch.linalg.svdvals(aligned)
    expected = torch.linalg.eigvalsh(gramian).min().sqrt()
    torch.testing.assert_close(singular, expected.expand_as(singular), rtol=1e-6, atol=0)


def test_weights_are_the_balanced_preference_and_modes_pick_the_scale() -> None:
    jac = random_jacobians()[3]
    gramian = jac @ jac.T
    lam = torch.linalg.eigvalsh(gramian)
    base = alignedmtl_weights(gramian)
    torch.testing.assert_close(balance(gramian) @ torch.full((3,), 1 / 3, dtype=torch.float64), base)
    for mode, scale in (("min", lam[0]), ("median", lam[1]), ("rmse", lam.mean())):
        torch.testing.assert_close(alignedmtl_weights(gramian, scale_mode=mode), base * (scale / lam[0]).sqrt())


def test_rank_deficient_gradients_use_the_kept_eigenvalues() -> None:
    """A repeated task: the zero eigenvalue is dropped, the rest balanced; weights stay finite."""
    jac = random_jacobians()[3]
    jac = torch.cat([jac, jac[:1]])
    w = alignedmtl_weights(jac @ jac.T)
    assert torch.isfinite(w).all()
    singular = torch.linalg.svdvals(balance(jac @ jac.T).T @ jac)[:3]
    torch.testing.assert_close(singular, singular.min().expand(3), rtol=1e-6, atol=0)


def test_zero_gramian_gives_the_preference_and_invariances() -> None:
    torch.testing.assert_close(alignedmtl_weights(torch.zeros(3, 3)), torch.full((3,), 1 / 3))
    jac = random_jacobians()[4]
    gramian = jac @ jac.T
    torch.testing.assert_close(alignedmtl_weights(1e8 * gramian), alignedmtl_weights(gramian))
    assert_permutation_equivariant(alignedmtl_weights, gramian, torch.tensor([4, 2, 3, 0, 1]), atol=1e-6)


def test_bad_scale_mode_names_the_field() -> None:
    with pytest.raises(methods.MethodParamError, match=r"`methods\[0\]\.scale_mode` should be one of `min`, `median`, `rmse`"):
        methods.create("alignedmtl", n_tasks=2, field="methods[0]", scale_mode="max")
