"""Simplex designs: on the simplex, seeded, floored; Das–Dennis counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretosweep import simplex
from paretosweep.errors import ConfigError


@given(m=st.integers(1, 6), divisions=st.integers(1, 6))
@settings(max_examples=40, deadline=None)
def test_das_dennis_is_the_full_lattice(m: int, divisions: int) -> None:
    w = simplex.das_dennis(m, divisions)
    assert w.shape == (math.comb(divisions + m - 1, m - 1), m)
    assert np.allclose(w.sum(axis=1), 1.0) and (w >= 0).all()
    assert np.allclose(w * divisions, np.round(w * divisions))  # multiples of 1/H
    assert len({tuple(r) for r in np.round(w, 9)}) == len(w)  # no duplicates


@given(m=st.integers(2, 16), n=st.integers(1, 64), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_random_designs_lie_on_the_simplex_and_repeat_with_the_seed(m: int, n: int, seed: int) -> None:
    for design in (simplex.dirichlet, simplex.sobol_simplex):
        w = design(m, n, seed=seed)
        assert w.shape == (n, m)
        assert np.allclose(w.sum(axis=1), 1.0, atol=1e-9) and (w >= 0).all()
        assert np.array_equal(w, design(m, n, seed=seed))


def test_different_seeds_give_different_designs() -> None:
    assert not np.allclose(simplex.dirichlet(3, 8, seed=0), simplex.dirichlet(3, 8, seed=1))
    assert not np.allclose(simplex.sobol_simplex(3, 8, seed=0), simplex.sobol_simplex(3, 8, seed=1))


@given(m=st.integers(2, 10), floor=st.floats(0.0, 0.099))
@settings(max_examples=40, deadline=None)
def test_floor_keeps_the_simplex_and_makes_every_weight_positive(m: int, floor: float) -> None:
    w = simplex.apply_floor(simplex.das_dennis(m, 3), floor)
    assert np.allclose(w.sum(axis=1), 1.0) and w.min() >= floor - 1e-12


def test_floor_too_large_for_the_task_count_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"sampler.floor"):
        simplex.apply_floor(simplex.das_dennis(4, 2), 0.3)


def test_das_dennis_at_most_picks_the_largest_lattice_within_budget() -> None:
    assert simplex.das_dennis_at_most(2, 16).shape == (16, 2)
    assert simplex.das_dennis_at_most(3, 16).shape == (15, 3)  # H=4: C(6,2)=15 <= 16 < 21
    with pytest.raises(ConfigError, match="n_weights"):
        simplex.das_dennis_at_most(5, 3)


@pytest.mark.parametrize(
    ("weights", "why"),
    [([0.7, 0.4], "sums to 1.1"), ([1.2, -0.2], "negative"), ([0.5, 0.5, 0.0], "3 entries"), ([float("nan"), 1.0], "non-finite")],
)
def test_simplex_violation_says_what_is_wrong(weights: list[float], why: str) -> None:
    assert why in (simplex.simplex_violation(weights, 2) or "")
    assert simplex.simplex_violation([0.25, 0.75], 2) is None


def test_energy_gives_n_distinct_well_spaced_points_for_8_tasks() -> None:
    from scipy.spatial.distance import pdist

    w = simplex.riesz_energy(8, 40, seed=0)
    assert w.shape == (40, 8) and np.allclose(w.sum(axis=1), 1.0) and (w >= 0).all()
    assert len({tuple(r) for r in np.round(w, 9)}) == 40
    energy_gap = pdist(w).min()
    dirichlet_gaps = [pdist(simplex.dirichlet(8, 40, seed=s)).min() for s in range(10)]
    assert energy_gap > 2 * max(dirichlet_gaps), (energy_gap, dirichlet_gaps)  # measured: 0.50 against at most 0.14


def test_energy_repeats_with_its_seed() -> None:
    first = simplex.riesz_energy(4, 12, seed=3)
    simplex._riesz_energy.cache_clear()  # recompute, not the memoised copy
    assert np.array_equal(first, simplex.riesz_energy(4, 12, seed=3))
    assert not np.allclose(first, simplex.riesz_energy(4, 12, seed=4))
    with pytest.raises(ConfigError, match="budget.n_weights"):
        simplex.riesz_energy(8, 5, seed=0)


def test_lattice_divisions_counts_what_fits() -> None:
    assert simplex.lattice_divisions(8, 40) == 2 and simplex.lattice_size(8, 2) == 36
    assert simplex.lattice_divisions(3, 16) == 4 and simplex.lattice_divisions(5, 3) == 0
