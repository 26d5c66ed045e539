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

**Effective weights.** A step on :math:`s(L(\\theta), w)` moves θ along
:math:`\\sum_i c_i \\nabla L_i` with :math:`c = \\partial s / \\partial L`; the recorded effective
weights (``effective_weights_mean`` / ``_final`` in ``trials.parquet``) are c normalised to sum 1
(:func:`effective_weights`), averaged over the trial's steps for the mean:

* ``linear``: :math:`c = w`, recorded as is (it sums to 1 already).
* ``tchebycheff``: :math:`c_i = w_i [i \\in A] / |A|` with :math:`A = \\arg\\max_j w_j (L_j - z_j)`
  (ties share the subgradient evenly, as ``amax`` does), so the normalised vector is the
  one-hot of the active term (:math:`w_i / \\sum_{j \\in A} w_j` on ties): the mean is the share of
  steps each task was the active maximum.
* ``smooth_tchebycheff``: :math:`c_i = w_i\\, \\mathrm{softmax}(w \\odot (L - z) / \\mu)_i`.

The nominal ``weights`` column stays the swept w.
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
                raise ConfigError(
                    f"`scalarizer.ideal` should have {m} entries (one per task, in the problem's task order); "
                    f"found {len(ideal)}: {list(ideal)}. Give {m} values, or `ideal: problem` for the tasks' loss lower bounds."
                )
            self._z = torch.tensor(ideal, dtype=torch.float32)

    def ideal_point(self, losses: Tensor, *, update: bool = True) -> Tensor:
        """The ideal point z used for ``losses`` (updates the running minimum when adaptive, unless ``update=False``)."""
        if self.ideal == "running_min" and (update or self._z is None):
            current = losses.detach() - self.ideal_margin
            self._z = current if self._z is None else torch.minimum(self._z.to(current.device), current)
        assert self._z is not None
        return self._z.to(device=losses.device, dtype=losses.dtype)

    def __call__(self, losses: Tensor, weights: Tensor) -> Tensor:
        """Scalar loss of ``losses`` ``[m]`` under ``weights`` ``[m]``."""
        z = None if self.name == "linear" else self.ideal_point(losses)
        return scalarize(self.name, losses, weights, z, mu=self.mu)

    def effective_weights(self, losses: Tensor, weights: Tensor) -> Tensor:
        """``[m]`` normalised coefficients of the task gradients in the step just taken on ``losses``.

        Call it after :meth:`__call__` on the same losses (it reads the ideal point without moving it).
        """
        z = None if self.name == "linear" else self.ideal_point(losses, update=False)
        return effective_weights(self.name, losses, weights, z, mu=self.mu)

    def __repr__(self) -> str:
        extra = f", mu={self.mu}" if self.name == "smooth_tchebycheff" else ""
        return f"Scalarizer({self.name!r}, ideal={self.ideal!r}{extra})"


def scalarize(name: str, losses: Tensor, weights: Tensor, ideal: Tensor | None, *, mu: float) -> Tensor:
    """``[..., m]`` losses and weights, ``[m]`` (or broadcastable) ideal point -> ``[...]`` scalar losses.

    The formulas of the module docstring along the last axis; ``ideal`` is unused (may be None)
    for ``linear``. The Tchebycheff max is ``amax``, whose gradient splits evenly between ties.
    """
    if name == "linear":
        return (weights * losses).sum(dim=-1)
    assert ideal is not None
    shifted = weights * (losses - ideal.to(dtype=losses.dtype))
    if name == "tchebycheff":
        return shifted.amax(dim=-1)
    return mu * torch.logsumexp(shifted / mu, dim=-1)


def effective_weights(name: str, losses: Tensor, weights: Tensor, ideal: Tensor | None, *, mu: float) -> Tensor:
    """``[..., m]``: :math:`c = \\partial s / \\partial L` of :func:`scalarize`, normalised to sum 1 (detached).

    >>> effective_weights("tchebycheff", torch.tensor([1.0, 3.0]), torch.tensor([0.5, 0.5]), torch.zeros(2), mu=0.1).tolist()
    [0.0, 1.0]
    """
    losses, weights = losses.detach(), weights.detach()
    if name == "linear":
        return weights.expand_as(losses).clone()
    assert ideal is not None
    shifted = weights * (losses - ideal.detach().to(dtype=losses.dtype))
    if name == "tchebycheff":
        active = (shifted == shifted.amax(dim=-1, keepdim=True)).to(losses.dtype)
        c = weights * active
    else:
        c = weights * torch.softmax(shifted / mu, dim=-1)
    total = c.sum(dim=-1, keepdim=True)
    # c = 0 when every active term has w_i = 0: the step moved nothing, recorded as zeros
    return torch.where(total > 0, c / total.clamp_min(torch.finfo(c.dtype).tiny), c)
