"""Exact fronts of the analytic problems: non-dominated, undominated by dense grids, their shape."""

from __future__ import annotations

import math

import moocore
import numpy as np
import pytest
import torch

from paretosweep.problems import make_problem
from paretosweep.problems._cagrad_toy import PAPER_STARTS, pareto_set, toy_objectives

TOL = 1e-8


def dominated_by_grid(front: np.ndarray, grid: np.ndarray, tol: float = TOL) -> int:
    """How many grid points dominate some front point by more than ``tol`` in both objectives.

    ``front`` is a 2-D minimisation front sorted by f1 ascending (so f2 descending): among the
    front points with ``f1 > g1 + tol``, the first has the largest f2.
    """
    idx = np.searchsorted(front[:, 0], grid[:, 0] + tol, side="right")
    inside = idx < len(front)
    return int(np.sum(front[idx[inside], 1] > grid[inside, 1] + tol))


def slopes(front: np.ndarray) -> np.ndarray:
    return np.diff(front[:, 1]) / np.diff(front[:, 0])


# --- cagrad_toy ---------------------------------------------------------------------------------


def reference_toy(x1: float, x2: float) -> tuple[float, float]:
    """The toy written out with ``math``, term by term as in the module docstring."""
    f1t = math.log(max(abs(0.5 * (-x1 - 7) - math.tanh(-x2)), 5e-6)) + 6
    f2t = math.log(max(abs(0.5 * (-x1 + 3) + math.tanh(-x2) + 2), 5e-6)) + 6
    g1 = ((-x1 + 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    g2 = ((-x1 - 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    c1, c2 = max(math.tanh(0.5 * x2), 0.0), max(math.tanh(-0.5 * x2), 0.0)
    return c1 * f1t + c2 * g1, c1 * f2t + c2 * g2


@pytest.mark.parametrize("x", [(0.0, 0.0), (-8.5, 7.5), (9.0, 9.0), (-8.5, -5.0), (3.0, -8.4), (-7.0, 1e-3)])
def test_toy_objectives_follow_the_formulas(x: tuple[float, float]) -> None:
    got = toy_objectives(torch.tensor(x, dtype=torch.float64)).tolist()
    assert got == pytest.approx(reference_toy(*x), abs=1e-12)


def test_toy_front_is_non_dominated_convex_and_connected() -> None:
    front = make_problem("cagrad_toy", {}).exact_front(2000)
    points = front.points
    assert points.shape == (2000, 2) and front.columns == ("f1_loss", "f2_loss")
    assert moocore.is_nondominated(points).all()
    assert (np.diff(points[:, 0]) > 0).all() and (np.diff(points[:, 1]) < 0).all()
    assert (np.diff(slopes(points)) > 0).all()  # f2(f1) convex: linear scalarization reaches it all
    assert np.hypot(*np.diff(points, axis=0).T).max() < 0.05  # no gap where a concave part could hide
    assert (points < np.array(front.reference_point)).all()
    assert points[0] == pytest.approx([-19.98942514, -0.3979395])


def test_toy_pareto_set_is_where_the_docstring_says() -> None:
    x = pareto_set(np.array([-7.0, 0.0, 7.0]))
    assert x[:, 1] == pytest.approx([-8.43446, -8.35511, -8.43446], abs=1e-5)
    # stationary in x2: nudging x2 either way raises the equal-weights objective
    mean_loss = lambda x1, x2: sum(reference_toy(x1, x2)) / 2
    assert mean_loss(0.0, x[1, 1]) < min(mean_loss(0.0, x[1, 1] - 1e-3), mean_loss(0.0, x[1, 1] + 1e-3))


@pytest.mark.parametrize(
    ("box", "n"),
    [((-12, 12, -12, 12), 1201), ((-8, 8, -9.5, -7.5), 1201), ((-200, 200, -200, 200), 801)],
)
def test_no_point_of_a_dense_grid_dominates_the_toy_front(box: tuple[float, ...], n: int) -> None:
    points = make_problem("cagrad_toy", {}).exact_front(2000).points
    x1, x2 = np.meshgrid(np.linspace(box[0], box[1], n), np.linspace(box[2], box[3], n))
    grid = toy_objectives(torch.as_tensor(np.stack([x1.ravel(), x2.ravel()], -1))).numpy()
    assert dominated_by_grid(points, grid) == 0


def test_toy_front_is_tight_the_grid_comes_close() -> None:
    """The best grid points lie within a grid step of the front (the front is not too optimistic)."""
    points = make_problem("cagrad_toy", {}).exact_front(500).points
    x1, x2 = np.meshgrid(np.linspace(-7, 7, 701), np.linspace(-9, -8, 201))
    grid = toy_objectives(torch.as_tensor(np.stack([x1.ravel(), x2.ravel()], -1))).numpy()
    kept = grid[moocore.is_nondominated(grid)]
    distance = np.min(np.linalg.norm(kept[:, None, :] - points[None], axis=-1), axis=1)
    assert distance.max() < 0.05


def test_toy_starts() -> None:
    paper = make_problem("cagrad_toy", {"init": "paper"})
    assert [tuple(paper.make_model(seed=s).x.tolist()) for s in range(6)] == list(PAPER_STARTS)
    uniform = make_problem("cagrad_toy", {"init_range": 10.0})
    starts = torch.stack([uniform.make_model(seed=s).x for s in range(50)])
    assert starts.abs().max() <= 10.0 and starts.std() > 3.0
    assert uniform.tasks[0].loss_lower_bound == pytest.approx(-19.98942514)


# --- fonseca ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_dim", [1, 3, 10])
def test_fonseca_front_is_non_dominated_concave_and_on_the_formula(n_dim: int) -> None:
    problem = make_problem("fonseca", {"n_dim": n_dim})
    front = problem.exact_front(1000)
    points = front.points
    assert moocore.is_nondominated(points).all()
    middle = (points[:, 0] > 0.083) & (points[:, 1] > 0.083)  # between the two inflection points
    assert (np.diff(slopes(points[middle])) < 0).all()  # concave there
    assert (np.diff(slopes(points[points[:, 0] < 0.08])) > 0).all()  # convex end stretch
    t = np.linspace(1, -1, 1000) / math.sqrt(n_dim)
    expected_f1 = 1 - np.exp(-n_dim * (t - 1 / math.sqrt(n_dim)) ** 2)
    assert points[:, 0] == pytest.approx(expected_f1)
    assert (points < np.array(front.reference_point)).all()


def test_linear_scalarization_reaches_only_the_ends_of_the_fonseca_front() -> None:
    points = make_problem("fonseca", {}).exact_front(20001).points
    weights = np.linspace(0, 1, 2001)[:, None]
    reached = points[np.unique(np.argmin(weights * points[:, 0] + (1 - weights) * points[:, 1], axis=1))]
    assert reached.min(axis=1).max() < 0.0019  # every weighted-sum optimum sits next to an end point


def test_no_random_point_dominates_the_fonseca_front() -> None:
    problem = make_problem("fonseca", {"n_dim": 3})
    points = problem.exact_front(4000).points
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.uniform(-1.5, 1.5, size=(200_000, 3)))
    near = x.mean(dim=1, keepdim=True) + torch.as_tensor(rng.normal(0, 0.05, size=(200_000, 3)))  # near the set
    grid = problem.objectives(torch.cat([x, near])).numpy()
    assert dominated_by_grid(points, grid) == 0
