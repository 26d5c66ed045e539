"""hypervolume, hv_contributions, auto_reference_point, igd_plus, additive_epsilon."""

from __future__ import annotations

import numpy as np
import pytest

from paretosweep.errors import ConfigError
from paretosweep.frontier import (
    additive_epsilon,
    auto_reference_point,
    hv_contributions,
    hypervolume,
    igd_plus,
    non_dominated_mask,
    to_minimization,
)
from tests.unit.frontier._brute import to_min

MM = ["min", "min"]


def test_hv_single_point_2d_and_3d() -> None:
    assert hypervolume([[1.0, 2.0]], reference_point=[3.0, 5.0], directions=MM) == pytest.approx(6.0)
    hv3 = hypervolume([[0.0, 0.0, 0.0]], reference_point=[1.0, 2.0, 3.0], directions=["min"] * 3)
    assert hv3 == pytest.approx(6.0)


def test_hv_staircase() -> None:
    stairs = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    assert hypervolume(stairs, reference_point=[4.0, 4.0], directions=MM) == pytest.approx(6.0)


def test_hv_mixed_directions_equals_negated_minimisation() -> None:
    points = np.array([[1.0, -3.0, 0.5], [2.0, -2.0, 0.2], [3.0, -1.0, 0.9]])
    ref = np.array([4.0, -4.0, 1.0])
    mixed = hypervolume(points, reference_point=ref, directions=["min", "max", "min"])
    flipped = hypervolume(to_min(points, ["min", "max", "min"]), reference_point=ref * [1, -1, 1], directions=["min"] * 3)
    assert mixed == pytest.approx(flipped)
    assert mixed > 0


def test_hv_ignores_points_not_strictly_better_than_reference_and_nan() -> None:
    ref = [4.0, 4.0]
    assert hypervolume([[1.0, 4.0]], reference_point=ref, directions=MM) == 0.0
    assert hypervolume([[5.0, 0.0], [np.nan, 1.0]], reference_point=ref, directions=MM) == 0.0
    mixed = [[2.0, 2.0], [5.0, 0.0], [np.nan, 0.0]]
    assert hypervolume(mixed, reference_point=ref, directions=MM) == pytest.approx(4.0)
    assert hypervolume(np.empty((0, 2)), reference_point=ref, directions=MM) == 0.0


def test_hv_duplicates_and_dominated_points_change_nothing() -> None:
    base = hypervolume([[1.0, 2.0], [2.0, 1.0]], reference_point=[3.0, 3.0], directions=MM)
    padded = [[1.0, 2.0], [2.0, 1.0], [1.0, 2.0], [2.5, 2.5]]
    more = hypervolume(padded, reference_point=[3.0, 3.0], directions=MM)
    assert base == pytest.approx(more) == pytest.approx(3.0)


def test_hv_reference_point_checked() -> None:
    with pytest.raises(ConfigError, match="reference_point"):
        hypervolume([[1.0, 2.0]], reference_point=[3.0], directions=MM)
    with pytest.raises(ConfigError, match="NaN"):
        hypervolume([[1.0, 2.0]], reference_point=[3.0, np.nan], directions=MM)


def test_contributions_sum_rule_two_points() -> None:
    # c1 + c2 = HV({p1, p2}) - vol(box1 ∩ box2); boxes [1,3]x[2,3] and [2,3]x[1,3] overlap in [2,3]x[2,3].
    points = [[1.0, 2.0], [2.0, 1.0]]
    ref = [3.0, 3.0]
    contrib = hv_contributions(points, reference_point=ref, directions=MM)
    total = hypervolume(points, reference_point=ref, directions=MM)
    assert contrib.tolist() == pytest.approx([1.0, 1.0])
    assert contrib.sum() == pytest.approx(total - 1.0)


@pytest.mark.parametrize("m", [2, 3])
def test_contributions_match_definition(m: int) -> None:
    rng = np.random.default_rng(m)
    directions = ["min", "max", "min"][:m]
    cloud = rng.random((40, m))
    points = cloud[non_dominated_mask(cloud, directions=directions)]  # a non-dominated set
    ref = auto_reference_point(points, directions)
    contrib = hv_contributions(points, reference_point=ref, directions=directions)
    total = hypervolume(points, reference_point=ref, directions=directions)
    assert len(points) >= 3
    for i in range(len(points)):
        without = hypervolume(np.delete(points, i, axis=0), reference_point=ref, directions=directions)
        assert contrib[i] == pytest.approx(total - without)
    assert (contrib > 0).all()


def test_contributions_zero_for_duplicates_dominated_outside_and_nan() -> None:
    points = [[1.0, 2.0], [1.0, 2.0], [2.0, 1.0], [2.5, 2.5], [0.0, 3.0], [np.nan, 0.0]]
    contrib = hv_contributions(points, reference_point=[3.0, 3.0], directions=MM)
    assert contrib.tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])


def test_contributions_one_objective() -> None:
    contrib = hv_contributions([[3.0], [1.0], [2.0], [5.0]], reference_point=[4.0], directions=["min"])
    assert contrib.tolist() == pytest.approx([0.0, 1.0, 0.0, 0.0])
    assert hv_contributions([[1.0], [1.0]], reference_point=[4.0], directions=["min"]).tolist() == [0.0, 0.0]
    maximised = hv_contributions([[3.0]], reference_point=[1.0], directions=["max"])
    assert maximised.tolist() == pytest.approx([2.0])


def test_auto_reference_point() -> None:
    points = [[0.0, 1.0], [1.0, 0.0], [np.nan, 5.0], [np.inf, 0.5]]
    ref = auto_reference_point(points, ["min", "max"], margin=0.5)
    assert ref.tolist() == pytest.approx([1.5, -0.5])
    # zero range: step margin * |nadir|, or margin when the nadir is 0
    assert auto_reference_point([[2.0, 0.0]], ["min", "max"]).tolist() == pytest.approx([2.2, -0.1])
    with pytest.raises(ConfigError):
        auto_reference_point([[np.nan, 1.0]], MM)
    with pytest.raises(ConfigError, match="margin"):
        auto_reference_point([[1.0, 1.0]], MM, margin=0.0)


def test_every_point_contributes_at_auto_reference() -> None:
    points = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    ref = auto_reference_point(points, MM)
    assert (hv_contributions(points, reference_point=ref, directions=MM) > 0).all()


def _igd_plus_brute(points: np.ndarray, front: np.ndarray, directions: list[str]) -> float:
    a, r = to_min(points, directions), to_min(front, directions)
    return float(np.mean([min(np.sqrt((np.maximum(p - q, 0.0) ** 2).sum()) for p in a) for q in r]))


def _eps_brute(points: np.ndarray, front: np.ndarray, directions: list[str]) -> float:
    a, r = to_min(points, directions), to_min(front, directions)
    return float(max(min(np.max(p - q) for p in a) for q in r))


@pytest.mark.parametrize("directions", [["min", "min"], ["min", "max"], ["max", "max", "min"]])
def test_igd_plus_and_epsilon_match_brute_force(directions: list[str]) -> None:
    rng = np.random.default_rng(len(directions))
    points = rng.random((7, len(directions)))
    front = rng.random((9, len(directions)))
    assert igd_plus(points, front, directions) == pytest.approx(_igd_plus_brute(points, front, directions))
    assert additive_epsilon(points, front, directions) == pytest.approx(_eps_brute(points, front, directions))


def test_igd_plus_and_epsilon_known_values() -> None:
    front = [[0.0, 1.0], [1.0, 0.0]]
    assert igd_plus([[1.0, 1.0]], front, MM) == pytest.approx(1.0)
    assert igd_plus(front, front, MM) == 0.0
    assert additive_epsilon([1.0, 1.0], front, MM) == pytest.approx(1.0)  # a single 1-D point
    assert additive_epsilon([[-1.0, -1.0]], front, MM) == pytest.approx(-1.0)
    assert igd_plus(np.empty((0, 2)), front, MM) == np.inf
    assert additive_epsilon([[np.nan, 0.0]], front, MM) == np.inf
    with pytest.raises(ConfigError, match="reference_front"):
        igd_plus([[1.0, 1.0]], np.empty((0, 2)), MM)


def test_functions_do_not_mutate_inputs() -> None:
    points = np.array([[1.0, 0.9], [2.0, 0.5], [np.nan, 0.1], [1.5, 0.95]])
    front = np.array([[0.5, 1.0], [2.0, 0.2]])
    ref = np.array([3.0, 0.0])
    for array in (points, front, ref):
        array.flags.writeable = False  # any in-place write raises
    copies = [points.copy(), front.copy(), ref.copy()]
    dirs = ["min", "max"]
    to_minimization(points, dirs)
    non_dominated_mask(points, directions=dirs)
    hypervolume(points, reference_point=ref, directions=dirs)
    hv_contributions(points, reference_point=ref, directions=dirs)
    auto_reference_point(points, dirs)
    igd_plus(points, front, dirs)
    additive_epsilon(points, front, dirs)
    for array, copy in zip((points, front, ref), copies):
        np.testing.assert_array_equal(array, copy)
