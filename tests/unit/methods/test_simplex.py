"""The support-enumeration solver against SLSQP (CAGrad's reference solver) and NNLS (MGDA's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import nnls

from paretosweep.methods import cagrad_weights
from paretosweep.methods._cagrad import slsqp_inner
from paretosweep.methods._linalg import normalized_gramian, psd_root
from paretosweep.methods._simplex import MAX_TASKS, simplex_minimiser


def random_gramian(rng: np.random.Generator, m: int) -> np.ndarray:
    """A normalised Gramian of ``m`` gradients with a random common component (conflicts vary)."""
    n = int(rng.integers(m, 3 * m + 5))
    jac = rng.standard_normal((m, n)) * rng.uniform(0.1, 3.0, size=(m, 1))
    jac += rng.uniform(-1.0, 1.0) * rng.standard_normal(n)
    return normalized_gramian(torch.from_numpy(jac @ jac.T))[0]


def objective(w: np.ndarray, g: np.ndarray, a: np.ndarray, s: float) -> float:
    return float(w @ a + s * np.sqrt(max(w @ g @ w, 0.0)))


@pytest.mark.parametrize("m", range(2, MAX_TASKS + 1))
def test_cagrad_inner_problem_matches_slsqp(m: int) -> None:
    """Tolerance: objective never above SLSQP's (+1e-12); weights within 1e-3 of SLSQP's,
    whose own stopping tolerance (ftol 1e-10) leaves errors of about 1e-4 in the weights."""
    rng = np.random.default_rng(m)
    for _ in range(40):
        g = random_gramian(rng, m)
        b = np.full(m, 1.0 / m)
        s = float(rng.choice([0.1, 0.4, 1.0, 3.0])) * np.sqrt(b @ g @ b)
        w = simplex_minimiser(g, g @ b, s)
        assert w is not None
        reference = slsqp_inner(g, b, s)
        assert (w >= 0).all() and np.isclose(w.sum(), 1.0)
        assert objective(w, g, g @ b, s) <= objective(reference, g, g @ b, s) + 1e-12
        np.testing.assert_allclose(w, reference, atol=1e-3)


@pytest.mark.parametrize("m", [2, 3, 5])
def test_zero_linear_term_is_the_min_norm_point(m: int) -> None:
    """With a = 0 the problem is MGDA's; the enumeration equals the exact NNLS solution."""
    rng = np.random.default_rng(10 + m)
    for _ in range(40):
        g = random_gramian(rng, m)
        x, _ = nnls(np.vstack([psd_root(g), np.ones((1, m))]), np.eye(m + 1)[-1])
        w = simplex_minimiser(g, np.zeros(m), 1.0)
        assert w is not None
        np.testing.assert_allclose(w, x / x.sum(), atol=1e-9)


def test_degenerate_points_and_large_m_are_left_to_the_general_solver() -> None:
    opposite = np.array([[1.0, -1.0], [-1.0, 1.0]])  # g_1 = -g_2: min-norm point 0, rho = 0
    assert simplex_minimiser(opposite, np.zeros(2), 1.0) is None
    assert simplex_minimiser(np.eye(MAX_TASKS + 1), np.zeros(MAX_TASKS + 1), 1.0) is None
    assert simplex_minimiser(np.eye(3), np.zeros(3), 0.0) is None


def test_cagrad_weights_fall_back_to_slsqp_where_enumeration_gives_up() -> None:
    """Duplicate gradients make every sub-Gramian with both singular; the answer stays right."""
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(2, 6, generator=gen, dtype=torch.float64)
    jac = torch.cat([g, g[1:]])  # tasks 1 and 2 identical
    gram = jac @ jac.T
    weights = cagrad_weights(gram, c=0.4)
    normalized, _ = normalized_gramian(gram)
    b = np.full(3, 1.0 / 3)
    sqrt_phi = 0.4 * np.sqrt(b @ normalized @ b)
    assert simplex_minimiser(normalized, normalized @ b, sqrt_phi) is None
    w_star = slsqp_inner(normalized, b, sqrt_phi)
    lam = sqrt_phi / np.sqrt(w_star @ normalized @ w_star)
    expected = torch.from_numpy((b + lam * w_star) / (1 + 0.4**2))
    torch.testing.assert_close(weights @ jac, expected @ jac, atol=1e-4, rtol=0)
