"""The two-task toy of CAGrad and Nash-MTL: x in R^2, two losses whose gradients conflict.

B. Liu, X. Liu, X. Jin, P. Stone, Q. Liu, "Conflict-Averse Gradient Descent for Multi-task
Learning", NeurIPS 2021, https://arxiv.org/abs/2110.14048 (code: github.com/Cranial-XIX/CAGrad,
``toy.py``); reused by A. Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022,
https://arxiv.org/abs/2202.01017 (code: github.com/AvivNavon/nash-mtl, ``experiments/toy``).

.. math::

    \\tilde f_1 = \\log\\max(|0.5(-x_1-7) - \\tanh(-x_2)|, 5\\cdot10^{-6}) + 6, \\quad
    \\tilde f_2 = \\log\\max(|0.5(-x_1+3) + \\tanh(-x_2) + 2|, 5\\cdot10^{-6}) + 6,

    g_1 = ((-x_1+7)^2 + 0.1(-x_2-8)^2)/10 - 20, \\quad g_2 = ((-x_1-7)^2 + 0.1(-x_2-8)^2)/10 - 20,

    c_1 = \\max(\\tanh(x_2/2), 0), \\quad c_2 = \\max(\\tanh(-x_2/2), 0), \\quad
    f_i = c_1 \\tilde f_i + c_2 g_i.

The sign of ``tanh(-x2)`` in ``f2~`` is ``+``, as in both papers' public code (some write-ups
print ``-``). ``f~`` only shapes the upper half-plane; the Pareto set lies in the lower one.

**Exact front.** For ``x2 < 0``, ``c1 = 0`` and ``f_i = t (q_i + s)`` with ``t = tanh(-x2/2)``,
``q_1 = (x1-7)^2/10``, ``q_2 = (x1+7)^2/10``, ``s = (x2+8)^2/100 - 20``. For a weight ``w`` on
``f1``, ``w f1 + (1-w) f2`` is minimised over ``x1`` at ``x1 = 7(2w-1)`` for every ``x2``, where
``w q1 + (1-w) q2 = (49 - x1^2)/10``; the Pareto set is thus the curve
``{(x1, x2*(x1)) : x1 in [-7, 7]}`` with ``x2*(x1) = argmin_{x2} tanh(-x2/2) ((49-x1^2)/10 + s(x2))``,
found here by bisection on the derivative in ``(-12, -8)``: ``x2* = -8.3551`` at ``x1 = 0`` (the
minimiser of the mean loss, which CAGrad's plot marks at ``x2 = -8.3552``) and ``-8.4345`` at
``x1 = +-7``. Values of the upper half-plane are ``>= log(5e-6) + 6 = -6.2`` while the front
reaches ``-19.989``; the test suite checks on dense grids that no point of the plane dominates it.
(The Pareto set is *not* at ``x2 -> +inf``: there ``c1 -> 1`` but ``f~_i >= -6.2``.)

**Shape: the front is convex** (every point minimises some weighted sum; the curve
``f2(f1)`` has increasing slope), so linear scalarization can reach all of it. It spans
``f_i in [-19.989, -0.398]``; the reference point is ``(0, 0)``, the value at ``x2 = 0``.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import torch

from paretosweep.errors import ConfigError
from paretosweep.problems._analytic import AnalyticProblem
from paretosweep.problems._common import check_float, check_int
from paretosweep.problems._protocol import ExactFront, Metric, TaskSpec, column
from paretosweep.problems._registry import register_problem

LOWER = 5e-6
#: Fixed starts of CAGrad's toy.py (first three) and the extra ones of Nash-MTL's experiments/toy.
PAPER_STARTS = ((-8.5, 7.5), (-8.5, -5.0), (9.0, 9.0), (0.0, 0.0), (-7.5, -0.5), (9.0, -1.0))
_COLUMNS = (column("f1", "loss"), column("f2", "loss"))


def toy_objectives(x: torch.Tensor) -> torch.Tensor:
    """``[..., 2] -> [..., 2]``: ``(f1, f2)`` of the CAGrad toy at ``x = (x1, x2)``."""
    x1, x2 = x[..., 0], x[..., 1]
    f1_log = torch.clamp((0.5 * (-x1 - 7) - torch.tanh(-x2)).abs(), min=LOWER).log() + 6
    f2_log = torch.clamp((0.5 * (-x1 + 3) + torch.tanh(-x2) + 2).abs(), min=LOWER).log() + 6
    g1 = ((-x1 + 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    g2 = ((-x1 - 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    c1 = torch.clamp(torch.tanh(0.5 * x2), min=0)
    c2 = torch.clamp(torch.tanh(-0.5 * x2), min=0)
    return torch.stack([c1 * f1_log + c2 * g1, c1 * f2_log + c2 * g2], dim=-1)


def pareto_set(x1: np.ndarray, iterations: int = 80) -> np.ndarray:
    """``[n] -> [n, 2]``: the Pareto-optimal ``(x1, x2*(x1))`` for ``x1`` in ``[-7, 7]``.

    ``x2*`` is the root in ``(-12, -8)`` of ``d/dx2 [tanh(-x2/2) (b + s(x2))]`` with
    ``b = (49 - x1^2)/10``, found by bisection (the derivative is > 0 at -8 and < 0 at -12).
    """
    b = (49.0 - x1**2) / 10.0
    lo, hi = np.full_like(b, -12.0), np.full_like(b, -8.0)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        t = np.tanh(-mid / 2)
        derivative = -0.5 * (1 - t**2) * (b + (mid + 8) ** 2 / 100 - 20) + t * 0.02 * (mid + 8)
        hi = np.where(derivative > 0, mid, hi)
        lo = np.where(derivative > 0, lo, mid)
    return np.stack([x1, 0.5 * (lo + hi)], axis=-1)


@functools.lru_cache(maxsize=4)
def _front_points(n_points: int) -> np.ndarray:
    x = pareto_set(np.linspace(7.0, -7.0, n_points))  # f1 ascending
    points = toy_objectives(torch.as_tensor(x, dtype=torch.float64)).numpy()
    points.flags.writeable = False
    return points


class CAGradToy(AnalyticProblem):
    """The CAGrad toy as a Problem: the model is the point ``x`` (``[2]``)."""

    name = "cagrad_toy"

    def __init__(self, *, steps_per_epoch: int, init: Literal["uniform", "paper"], init_range: float) -> None:
        self.steps_per_epoch = steps_per_epoch
        self.init = init
        self.init_range = init_range
        ideal = float(_front_points(3)[0, 0])  # each task's minimum: an end point of the front
        self.tasks = (
            TaskSpec("f1", (Metric("loss", "min"),), ideal),
            TaskSpec("f2", (Metric("loss", "min"),), ideal),
        )
        self.default_reference_point = {c: 0.0 for c in _COLUMNS}

    def objectives(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., 2] -> [..., 2]``: :func:`toy_objectives`."""
        return toy_objectives(x)

    def initial_x(self, seed: int) -> torch.Tensor:
        """Uniform in ``[-init_range, init_range]^2`` or ``PAPER_STARTS[seed % 6]``."""
        if self.init == "paper":
            return torch.tensor(PAPER_STARTS[seed % len(PAPER_STARTS)], dtype=torch.float64)
        return self.uniform_start(seed, 2, self.init_range)

    def exact_front(self, n_points: int = 1000) -> ExactFront:
        """The exact (convex) front at ``n_points`` points of the Pareto set, ``f1`` ascending."""
        return ExactFront(
            columns=_COLUMNS,
            directions=("min", "min"),
            points=np.array(_front_points(n_points)),
            reference_point=(0.0, 0.0),
            notes="Convex front; Pareto set x1 in [-7, 7], x2 in [-8.435, -8.355] (lower half-plane).",
        )


@register_problem("cagrad_toy")
def make_cagrad_toy(*, steps_per_epoch: int = 50, init: Literal["uniform", "paper"] = "uniform", init_range: float = 10.0) -> CAGradToy:
    """CAGrad / Nash-MTL 2-D toy (NeurIPS 2021 / ICML 2022): conflicting gradients, convex front.

    Args:
        steps_per_epoch: optimisation steps per "epoch" (there is no data to iterate). The papers
            run Adam at lr 1e-3 for 35k-100k steps; a larger lr needs far fewer.
        init: ``"uniform"`` draws the start from the trial seed in ``[-init_range, init_range]^2``;
            ``"paper"`` uses the papers' fixed starts, ``PAPER_STARTS[seed % 6]``.
        init_range: half-width of the uniform start box (the papers plot ``[-10, 10]^2``).

    Returns:
        The problem; tasks ``f1``, ``f2`` with metric ``loss`` (min), reference point (0, 0).
    """
    if init not in ("uniform", "paper"):
        raise ConfigError(f"`problem.params.init` should be `uniform` or `paper`. Found `{init!r}`.")
    return CAGradToy(
        steps_per_epoch=check_int("steps_per_epoch", steps_per_epoch, low=1),
        init=init,
        init_range=check_float("init_range", init_range, low=0.0, high=1e3, low_open=True),
    )
