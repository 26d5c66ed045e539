"""Linear scalarization with more than 2 tasks: lower convex hull facets (pure numpy/scipy, no Ray)."""

from __future__ import annotations

import numpy as np
import pytest

from paretosweep.frontier import hypervolume
from paretosweep.sampling import AdaptiveSampler, propose
from paretosweep.sampling._hull import HULL_MAX_TASKS, lower_facets
from tests.unit.sampling.sampler_loop import run


def convex(w: np.ndarray) -> np.ndarray:
    """The minimiser of w·f on the convex front ‖1 − f‖ = 1, f in [0, 1]^m: f = 1 − w / ‖w‖."""
    w = np.asarray(w, dtype=np.float64)
    return 1.0 - w / np.linalg.norm(w)


def test_facet_weights_support_their_vertices() -> None:
    """Every lower facet's weight w >= 0 is minimised (w·x) by the facet's own frontier points."""
    rng = np.random.default_rng(0)
    pts = convex(rng.dirichlet(np.ones(3), size=12))
    norm = (pts - pts.min(axis=0)) / (pts.max(axis=0) - pts.min(axis=0))
    facets = lower_facets(norm)
    assert facets
    for f in facets:
        assert np.all(f.normal_weight >= 0) and np.isclose(f.normal_weight.sum(), 1)
        scores = norm @ f.normal_weight
        assert np.allclose(scores[list(f.vertices)], scores.min(), atol=1e-9)
        assert len(f.vertices) >= 2 and f.size > 0
    sizes = [f.size for f in facets]
    assert sizes == sorted(sizes, reverse=True)  # largest first


def test_corners_and_centroid_give_facets() -> None:
    """The initial design (3 corners + centroid) already has lower facets, through the centroid's point."""
    norm = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.3, 0.3, 0.3]])
    facets = lower_facets(norm)
    assert facets and all(3 in f.vertices for f in facets if len(f.vertices) == 2)
    assert not any(set(f.vertices) == {0, 1, 2} for f in facets)  # the corners' plane faces away (centroid below it)


def test_coplanar_points_give_the_planes_normal() -> None:
    """Points on the plane x + y + z = 1 (a linear front): one weight, (1/3, 1/3, 1/3)."""
    norm = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    facets = lower_facets(norm)
    inner = [f for f in facets if np.all(f.normal_weight > 1e-6)]
    assert inner and all(np.allclose(f.normal_weight, 1 / 3) for f in inner)


@pytest.mark.parametrize(
    "norm",
    [np.zeros((1, 3)), np.random.default_rng(1).random((20, HULL_MAX_TASKS + 1)), np.random.default_rng(2).random((5000, 3))],
    ids=["one point", "too many tasks", "too many points"],
)
def test_degenerate_cases_fall_back(norm: np.ndarray) -> None:
    assert lower_facets(norm) is None


def test_linear_three_tasks_proposes_a_facet_normal() -> None:
    """After the initial design, the proposal is a facet normal (raw units): its facet's points tie under it."""
    weights = np.array([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98], [1 / 3, 1 / 3, 1 / 3]])
    values = np.array([convex(w) for w in weights]) * np.array([1.0, 2.0, 4.0])  # unequal scales
    out = propose("linear", weights, values, n=1, floor=0.0, tolerance=0.01)
    (w,) = out.weights
    scores = values @ w
    assert np.sum(np.isclose(scores, scores.min(), rtol=1e-9)) >= 2  # the normal of a facet through >= 2 points
    assert not np.allclose(w, 0.5 * (weights[0] + weights[3]))  # not the old mean-of-ends rule


@pytest.mark.parametrize("m", [3, 4])
def test_hull_refinement_beats_the_lattice_on_a_convex_front(m: int) -> None:
    """30 weight vectors, HV (ref 1.1): m=3 0.622 hull, 0.614 lattice, 0.564 the old mean-of-ends rule;
    m=4 0.257, 0.136, 0.245."""
    ref = [1.1] * m
    _, fs = run(AdaptiveSampler(m=m, scalarizer="linear", n_weights=30, batch=2, tolerance=0.01), convex)
    from paretosweep import simplex

    lattice = np.array([convex(w) for w in simplex.apply_floor(simplex.das_dennis_at_most(m, 30), 0.01)])
    found = hypervolume(fs, reference_point=ref, directions=["min"] * m)
    assert found >= hypervolume(lattice, reference_point=ref, directions=["min"] * m)


@pytest.mark.parametrize("scalarizer", ["linear", "tchebycheff"])
def test_sixteen_tasks_run_and_propose_simplex_weights(scalarizer: str) -> None:
    m = 16
    sampler = AdaptiveSampler(m=m, scalarizer=scalarizer, n_weights=m + 9, batch=3, floor=0.01)
    ws, fs = run(sampler, convex)
    assert len(ws) == m + 9 and sampler.rounds >= 4
    assert np.allclose(ws.sum(axis=1), 1) and ws.min() >= 0.01 - 1e-9
    assert len({tuple(np.round(w, 6)) for w in ws}) == len(ws)
