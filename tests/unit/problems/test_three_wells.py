"""The 3-task `three_wells` problem: formula, exact front (non-dominated, tight, shape), training, errors."""

from __future__ import annotations

import math

import moocore
import numpy as np
import pytest
import torch

from paretosweep import simplex
from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError
from paretosweep.planning import TrialConfig
from paretosweep.problems import available_problems, make_problem
from paretosweep.problems._three_wells import _lattice_front, anchors
from paretosweep.trial import train_packed, train_trial

CPU = torch.device("cpu")
TOL = 1e-9


def reference_objectives(x: list[float], width: float = 1.0) -> list[float]:
    """The formula of the module docstring, written out with ``math``."""
    corners = [
        (2 / math.sqrt(3) * math.cos(t), 2 / math.sqrt(3) * math.sin(t)) for t in (math.pi / 2 + 2 * math.pi * i / 3 for i in range(3))
    ]
    out = []
    for a in corners:
        a_full = list(a) + [0.0] * (len(x) - 2)
        d2 = sum((xi - ai) ** 2 for xi, ai in zip(x, a_full))
        out.append(1 - math.exp(-d2 / width))
    return out


def undominated_by(front: np.ndarray, others: np.ndarray, tol: float = TOL) -> bool:
    """No point of ``others`` is better than a front point by more than ``tol`` in every objective."""
    stacked = np.vstack([front - tol, others])
    return bool(moocore.is_nondominated(stacked)[: len(front)].all())


def test_registered_and_listed() -> None:
    assert "three_wells" in available_problems()
    assert "3 tasks" in available_problems()["three_wells"]


@pytest.mark.parametrize("x", [[0.0, 0.0, 0.0], [0.3, -0.7, 0.2], [1.5, 1.0, -1.0]])
@pytest.mark.parametrize("width", [1.0, 3.0])
def test_objectives_follow_the_formula(x: list[float], width: float) -> None:
    problem = make_problem("three_wells", {"n_dim": 3, "width": width})
    got = problem.objectives(torch.tensor(x, dtype=torch.float64)).tolist()
    assert got == pytest.approx(reference_objectives(x, width), abs=1e-12)


def test_anchors_are_an_equilateral_triangle_of_side_two_around_the_origin() -> None:
    a = anchors(4)
    assert a[:, 2:].tolist() == [[0.0, 0.0]] * 3
    sides = [np.linalg.norm(a[i] - a[j]) for i, j in ((0, 1), (1, 2), (0, 2))]
    assert sides == pytest.approx([2.0, 2.0, 2.0])
    assert a.mean(axis=0) == pytest.approx(np.zeros(4), abs=1e-12)


@pytest.mark.parametrize("n_dim", [2, 3, 8])
def test_exact_front_is_the_image_of_the_triangle_and_non_dominated(n_dim: int) -> None:
    problem = make_problem("three_wells", {"n_dim": n_dim})
    front = problem.exact_front(5000)
    points = front.points
    assert points.shape == (simplex.lattice_size(3, 98), 3) and len(points) <= 5000
    assert front.columns == ("f1_loss", "f2_loss", "f3_loss") and front.directions == ("min",) * 3
    assert moocore.is_nondominated(points).all()
    assert (points < np.array(front.reference_point)).all()
    # the same points as mapping the barycentric lattice through the objectives in R^n
    x = torch.as_tensor(simplex.das_dennis(3, 98) @ anchors(n_dim))
    assert points == pytest.approx(problem.objectives(x).numpy(), abs=1e-12)
    c = 1 - math.exp(-4.0)
    assert {tuple(np.round(p, 12)) for p in points[np.isclose(points.min(axis=1), 0.0)]} == {
        (0.0, round(c, 12), round(c, 12)),
        (round(c, 12), 0.0, round(c, 12)),
        (round(c, 12), round(c, 12), 0.0),
    }


def test_front_is_concave_in_the_middle_and_linear_scalarization_reaches_only_the_corners() -> None:
    problem = make_problem("three_wells", {})
    points = problem.exact_front(20000).points
    centre = points[np.argmin(np.ptp(points, axis=1))]
    assert centre == pytest.approx([1 - math.exp(-4 / 3)] * 3, abs=1e-3)
    assert centre.sum() > 2 * (1 - math.exp(-4.0))  # worse than the plane through the three corners
    weights = simplex.das_dennis(3, 60)
    reached = points[np.unique(np.argmin(weights @ points.T, axis=1))]
    assert reached.min(axis=1).max() < 0.01  # every weighted-sum optimum sits next to a corner


def test_each_edge_is_the_fonseca_curve() -> None:
    edge = _lattice_front(1.0, 400)
    on_edge = edge[np.isclose(edge[:, 2], 1 - math.exp(-4.0)) & (edge[:, 0] < 0.99) & (edge[:, 1] < 0.99)]
    fonseca = make_problem("fonseca", {"n_dim": 1}).exact_front(20001).points
    # every edge point lies on Fonseca's curve: f2 interpolated at its f1
    order = np.argsort(fonseca[:, 0])
    assert on_edge[:, 1] == pytest.approx(np.interp(on_edge[:, 0], fonseca[order, 0], fonseca[order, 1]), abs=1e-5)


def test_no_point_of_the_decision_space_dominates_the_front() -> None:
    problem = make_problem("three_wells", {"n_dim": 3})
    points = problem.exact_front(5000).points
    rng = np.random.default_rng(0)
    wide = rng.uniform(-2.0, 2.0, size=(100_000, 3))
    on_plane = rng.dirichlet(np.ones(3), size=100_000) @ anchors(3)  # near the Pareto set
    near = on_plane + rng.normal(0, 0.05, size=on_plane.shape)
    others = problem.objectives(torch.as_tensor(np.vstack([wide, near]))).numpy()
    assert undominated_by(points, others)


def test_front_is_tight_random_points_of_the_triangle_come_close() -> None:
    problem = make_problem("three_wells", {"n_dim": 3})
    points = problem.exact_front(5000).points
    rng = np.random.default_rng(1)
    x = rng.dirichlet(np.ones(3), size=2000) @ anchors(3)
    images = problem.objectives(torch.as_tensor(x)).numpy()
    assert moocore.is_nondominated(np.vstack([images, points])).all()  # Pareto-optimal, like the lattice
    distance = np.min(np.linalg.norm(images[:, None, :] - points[None], axis=-1), axis=1)
    assert distance.max() < 0.02


def test_front_hypervolume_is_the_limit_of_finer_lattices() -> None:
    problem = make_problem("three_wells", {})
    exact = problem.front_hypervolume()
    samples = [moocore.hypervolume(_lattice_front(1.0, h), ref=[1.0, 1.0, 1.0]) for h in (50, 100, 200)]
    assert samples[0] < samples[1] < samples[2] < exact  # a point sample misses the staircase
    assert 0.45 < (exact - samples[2]) / (exact - samples[1]) < 0.55  # error ~ c/H: halves when H doubles
    assert problem.front_hypervolume(100) == pytest.approx(exact, rel=5e-5)  # extrapolations agree
    assert f"{exact:.6f}" in problem.exact_front(100).notes


@pytest.mark.parametrize("weights", [(1 / 3, 1 / 3, 1 / 3), (0.6, 0.3, 0.1), (0.05, 0.15, 0.8)])
def test_trained_trials_land_on_the_front(weights: tuple[float, ...]) -> None:
    problem = make_problem("three_wells", {"n_dim": 3})
    spec = SweepSpec.model_validate(
        {"problem": {"name": "three_wells"}, "scalarizer": {"name": "tchebycheff"}, "budget": {"epochs": 6, "lr": 0.02}}
    )
    outcome = train_trial(problem, TrialConfig("s-test", "scalarization", weights, 0, 0.02), spec, device=CPU)
    assert outcome.status == "completed"
    value = np.array([outcome.metrics[c] for c in ("f1_loss", "f2_loss", "f3_loss")])
    points = problem.exact_front(20000).points
    assert np.min(np.linalg.norm(points - value, axis=1)) < 0.01
    if len(set(weights)) == 1:  # Tchebycheff, ideal 0, equal weights: the centre of the front
        assert value == pytest.approx([1 - math.exp(-4 / 3)] * 3, abs=0.01)


def test_packed_training_matches_a_trial_alone() -> None:
    problem = make_problem("three_wells", {})
    spec = SweepSpec.model_validate(
        {"problem": {"name": "three_wells"}, "scalarizer": {"name": "tchebycheff"}, "budget": {"epochs": 2, "steps_per_epoch": 8}}
    )
    trials = [TrialConfig(f"s-{i}", "scalarization", w, 3, 0.02) for i, w in enumerate([(0.2, 0.3, 0.5), (0.6, 0.2, 0.2)])]
    for trial, packed in zip(trials, train_packed(problem, trials, spec, device=CPU), strict=True):
        alone = train_trial(problem, trial, spec, device=CPU)
        assert packed.metrics == pytest.approx(alone.metrics, rel=1e-4)


def test_every_parameter_is_shared() -> None:
    problem = make_problem("three_wells", {"n_dim": 5})
    model = problem.make_model(seed=0)
    assert list(problem.shared_parameters(model)) == [model.x] and model.x.shape == (5,)
    assert model.x.abs().max() <= 1.0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"n_dim": 1}, "n_dim"),
        ({"n_dim": 2.5}, "n_dim"),
        ({"width": 0.0}, "width"),
        ({"width": -1.0}, "width"),
        ({"width": float("nan")}, "width"),
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
        ({"init_range": 0.0}, "init_range"),
        ({"widht": 2.0}, "widht"),
    ],
)
def test_bad_params_name_the_field(params: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_problem("three_wells", params)
    assert f"`problem.params.{field}`" in str(info.value)
