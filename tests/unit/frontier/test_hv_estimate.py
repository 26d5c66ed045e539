"""Monte Carlo hypervolume and contributions against exact values; the exact/estimate rule."""

from __future__ import annotations

import numpy as np
import pytest

from paretosweep.errors import ConfigError
from paretosweep.frontier import (
    contribution_method,
    hv_contributions,
    hv_contributions_auto,
    hv_contributions_monte_carlo,
    hypervolume,
    hypervolume_auto,
    hypervolume_method,
    hypervolume_monte_carlo,
)


def sphere_front(n: int, m: int, seed: int) -> np.ndarray:
    """``n`` mutually non-dominated points on the positive unit sphere (minimisation)."""
    x = np.abs(np.random.default_rng(seed).standard_normal((n, m)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(("m", "n", "seed"), [(2, 30, 0), (3, 100, 1), (5, 60, 2), (8, 40, 3), (16, 12, 4)])
def test_estimate_is_within_four_standard_errors_of_the_exact_value(m: int, n: int, seed: int) -> None:
    points = sphere_front(n, m, seed)
    directions = ["min"] * m
    exact = hypervolume(points, reference_point=[1.1] * m, directions=directions)
    estimate = hypervolume_monte_carlo(points, reference_point=[1.1] * m, directions=directions, seed=seed)
    assert estimate.method == "monte_carlo" and 0 < estimate.stderr < 0.05 * exact
    assert abs(estimate.value - exact) < 4 * estimate.stderr, (estimate, exact)


def test_estimate_handles_max_directions_like_the_exact_value() -> None:
    points = sphere_front(40, 4, 5) * np.array([1.0, -1.0, 1.0, -1.0])
    kwargs = {"reference_point": [1.1, -1.1, 1.1, -1.1], "directions": ["min", "max", "min", "max"]}
    exact = hypervolume(points, **kwargs)
    estimate = hypervolume_monte_carlo(points, **kwargs)
    assert abs(estimate.value - exact) < 4 * estimate.stderr


def test_estimate_is_reproducible_by_seed_and_shrinks_with_samples() -> None:
    points = sphere_front(50, 6, 0)
    kwargs = {"reference_point": [1.1] * 6, "directions": ["min"] * 6}
    first = hypervolume_monte_carlo(points, **kwargs, seed=7)
    assert hypervolume_monte_carlo(points, **kwargs, seed=7) == first
    assert hypervolume_monte_carlo(points, **kwargs, seed=8).value != first.value
    assert hypervolume_monte_carlo(points, **kwargs, n_samples=80_000).stderr < 0.6 * first.stderr


def test_contribution_estimates_are_within_four_standard_errors() -> None:
    points = sphere_front(25, 4, 3)
    kwargs = {"reference_point": [1.1] * 4, "directions": ["min"] * 4}
    exact = hv_contributions(points, **kwargs)
    estimate = hv_contributions_monte_carlo(points, **kwargs, n_samples=100_000)
    assert estimate.method == "monte_carlo" and (estimate.stderr > 0).all()
    assert (np.abs(estimate.values - exact) < 4 * estimate.stderr + 1e-12).all()


def test_nan_dominated_duplicate_and_outside_rows_follow_the_exact_policy() -> None:
    front = sphere_front(10, 3, 1)
    points = np.vstack([front, front[:1] + 0.05, front[1:2], [[np.nan, 0.1, 0.1]], [[2.0, 0.0, 0.0]]])
    before = points.copy()
    kwargs = {"reference_point": [1.1] * 3, "directions": ["min"] * 3}
    estimate = hypervolume_monte_carlo(points, **kwargs)
    assert abs(estimate.value - hypervolume(front, **kwargs)) < 4 * estimate.stderr
    contrib = hv_contributions_monte_carlo(points, **kwargs)
    zero = [1, 10, 11, 12, 13]  # row 1 and its duplicate 11, the dominated 10, NaN 12, outside 13
    assert (contrib.values[zero] == 0).all() and (contrib.stderr[zero] == 0).all()
    assert (contrib.values[[0, *range(2, 10)]] > 0).all()
    np.testing.assert_array_equal(points, before)  # inputs untouched
    empty = hypervolume_monte_carlo([[2.0, 2.0, 2.0]], **kwargs)
    assert (empty.value, empty.stderr) == (0.0, 0.0)


def test_the_rule_follows_the_measured_limits() -> None:
    assert hypervolume_method(100_000, 5) == "exact" and hypervolume_method(1000, 6) == "monte_carlo"
    assert hypervolume_method(60, 8) == "exact" and hypervolume_method(61, 8) == "monte_carlo"
    assert hypervolume_method(15, 16) == "exact" and hypervolume_method(16, 16) == "monte_carlo"
    assert contribution_method(10_000, 3) == "exact" and contribution_method(501, 4) == "monte_carlo"
    assert contribution_method(12, 16) == "exact" and contribution_method(13, 16) == "monte_carlo"


def test_auto_picks_exact_or_labelled_estimate_by_front_size() -> None:
    kwargs = {"reference_point": [1.1] * 8, "directions": ["min"] * 8}
    small = sphere_front(20, 8, 0)
    exact = hypervolume_auto(small, **kwargs)
    assert exact.method == "exact" and exact.stderr == 0.0
    assert exact.value == hypervolume(small, **kwargs)
    # 200 copies of the same 20 points is still a front of 20: exact stays affordable
    assert hypervolume_auto(np.repeat(small, 10, axis=0), **kwargs).method == "exact"
    large = sphere_front(200, 8, 0)
    estimate = hypervolume_auto(large, **kwargs)
    assert estimate.method == "monte_carlo" and estimate.stderr > 0
    contrib = hv_contributions_auto(large, **kwargs)
    assert contrib.method == "monte_carlo" and contrib.values.shape == (200,)
    small_contrib = hv_contributions_auto(small[:10], **kwargs)
    assert small_contrib.method == "exact" and (small_contrib.stderr == 0).all()


def test_bad_sample_count_is_refused() -> None:
    with pytest.raises(ConfigError, match="n_samples"):
        hypervolume_monte_carlo([[0.5, 0.5]], reference_point=[1, 1], directions=["min", "min"], n_samples=0)
