"""non_dominated_mask / to_minimization: hand-written fronts and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from paretosweep.errors import ConfigError
from paretosweep.frontier import non_dominated_mask, to_minimization
from tests.unit.frontier._brute import brute_mask, dominates, to_min


def test_2d_min_min() -> None:
    points = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [2.0, 5.0]])
    assert non_dominated_mask(points, directions=["min", "min"]).tolist() == [True, True, True, False, False]


def test_2d_mixed_directions() -> None:
    # loss (min), accuracy (max)
    points = np.array([[0.2, 0.90], [0.1, 0.80], [0.3, 0.85], [0.1, 0.95]])
    assert non_dominated_mask(points, directions=["min", "max"]).tolist() == [False, False, False, True]
    assert non_dominated_mask(points[:3], directions=["min", "max"]).tolist() == [True, True, False]


def test_3d_mixed_directions() -> None:
    points = np.array(
        [
            [1.0, 0.5, 3.0],  # best in objective 0
            [2.0, 0.9, 2.0],  # best in objective 1 (max)
            [3.0, 0.1, 1.0],  # best in objective 2
            [2.5, 0.4, 3.5],  # dominated by row 0
            [1.5, 0.7, 2.5],  # a trade-off
        ]
    )
    mask = non_dominated_mask(points, directions=["min", "max", "min"])
    assert mask.tolist() == [True, True, True, False, True]


def test_duplicates_are_all_kept() -> None:
    points = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0], [3.0, 3.0]])
    assert non_dominated_mask(points, directions=["min", "min"]).tolist() == [True, True, True, False, False]


def test_nan_rows_never_kept_and_dominate_nothing() -> None:
    points = np.array([[np.nan, 0.0], [1.0, 1.0], [0.0, np.nan]])
    assert non_dominated_mask(points, directions=["min", "min"]).tolist() == [False, True, False]


def test_empty_and_single_objective() -> None:
    assert non_dominated_mask(np.empty((0, 3)), directions=["min"] * 3).shape == (0,)
    assert non_dominated_mask([[3.0], [1.0], [1.0]], directions=["min"]).tolist() == [False, True, True]
    assert non_dominated_mask([[3.0], [1.0]], directions=["max"]).tolist() == [True, False]


def test_to_minimization_negates_max_and_copies() -> None:
    points = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = to_minimization(points, ["min", "max"])
    assert out.tolist() == [[1.0, -2.0], [3.0, -4.0]]
    assert points.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert not np.shares_memory(out, points)


@pytest.mark.parametrize(
    ("points", "directions"),
    [
        (np.ones((2, 2)), ["min", "maximum"]),
        (np.ones((2, 2)), ["min"]),
        (np.ones((2, 2)), "min"),
        (np.ones((2, 2, 2)), ["min", "min"]),
    ],
)
def test_bad_input_is_a_config_error(points: np.ndarray, directions: list[str]) -> None:
    with pytest.raises(ConfigError):
        non_dominated_mask(points, directions=directions)


# --------------------------------------------------------------------------- properties


@st.composite
def point_sets(draw: st.DrawFn) -> tuple[np.ndarray, list[str]]:
    """Small integer-valued sets (many ties and duplicates), some NaN, mixed directions."""
    m = draw(st.integers(1, 4))
    n = draw(st.integers(0, 25))
    values = draw(arrays(np.float64, (n, m), elements=st.integers(0, 5).map(float)))
    nan = draw(arrays(np.bool_, (n, m), elements=st.sampled_from([False] * 9 + [True])))
    values[nan] = np.nan
    directions = draw(st.lists(st.sampled_from(["min", "max"]), min_size=m, max_size=m))
    return values, directions


@settings(max_examples=60, deadline=None)
@given(point_sets())
def test_matches_brute_force(case: tuple[np.ndarray, list[str]]) -> None:
    points, directions = case
    expected = brute_mask(points, directions)
    assert non_dominated_mask(points, directions=directions).tolist() == expected.tolist()


@settings(max_examples=60, deadline=None)
@given(point_sets())
def test_idempotent(case: tuple[np.ndarray, list[str]]) -> None:
    points, directions = case
    kept = points[non_dominated_mask(points, directions=directions)]
    assert non_dominated_mask(kept, directions=directions).all()


@settings(max_examples=60, deadline=None)
@given(point_sets(), st.randoms(use_true_random=False))
def test_permutation_invariant(case: tuple[np.ndarray, list[str]], rnd: object) -> None:
    points, directions = case
    perm = np.arange(points.shape[0])
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    mask = non_dominated_mask(points, directions=directions)
    assert non_dominated_mask(points[perm], directions=directions).tolist() == mask[perm].tolist()


@settings(max_examples=60, deadline=None)
@given(point_sets())
def test_kept_undominated_and_dropped_dominated_by_kept(case: tuple[np.ndarray, list[str]]) -> None:
    points, directions = case
    mask = non_dominated_mask(points, directions=directions)
    pts = to_min(points, directions)
    valid = ~np.isnan(pts).any(axis=1)
    for i in np.flatnonzero(mask):
        assert not any(dominates(pts[j], pts[i]) for j in np.flatnonzero(valid))
    for i in np.flatnonzero(valid & ~mask):
        assert any(dominates(pts[j], pts[i]) for j in np.flatnonzero(mask))
