"""Scalarizers: how the m task losses and a weight vector become one training loss.

* ``linear``: :math:`\\sum_i w_i L_i`. Every minimiser is Pareto-optimal for w > 0, but only the
  *convex* part of a front is reachable (on a concave front the minimisers sit at the ends).
* ``tchebycheff``: :math:`\\max_i w_i (L_i - z_i)` (Bowman 1976; Miettinen, *Nonlinear
  Multiobjective Optimization*, 1999, §3.4). Every Pareto-optimal point, convex part or not, is a
  minimiser for some w: the optimum lies where the ray from z with direction
  :math:`(1/w_1, …, 1/w_m)` meets the front.
* ``smooth_tchebycheff``: :math:`\\mu \\log \\sum_i \\exp(w_i (L_i - z_i) / \\mu)`
  (Lin et al., "Smooth Tchebycheff Scalarization for Multi-Objective Optimization", ICML 2024,
  https://arxiv.org/abs/2402.19078). A smooth upper bound of Tchebycheff within μ·log m, so
  gradient descent does not zig-zag on the kink of the max; μ → 0 recovers Tchebycheff.

The ideal point z (``scalarizer.ideal`` in the spec) is one of:

* ``"problem"`` (default): each task's declared lower bound of its loss
  (``TaskSpec.loss_lower_bound``, 0 for cross-entropy and MSE). Fixed, so every trial of a sweep
  uses the same z and the rays of different weight vectors do not cross.
* ``"running_min"``: the smallest value of each loss seen so far in the trial, minus
  ``ideal_margin`` (the adaptive ideal point of Zhang & Li's MOEA/D, 2007). Use it when no
  lower bound is known; z then moves during training.
* a list of m floats: a fixed, user-given ideal point.

Linear scalarization ignores z (shifting the losses by constants does not move its minimisers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from paretosweep.errors import ConfigError, unknown_name

IdealSpec = Literal["problem", "running_min"] | tuple[float, ...]
SCALARIZERS = ("linear", "tchebycheff", "smooth_tchebycheff")


class Scalarizer:
    """Turns ``[m]`` task losses and ``[m]`` weights into a scalar loss; one object per trial.

    Args:
        name: one of :data:`SCALARIZERS`.
        lower_bounds: ``[m]`` lower bounds of the task losses (used when ``ideal="problem"``).
        ideal: how the ideal point z is chosen (see module docstring).
        mu: smoothing of ``smooth_tchebycheff`` (> 0).
        ideal_margin: subtracted from the running minimum when ``ideal="running_min"``.

    >>> s = Scalarizer("tchebycheff", lower_bounds=[0.0, 0.0])
    >>> float(s(torch.tensor([1.0, 3.0]), torch.tensor([0.5, 0.5])))
    1.5
    """

    def __init__(
        self,
        name: str,
        *,
        lower_bounds: Sequence[float],
        ideal: IdealSpec = "problem",
        mu: float = 0.1,
        ideal_margin: float = 1e-3,
    ) -> None:
        if name not in SCALARIZERS:
            raise unknown_name("scalarizer", name, SCALARIZERS)
        if mu <= 0:
            raise ConfigError(f"`scalarizer.mu` should be > 0; found {mu}.")
        self.name = name
        self.mu = mu
        self.ideal = ideal
        self.ideal_margin = ideal_margin
        m = len(lower_bounds)
        if isinstance(ideal, str):
            self._z: Tensor | None = None if ideal == "running_min" else torch.tensor(lower_bounds, dtype=torch.float32)
        else:
            if len(ideal) != m:
                raise ConfigError(f"`scalarizer.ideal` should have {m} entries (one per task); found {len(ideal)}.")
            self._z = torch.tensor(ideal, dtype=torch.float32)

    def ideal_point(self, losses: Tensor) -> Tensor:
        """The ideal point z used for ``losses`` (updates the running minimum when adaptive)."""
        if self.ideal == "running_min":
            current = losses.detach() - self.ideal_margin
            self._z = current if self._z is None else torch.minimum(self._z.to(current.device), current)
        assert self._z is not None
        return self._z.to(device=losses.device, dtype=losses.dtype)

    def __call__(self, losses: Tensor, weights: Tensor) -> Tensor:
        """Scalar loss of ``losses`` ``[m]`` under ``weights`` ``[m]``."""
        if self.name == "linear":
            return (weights * losses).sum()
        shifted = weights * (losses - self.ideal_point(losses))
        if self.name == "tchebycheff":
            return shifted.max()
        return self.mu * torch.logsumexp(shifted / self.mu, dim=0)

    def __repr__(self) -> str:
        extra = f", mu={self.mu}" if self.name == "smooth_tchebycheff" else ""
        return f"Scalarizer({self.name!r}, ideal={self.ideal!r}{extra})"
