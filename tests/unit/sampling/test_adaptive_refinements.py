"""The adaptive sampler's refinements: knee, crowded parts, focus region, noise (pure numpy, no Ray)."""

from __future__ import annotations

import numpy as np
import pytest

import paretosweep
from paretosweep.errors import ConfigError, UnknownNameError
from paretosweep.sampling import AdaptiveSampler, parse_focus, propose
from paretosweep.sampling._dense import crowding, knee_distances
from paretosweep.sampling._noise import near_misses, per_weight
from tests.unit.sampling.sampler_loop import run

TWO = [("f1_loss", "min"), ("f2_loss", "min")]


def knee_front(w: np.ndarray, p: float = 0.3) -> np.ndarray:
    """Tchebycheff optimum (ideal 0) on the front f1^p + f2^p = 1: a sharp knee at (2^(-1/p), 2^(-1/p))."""
    d = 1.0 / np.asarray(w)
    return d * np.sum(d**p) ** (-1 / p)


def circle(w: np.ndarray) -> np.ndarray:
    d = 1.0 / np.asarray(w)
    return d / np.linalg.norm(d)


# --- knee and crowding ------------------------------------------------------------------------


def test_knee_is_the_point_farthest_beyond_the_extremes_line() -> None:
    z = np.array([[0.0, 1.0], [0.1, 0.2], [0.5, 0.05], [1.0, 0.0]])
    d = knee_distances(z)
    assert int(np.argmax(d)) == 1 and d[1] == pytest.approx((1 - 0.3) / np.sqrt(2))
    assert knee_distances(np.array([[0.0, 1.0], [0.8, 0.8], [1.0, 0.0]])).max() <= 1e-12  # concave: no knee


def test_crowding_is_smallest_where_points_cluster() -> None:
    z = np.array([[0.0, 1.0], [0.50, 0.50], [0.52, 0.48], [0.54, 0.46], [1.0, 0.0]])
    assert int(np.argmin(crowding(z))) == 2


def test_knee_slots_aim_next_to_the_knee_not_at_the_largest_gap() -> None:
    weights = np.array([[0.99, 0.01], [0.5, 0.5], [0.3, 0.7], [0.01, 0.99]])
    values = np.array([[0.0, 1.0], [0.5, 0.45], [0.55, 0.05], [1.0, 0.0]])  # knee at row 2; largest gap: rows 0-1
    plain = propose("tchebycheff", weights, values, n=1, floor=0.0, tolerance=0.01, ideal=[0, 0])
    knee = propose("tchebycheff", weights, values, n=1, floor=0.0, tolerance=0.01, ideal=[0, 0], refine={"knee": 1})
    mid = lambda a, b: 1 / (0.5 * (values[a] + values[b]))
    assert np.allclose(plain.weights[0], mid(0, 1) / mid(0, 1).sum())
    assert np.allclose(knee.weights[0], mid(2, 3) / mid(2, 3).sum())  # the larger of the knee's two gaps


def test_crowded_slots_split_the_gaps_of_the_cluster() -> None:
    weights = np.array([[0.99, 0.01], [0.6, 0.4], [0.55, 0.45], [0.5, 0.5], [0.01, 0.99]])
    values = np.array([[0.0, 1.0], [0.50, 0.50], [0.53, 0.47], [0.56, 0.44], [1.0, 0.0]])
    out = propose("tchebycheff", weights, values, n=1, floor=0.0, tolerance=0.1, ideal=[0, 0], refine={"crowded": 1})
    f = 1 / out.weights[0]
    ray = f / f.sum()  # the aimed direction lies between the cluster's points
    assert 0.50 / 1.0 < ray[0] < 0.56 / 1.0 and out.weights.shape == (1, 2)


def test_knee_share_makes_the_frontier_dense_at_the_knee() -> None:
    """Same budget (30): 4 points near the knee without refinement, 11 with half of each round on it."""
    near = []
    for share in (0.0, 0.5):
        sampler = AdaptiveSampler(m=2, scalarizer="tchebycheff", n_weights=30, batch=2, tolerance=0.02, ideal=[0, 0], knee_share=share)
        _, fs = run(sampler, knee_front)
        near.append(int(np.sum(np.linalg.norm(fs - knee_front(np.array([0.5, 0.5])), axis=1) < 0.05)))
    assert near[1] >= near[0] + 4, near


def test_shares_accumulate_over_rounds() -> None:
    sampler = AdaptiveSampler(m=2, scalarizer="tchebycheff", n_weights=40, batch=2, knee_share=0.25)
    assert [sampler._slots(2)["knee"] for _ in range(4)] == [0, 1, 0, 1]


@pytest.mark.parametrize("shares", [{"knee_share": 0.6, "crowded_share": 0.6}, {"knee_share": -0.1}])
def test_bad_shares_are_refused(shares: dict) -> None:
    with pytest.raises(ConfigError, match=r"sampler\.refine"):
        AdaptiveSampler(m=2, scalarizer="linear", n_weights=10, **shares)


# --- focus region ------------------------------------------------------------------------------


def test_focus_bounds_in_minimisation_form() -> None:
    region = parse_focus(["a_auc >= 0.7", "b_loss < 0.5"], [("a_auc", "max"), ("b_loss", "min")])
    assert np.allclose(region.lower, [-np.inf, -np.inf]) and np.allclose(region.upper, [-0.7, 0.5])
    assert region.contains(np.array([[-0.8, 0.4], [-0.6, 0.4], [-0.8, 0.6]])).tolist() == [True, False, False]
    assert parse_focus("knee", TWO) == "knee" and parse_focus(None, TWO) is None


def test_focus_region_gets_dense() -> None:
    """Circle front, same budget (30): 5 points with f1 <= 0.3 without focus, 16 with it."""
    region = parse_focus(["f1_loss <= 0.3"], TWO)
    counts = []
    for focus in (None, region):
        _, fs = run(
            AdaptiveSampler(m=2, scalarizer="tchebycheff", n_weights=30, batch=2, tolerance=0.02, ideal=[0, 0], focus=focus), circle
        )
        counts.append(int(np.sum(fs[:, 0] <= 0.3)))
    assert counts[1] >= 2 * counts[0], counts


def test_focus_knee_refines_around_the_knee() -> None:
    sampler = AdaptiveSampler(m=2, scalarizer="tchebycheff", n_weights=30, batch=2, tolerance=0.02, ideal=[0, 0], focus="knee")
    _, fs = run(sampler, knee_front)
    assert np.sum(np.linalg.norm(fs - knee_front(np.array([0.5, 0.5])), axis=1) < 0.05) >= 8


def spec_with(focus, *, name: str = "adaptive") -> dict:
    return {"problem": {"name": "recsys"}, "sampler": {"name": name, "focus": focus}, "budget": {"n_weights": 8}}


@pytest.mark.parametrize(
    ("focus", "error", "match"),
    [
        (["purchase_acu >= 0.7"], UnknownNameError, r"sampler\.focus\[0\].*Did you mean `purchase_auc`"),
        (["purchase_auc => 0.7"], ConfigError, r"sampler\.focus\[0\]` should read"),
        (["purchase_auc >= high"], ConfigError, r"sampler\.focus\[0\]` should read"),
        (["click_auc >= 0.8", "click_auc <= 0.6"], ConfigError, r"no point can meet both"),
        (["purchase_auc >= 1.7"], ConfigError, r"lies in \[0, 1\]"),
        (["purchase_loss <= 0.5"], ConfigError, r"not an objective"),
        ([], ConfigError, r"sampler\.focus` is empty"),
    ],
)
def test_bad_focus_is_refused_at_plan_time(focus, error, match: str) -> None:
    with pytest.raises(error, match=match):
        paretosweep.plan(spec_with(focus))


def test_focus_needs_the_adaptive_sampler() -> None:
    with pytest.raises(ConfigError, match=r"sampler\.focus` is only read by sampler `adaptive`"):
        paretosweep.plan(spec_with(["purchase_auc >= 0.7"], name="sobol"))


def test_good_focus_plans() -> None:
    plan = paretosweep.plan(spec_with(["purchase_auc >= 0.7", "click_auc <= 0.9"]))
    assert len(plan.weights) == 4
    assert paretosweep.plan(spec_with("knee")).spec.sampler.focus == "knee"
    assert paretosweep.plan(spec_with("purchase_auc >= 0.7")).spec.sampler.focus == ("purchase_auc >= 0.7",)


# --- noise -------------------------------------------------------------------------------------


def test_the_mean_over_seeds_is_the_weight_vectors_value() -> None:
    w = np.array([[0.5, 0.5], [0.5, 0.5], [0.2, 0.8], [0.9, 0.1], [0.9, 0.1]])
    v = np.array([[0.2, 0.2], [0.6, 0.6], [0.3, 0.5], [np.nan, np.nan], [0.9, 0.1]])
    table = per_weight(w, v)
    assert np.allclose(table.mean, [[0.4, 0.4], [0.3, 0.5], [0.9, 0.1]])
    assert np.allclose(table.spread[0], [0.2, 0.2]) and table.count.tolist() == [2, 1, 1]
    # the lucky seed (0.2, 0.2) alone would dominate (0.3, 0.5); the mean (0.4, 0.4) does not
    out = propose("tchebycheff", w, v, n=3, floor=0.0, tolerance=1e-3, ideal=[0, 0])
    assert out.weights.shape[0] == 2  # two gaps: the three means are all on the frontier


def test_near_misses_are_those_dominated_within_the_noise() -> None:
    mean = np.array([[0.0, 1.0], [0.5, 0.5], [0.51, 0.52], [0.8, 0.8], [1.0, 0.0]])
    front = np.array([0, 1, 4])
    assert near_misses(mean, np.zeros_like(mean), front, margin=0.05) == [(2, pytest.approx(0.02))]
    noisy = np.zeros_like(mean)
    noisy[3] = 0.4  # a seed spread this large covers the 0.3 margin by which (0.8, 0.8) is beaten
    assert [i for i, _ in near_misses(mean, noisy, front, margin=0.05)] == [2, 3]


def test_retests_rerun_near_misses_at_most_retests_times() -> None:
    rng = np.random.default_rng(0)

    def noisy(w: np.ndarray) -> np.ndarray:
        return circle(w) + rng.normal(scale=0.05, size=2)

    sampler = AdaptiveSampler(
        m=2, scalarizer="tchebycheff", n_weights=20, batch=2, tolerance=0.02, ideal=[0, 0], retests=3, retest_margin=0.1
    )
    retested = []
    while len(batch := sampler.next_round()):
        flags = sampler.last_retest
        assert len(flags) == len(batch) and (flags[: (flags == 0).sum()] == 0).all()  # re-tests come last
        retested += [tuple(w) for w, r in zip(batch, flags, strict=True) if r > 0]
        for w in batch:
            sampler.tell(w, noisy(w))
    assert 1 <= len(retested) <= 3 and sampler.retests_used == len(retested)
    assert sampler.proposed == 20  # re-tests come on top of the budget
    assert all(any(np.allclose(r, w) for w in sampler.weights[:-1]) for r in retested)  # an earlier weight vector


def test_no_retests_by_default() -> None:
    sampler = AdaptiveSampler(m=2, scalarizer="tchebycheff", n_weights=10, batch=2)
    while len(batch := sampler.next_round()):
        assert not sampler.last_retest.any()
        for w in batch:
            sampler.tell(w, circle(w) + np.random.default_rng(1).normal(scale=0.05, size=2))


# --- budget ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("problem", "n_weights"), [({"name": "fonseca"}, 2), ({"name": "recsys"}, 3), ({"name": "fonseca"}, 1)])
def test_budget_below_the_default_initial_design_is_refused(problem: dict, n_weights: int) -> None:
    with pytest.raises(ConfigError, match=r"`budget\.n_weights` \(\d+\) is smaller than the adaptive sampler's initial design"):
        paretosweep.plan({"problem": problem, "sampler": {"name": "adaptive"}, "budget": {"n_weights": n_weights}})
