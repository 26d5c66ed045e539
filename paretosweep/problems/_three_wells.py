"""Three Gaussian wells: a 3-task analytic problem whose exact Pareto front is known.

The 3-objective member of the family of Fonseca & Fleming's problem (C. M. Fonseca and
P. J. Fleming, "An Overview of Evolutionary Algorithms in Multiobjective Optimization",
Evolutionary Computation 3(1), 1995, https://doi.org/10.1162/evco.1995.3.1.1), whose two
objectives are Gaussian wells around two points. Objectives that grow with the distance to given
points are the classic "distance minimisation" test problems for many objectives (e.g. M. Köppen
and K. Yoshida, "Substitute Distance Assignments in NSGA-II for Handling Many-Objective
Optimization Problems", EMO 2007, LNCS 4403; H. Ishibuchi et al., "Many-Objective Test Problems
to Visually Examine the Behavior of Multiobjective Evolution in a Decision Space", PPSN 2010),
because their Pareto set is the convex hull of the points.

.. math::

    f_i(x) = 1 - \\exp\\big(-\\lVert x - a_i \\rVert^2 / s\\big), \\qquad i = 1, 2, 3,

with ``x in R^n`` (``n >= 2``), width ``s > 0``, and the anchors ``a_i`` the corners of an
equilateral triangle of side 2 centred at the origin in the first two coordinates:
``a_i = (2/sqrt 3) (cos t_i, sin t_i, 0, ..., 0)``, ``t_i = pi/2 + 2 pi i / 3``.

**Pareto set = the triangle conv(a_1, a_2, a_3).** Each ``f_i`` is a strictly increasing
function of ``d_i = ||x - a_i||``, so dominance in ``f`` is dominance in ``d``.
(i) A point ``x`` outside the triangle ``T`` is dominated by its projection ``p`` onto ``T``:
for every ``a`` in ``T``, ``||p - a||^2 <= ||x - a||^2 - ||x - p||^2 < ||x - a||^2``.
(ii) A point ``x = sum_i l_i a_i`` of ``T`` (``l`` on the simplex) is dominated by no ``y = x + v``:
``d_i(y) <= d_i(x)`` for all ``i`` means ``||v||^2 + 2 <v, x - a_i> <= 0``; the ``l``-weighted sum
of these is ``||v||^2 + 2 <v, x - sum_i l_i a_i> = ||v||^2 <= 0``, so ``v = 0``. Distinct points of
``T`` thus have distinct images, and the exact front is the image of ``T`` — a curved triangle
with corners ``(0, c, c)``, ``(c, 0, c)``, ``(c, c, 0)``, ``c = 1 - exp(-4/s)``. Each edge is the
Fonseca-Fleming curve (for ``s = 1``): along ``a_i -> a_j`` the two distances are ``1 -+ u``.

**Shape (s = 1, measured on the exact front, see the tests): concave** in the middle — the centroid
maps to ``1 - exp(-4/3) = 0.736`` in every objective, worse than the plane through the three corners
(``2c/3 = 0.654``) — with short convex stretches next to the corners, as on Fonseca's curve. Linear
scalarization therefore reaches only points next to the corners; Tchebycheff reaches all of it.
A larger ``s`` flattens the wells: as ``s -> inf``, ``f_i ~ d_i^2 / s`` and the front becomes convex.

**Hypervolume.** A point sample of a 3-D front misses the "staircase" between its points, an error
of order ``1/H`` for the barycentric lattice with ``H`` divisions (1.25 % at ``H = 200``, 20,301
points; 0.63 % at ``H = 400``), so :meth:`ThreeWells.front_hypervolume` gives the hypervolume of the
continuous front, 0.095291 at (1, 1, 1), by Richardson extrapolation, ``2 HV(2H) - HV(H)`` (the
estimates from ``H = 200, 400`` and ``400, 800`` agree to 6e-6, relative). Even points *on* the
front need ``H > 250`` (more than 31,000 points) to hold 99 % of it.
"""

from __future__ import annotations

import functools
import math

import moocore
import numpy as np
import torch

from paretosweep import simplex
from paretosweep.problems._analytic import AnalyticProblem
from paretosweep.problems._common import check_float, check_int
from paretosweep.problems._protocol import ExactFront, Metric, TaskSpec, column
from paretosweep.problems._registry import register_problem

TASKS = ("f1", "f2", "f3")
_COLUMNS = tuple(column(t, "loss") for t in TASKS)
_LOSS = (Metric("loss", "min"),)
#: Side of the anchor triangle (the distance between two anchors, as in Fonseca-Fleming).
SIDE = 2.0
REFERENCE_POINT = (1.0, 1.0, 1.0)


def anchors(n_dim: int) -> np.ndarray:
    """``[3, n_dim]``: the corners of the equilateral triangle of side 2 in the first two coordinates."""
    angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    out = np.zeros((3, n_dim))
    out[:, 0] = SIDE / math.sqrt(3) * np.cos(angles)
    out[:, 1] = SIDE / math.sqrt(3) * np.sin(angles)
    return out


def _lattice_front(width: float, divisions: int) -> np.ndarray:
    """``[(H+1)(H+2)/2, 3]``: the images of the barycentric lattice of the triangle (``H`` divisions)."""
    points = simplex.das_dennis(3, divisions) @ anchors(2)  # the wells only see the triangle's plane
    d2 = ((points[:, None, :] - anchors(2)[None]) ** 2).sum(-1)
    return -np.expm1(-d2 / width)


@functools.lru_cache(maxsize=8)
def _front_hypervolume(width: float, divisions: int) -> float:
    coarse = moocore.hypervolume(_lattice_front(width, divisions), ref=REFERENCE_POINT)
    fine = moocore.hypervolume(_lattice_front(width, 2 * divisions), ref=REFERENCE_POINT)
    return float(2 * fine - coarse)


class ThreeWells(AnalyticProblem):
    """Three wells as a Problem: the model is the decision vector ``x`` (``[n_dim]``)."""

    name = "three_wells"

    def __init__(self, *, n_dim: int, width: float, steps_per_epoch: int, init_range: float) -> None:
        self.n_dim = n_dim
        self.width = width
        self.steps_per_epoch = steps_per_epoch
        self.init_range = init_range
        self.anchors = torch.as_tensor(anchors(n_dim), dtype=torch.float64)
        self.tasks = tuple(TaskSpec(t, _LOSS, 0.0) for t in TASKS)
        self.default_reference_point = dict(zip(_COLUMNS, REFERENCE_POINT, strict=True))

    def initial_x(self, seed: int) -> torch.Tensor:
        """``x ~ U[-init_range, init_range]^n_dim``, drawn from ``seed``."""
        return self.uniform_start(seed, self.n_dim, self.init_range)

    def objectives(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., n] -> [..., 3]``: ``f_i = 1 - exp(-||x - a_i||^2 / s)``."""
        d2 = ((x.unsqueeze(-2) - self.anchors.to(x.dtype)) ** 2).sum(dim=-1)
        return -torch.expm1(-d2 / self.width)

    def exact_front(self, n_points: int = 1000) -> ExactFront:
        """The images of the barycentric lattice of the triangle with the most points ``<= n_points``.

        ``H`` divisions give ``(H+1)(H+2)/2`` points (at least the 3 corners), every one on the
        exact front (see the module docstring).
        """
        divisions = 1
        while simplex.lattice_size(3, divisions + 1) <= n_points:
            divisions += 1
        return ExactFront(
            columns=_COLUMNS,
            directions=("min", "min", "min"),
            points=_lattice_front(self.width, divisions),
            reference_point=REFERENCE_POINT,
            notes=f"Image of the anchor triangle ({simplex.lattice_size(3, divisions)}-point lattice); "
            f"concave in the middle for width 1. Continuous front's hypervolume at (1, 1, 1): "
            f"{self.front_hypervolume():.6f} (a point sample has less: 3-D staircase error ~ 1/H).",
            hypervolume=self.front_hypervolume(),
        )

    def front_hypervolume(self, divisions: int = 400) -> float:
        """Hypervolume of the continuous front at (1, 1, 1): ``2 HV(lattice 2H) - HV(lattice H)``.

        The staircase error of an ``H``-division lattice is ``c/H + O(1/H^2)``, so the Richardson
        extrapolation cancels its leading term (``H = 400`` takes about a second, then cached).
        """
        return _front_hypervolume(self.width, divisions)


@register_problem("three_wells")
def make_three_wells(*, n_dim: int = 3, width: float = 1.0, steps_per_epoch: int = 50, init_range: float = 1.0) -> ThreeWells:
    """Three Gaussian wells (3 tasks): Pareto set a triangle, exact curved front, concave in the middle.

    Args:
        n_dim: number of decision variables ``n`` (>= 2: the anchors span a plane).
        width: ``s`` in ``1 - exp(-||x - a_i||^2 / s)``; 1 makes each edge the Fonseca-Fleming
            curve, larger values flatten the wells (the front turns convex).
        steps_per_epoch: optimisation steps per "epoch" (there is no data to iterate).
        init_range: ``x`` starts uniform in ``[-init_range, init_range]^n`` (from the trial seed).
            Far from the anchors every objective is flat, so keep it small.

    Returns:
        The problem; tasks ``f1``, ``f2``, ``f3`` with metric ``loss`` (min), reference point (1, 1, 1).
    """
    return ThreeWells(
        n_dim=check_int("n_dim", n_dim, low=2),
        width=check_float("width", width, low=0.0, high=1e3, low_open=True),
        steps_per_epoch=check_int("steps_per_epoch", steps_per_epoch, low=1),
        init_range=check_float("init_range", init_range, low=0.0, high=1e3, low_open=True),
    )
