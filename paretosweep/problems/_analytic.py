"""The shared shape of the analytic problems (``fonseca``, ``cagrad_toy``, ``three_wells``).

The model is the decision vector ``x`` (:class:`~paretosweep.problems._common.DecisionVector`),
there is no data (an "epoch" is ``steps_per_epoch`` steps on empty batches), each task's loss is
its objective ``f_i(x)``, evaluation reports ``f_i(x)`` in float64, and ``x`` is the one shared
parameter. A subclass gives ``name``, ``tasks``, ``objectives(x)`` and how ``x`` starts.

Splits: one. There is no data to hold out: the objective is the function itself, a deterministic
function of ``x``, so a "test split" would repeat the validation numbers exactly. These problems
define no ``evaluate_test`` and say so (``selection_split = "function"`` and ``splits_note``),
which the run metadata (``paretosweep.splits``) records.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from paretosweep.problems._common import DecisionVector, decision_vector
from paretosweep.problems._protocol import TaskSpec, column


class AnalyticProblem(ABC):
    """Base of the problems whose model is ``x`` and whose task losses are closed-form ``f_i(x)``.

    Attributes:
        name: the problem's registry name.
        tasks: one task per objective, metric ``loss``.
        steps_per_epoch: optimisation steps per "epoch".
        selection_split: what ``evaluate`` reports: ``function``, the objective itself (no data).
        splits_note: why there is one split only (recorded in the run metadata).
    """

    name: str
    tasks: tuple[TaskSpec, ...]
    steps_per_epoch: int
    selection_split = "function"
    splits_note = "no held-out data: the objective is the function itself (a test split would repeat the same numbers)"

    @abstractmethod
    def objectives(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., n] -> [..., m]``: the objectives at ``x``, differentiable."""

    @abstractmethod
    def initial_x(self, seed: int) -> torch.Tensor:
        """The starting point ``x`` (float64) of a trial seeded with ``seed``."""

    @staticmethod
    def uniform_start(seed: int, n_dim: int, init_range: float) -> torch.Tensor:
        """``x ~ U[-init_range, init_range]^n_dim`` drawn from ``seed`` (float64)."""
        generator = torch.Generator().manual_seed(seed)
        return (torch.rand(n_dim, generator=generator, dtype=torch.float64) * 2 - 1) * init_range

    def make_model(self, *, seed: int) -> nn.Module:
        """A :class:`DecisionVector` at :meth:`initial_x`."""
        return DecisionVector(self.initial_x(seed))

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[None]:
        """No data: ``steps_per_epoch`` empty batches."""
        return iter([None] * self.steps_per_epoch)

    def task_losses(self, model: nn.Module, batch: None, device: torch.device) -> torch.Tensor:
        """``[m]``: ``f(x)``, differentiable in ``x``."""
        return self.objectives(decision_vector(model))

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """``{"<task>_loss": f_i(x)}`` at the current ``x``, in float64 (there is no held-out data)."""
        with torch.no_grad():
            values = self.objectives(decision_vector(model).double().cpu()).tolist()
        return {column(t.name, "loss"): v for t, v in zip(self.tasks, values, strict=True)}

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        """Every parameter is shared: ``[x]``."""
        return [decision_vector(model)]
