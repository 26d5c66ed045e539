"""The adaptive sampler on analytic fronts (pure numpy, no Ray, no training)."""

from __future__ import annotations

import numpy as np
import pytest

import paretosweep
from paretosweep.errors import ConfigError
from paretosweep.sampling import AdaptiveSampler, frontier_gaps, initial_design, make_sampler, propose
from tests.unit.sampling.sampler_loop import run


def circle_tchebycheff(w: np.ndarray) -> np.ndarray:
    """The Tchebycheff optimum on the concave front f1^2 + f2^2 = 1 (ideal 0): f ∝ 1/w, on the circle."""
    d = 1.0 / np.asarray(w)
    return d / np.linalg.norm(d)


def convex_linear(w: np.ndarray) -> np.ndarray:
    """The minimiser of w·f on the convex front (1 - f1)^2 + (1 - f2)^2 = 1, f in [0, 1]^2."""
    w = np.asarray(w) / np.linalg.norm(w)
    return 1.0 - w


def test_initial_design_holds_the_corners_and_the_floor() -> None:
    design = initial_design(2, 3, floor=0.01, seed=0)
    assert np.allclose(design, [[0.01, 0.99], [0.5, 0.5], [0.99, 0.01]])
    d3 = initial_design(3, 6, floor=0.02, seed=1)
    assert d3.shape == (6, 3) and np.allclose(d3.sum(axis=1), 1) and d3.min() >= 0.02 - 1e-12
    assert len({tuple(np.round(r, 9)) for r in d3}) == 6
    d3b = initial_design(3, 5, floor=0.0, seed=0)  # corners, then the centroid, then Sobol'
    assert np.allclose(sorted(d3b[:3].tolist()), sorted(np.eye(3).tolist())) and np.allclose(d3b[3], 1 / 3)


def test_gaps_are_between_neighbours_largest_first() -> None:
    values = np.array([[0.0, 1.0], [0.9, 0.1], [1.0, 0.0], [0.5, 0.5], [0.95, 0.95]])  # last is dominated
    gaps = frontier_gaps(values)
    assert {(min(g.a, g.b), max(g.a, g.b)) for g in gaps} == {(0, 3), (1, 3), (1, 2)}
    assert {min(gaps[0].a, gaps[0].b), max(gaps[0].a, gaps[0].b)} in ({0, 3}, {1, 3})
    assert gaps[-1].size == pytest.approx(np.hypot(0.1, 0.1))


def test_linear_two_tasks_proposes_the_normal_of_the_segment() -> None:
    values = np.array([[0.0, 1.0], [1.0, 0.0]])
    weights = np.array([[0.99, 0.01], [0.01, 0.99]])
    out = propose("linear", weights, values, n=1, floor=0.0, tolerance=0.01)
    assert np.allclose(out.weights, [[0.5, 0.5]])
    steep = np.array([[0.0, 3.0], [1.0, 0.0]])  # slope -3: normal (3, 1)
    out = propose("linear", weights, steep, n=1, floor=0.0, tolerance=0.01)
    assert np.allclose(out.weights, [[0.75, 0.25]])


def test_tchebycheff_aims_through_the_gap_midpoint_from_the_ideal_point() -> None:
    values = np.array([[0.0, 1.0], [1.0, 0.0]])
    out = propose("tchebycheff", np.array([[0.99, 0.01], [0.01, 0.99]]), values, n=1, floor=0.0, tolerance=0.01, ideal=[0, 0])
    assert np.allclose(out.weights, [[0.5, 0.5]])
    values = np.array([[0.0, 1.0], [0.2, 0.0]])  # midpoint (0.1, 0.5): w ∝ (10, 2)
    out = propose("tchebycheff", np.array([[0.99, 0.01], [0.01, 0.99]]), values, n=1, floor=0.0, tolerance=0.01, ideal=[0, 0])
    assert np.allclose(out.weights, [[10 / 12, 2 / 12]])


def test_a_tried_weight_closes_its_gap() -> None:
    values = np.array([[0.0, 1.0], [1.0, 0.0]])
    weights = np.array([[0.99, 0.01], [0.5, 0.5]])  # the normal (0.5, 0.5) was tried already
    out = propose("linear", weights, values, n=2, floor=0.0, tolerance=0.01)
    assert out.weights.shape == (0, 2) and out.converged
    ends = np.array([[0.99, 0.01], [0.01, 0.99]])
    pending = propose("linear", ends, values, n=2, floor=0.0, tolerance=0.01, avoid=np.array([[0.5, 0.5]]))
    assert pending.converged  # the only gap's weight is pending: nothing new to propose


def test_floor_is_applied_to_proposals() -> None:
    values = np.array([[0.0, 100.0], [1.0, 0.0]])  # normal (100, 1) → below the floor without it
    out = propose("linear", np.array([[0.99, 0.01], [0.01, 0.99]]), values, n=1, floor=0.05, tolerance=0.01)
    assert out.weights.min() >= 0.05 - 1e-9 and np.isclose(out.weights.sum(), 1)


@pytest.mark.parametrize(("scalarizer", "oracle"), [("tchebycheff", circle_tchebycheff), ("linear", convex_linear)])
def test_refinement_closes_every_gap_and_stops_early(scalarizer: str, oracle) -> None:
    sampler = AdaptiveSampler(m=2, scalarizer=scalarizer, n_weights=200, tolerance=0.1, batch=2, floor=0.01)
    ws, fs = run(sampler, oracle)
    assert sampler.converged and len(ws) < 200  # stopped early, before the budget
    order = np.argsort(fs[:, 0])
    steps = np.linalg.norm(np.diff(fs[order], axis=0), axis=1)
    assert steps.max() < 0.1  # every gap (front spans 0..1 in each objective) is below the tolerance
    assert len({tuple(np.round(w, 6)) for w in ws}) == len(ws)  # no weight vector twice


def test_budget_is_never_exceeded_and_rounds_are_at_most_batch() -> None:
    sampler = AdaptiveSampler(m=2, scalarizer="tchebycheff", n_weights=9, n_initial=3, tolerance=1e-6, batch=2)
    sizes = []
    while len(batch := sampler.next_round()):
        sizes.append(len(batch))
        for w in batch:
            sampler.tell(w, circle_tchebycheff(w))
    assert sizes == [3, 2, 2, 2] and sampler.proposed == 9 and not sampler.converged


def test_failed_trials_are_ignored_but_their_weights_are_not_retried() -> None:
    def flaky(w: np.ndarray) -> np.ndarray:
        return np.array([np.nan, np.nan]) if 0.3 < w[0] < 0.7 else circle_tchebycheff(w)

    sampler = AdaptiveSampler(m=2, scalarizer="tchebycheff", n_weights=40, tolerance=0.05, batch=1)
    ws, fs = run(sampler, flaky)
    tried = {tuple(np.round(w, 6)) for w in ws}
    assert len(tried) == len(ws)  # a failed weight vector is never proposed again
    ok = np.isfinite(fs).all(axis=1)
    assert ok.sum() >= 8  # the gap the failed middle left is still refined from its sides
    assert sampler.converged and len(ws) < 40  # and the hole failures leave is not chased for ever


def test_three_tasks_refines_with_nearest_neighbour_gaps() -> None:
    def sphere(w: np.ndarray) -> np.ndarray:
        d = 1.0 / np.asarray(w)
        return d / np.linalg.norm(d)

    sampler = AdaptiveSampler(m=3, scalarizer="smooth_tchebycheff", n_weights=20, batch=3, floor=0.02)
    ws, fs = run(sampler, sphere)
    assert len(ws) == 20 and ws.min() >= 0.02 - 1e-9 and np.allclose(ws.sum(axis=1), 1)
    lin = AdaptiveSampler(m=3, scalarizer="linear", n_weights=10, batch=2)
    ws, _ = run(lin, lambda w: 1.0 - np.asarray(w) / np.linalg.norm(w))
    assert 4 <= len(ws) <= 10


@pytest.mark.parametrize(
    ("sampler", "budget", "field"),
    [
        ({"name": "adaptive", "tolerance": 0}, {}, "sampler.tolerance"),
        ({"name": "adaptive", "tolerance": -0.1}, {}, "sampler.tolerance"),
        ({"name": "adaptive", "n_initial": 20}, {"n_weights": 10}, "sampler.n_initial"),
        ({"name": "adaptive", "n_initial": 1}, {"n_weights": 10}, "sampler.n_initial"),
        ({"name": "adaptive", "batch": 0}, {}, "sampler.batch"),
    ],
)
def test_bad_adaptive_settings_name_the_field(sampler: dict, budget: dict, field: str) -> None:
    spec = {"problem": {"name": "fonseca"}, "sampler": sampler, "budget": budget}
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        paretosweep.plan(spec)


def test_budget_smaller_than_the_initial_design_is_refused_before_training() -> None:
    with pytest.raises(ConfigError, match=r"larger than the budget `budget\.n_weights`"):
        paretosweep.plan({"problem": {"name": "fonseca"}, "sampler": {"name": "adaptive", "n_initial": 5}, "budget": {"n_weights": 4}})


def test_plan_lists_only_the_initial_design() -> None:
    plan = paretosweep.plan(
        {
            "problem": {"name": "fonseca"},
            "sampler": {"name": "adaptive", "n_initial": 4},
            "budget": {"n_weights": 12, "seeds_per_weight": 2},
        }
    )
    assert len(plan.weights) == 4 and len(plan.trials) == 8
    spec = paretosweep.api.as_spec({"problem": {"name": "fonseca"}, "sampler": {"name": "adaptive"}})
    assert np.allclose(make_sampler(spec, [("f1_loss", "min"), ("f2_loss", "min")]).planned, initial_design(2, 3, floor=0.01, seed=0))


def test_unknown_scalarizer_is_refused() -> None:
    with pytest.raises(ConfigError, match="scalarizers"):
        AdaptiveSampler(m=2, scalarizer="pcgrad", n_weights=4)


def test_adaptive_settings_on_another_sampler_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"sampler\.tolerance.*only read by sampler `adaptive`"):
        paretosweep.plan({"problem": {"name": "fonseca"}, "sampler": {"name": "sobol", "tolerance": 0.1}})
