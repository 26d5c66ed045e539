"""The small protocol every problem (built-in or a user's) follows.

A *problem* is data + model + per-task losses and metrics. The trial code knows only this
protocol: it builds the model, draws training batches, asks for the ``[m]`` vector of task
losses of a batch, and asks for held-out metrics once per epoch.

Metric columns in Parquet are ``f"{task}_{metric}"`` (e.g. ``click_auc``, ``left_acc``).
Every task has at least the metric ``loss`` (direction ``min``), its held-out loss.

**Splits: selection and reporting on different data.** ``evaluate`` returns the metrics of the
*validation* split: they fill the ``<task>_<metric>`` columns, and only they choose (frontier,
hypervolume, picks, adaptive samplers, compare). A problem with a held-out *test* split adds
the optional member ``evaluate_test`` (:class:`ProblemWithTestSplit`): the same columns on data
that neither training nor selection saw. The trial calls it once, after the last epoch of a
completed trial, and the values are stored as ``test_<task>_<metric>`` beside the validation
ones, only reported (``paretosweep frontier``, ``export``, the dashboard). A problem without it (one split)
still works; the run metadata (``paretosweep.splits``) then says the metrics that chose the
frontier also report it. Two optional attributes describe a problem's splits in that metadata:
``selection_split`` (what ``evaluate`` measures, default ``validation``) and ``splits_note`` (one
line, why). The analytic built-ins set ``selection_split = "function"``: they have no data, their
objective is the function itself, and a test split would repeat the same numbers.

The built-in data problems hold three disjoint splits: train (``train_batches``), validation
(``evaluate``) and test (``evaluate_test``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

Direction = Literal["min", "max"]


@dataclass(frozen=True)
class Metric:
    """A held-out metric of a task, e.g. ``Metric("auc", "max")``."""

    name: str
    direction: Direction


@dataclass(frozen=True)
class TaskSpec:
    """One task of a problem.

    Attributes:
        name: task name as used in specs and column prefixes (``click``, ``left``).
        metrics: the metrics ``evaluate`` reports for it; the first is the default objective.
            ``loss`` (min) is always among them.
        loss_lower_bound: a lower bound of the task's training loss (0 for cross-entropy and
            MSE); Tchebycheff scalarizers use it as the ideal point by default.
    """

    name: str
    metrics: tuple[Metric, ...] = (Metric("loss", "min"),)
    loss_lower_bound: float = 0.0

    def metric(self, name: str) -> Metric | None:
        """The metric called ``name``, or None."""
        return next((m for m in self.metrics if m.name == name), None)


def column(task: str, metric: str) -> str:
    """Parquet column of a task's metric: ``column("click", "auc") == "click_auc"``."""
    return f"{task}_{metric}"


Batch = Any


@runtime_checkable
class Problem(Protocol):
    """What a trial needs from a problem. Built-ins live in ``paretosweep.problems``.

    A user's problem is a callable named by import path (``mypkg.tasks:make_problem``) that
    takes the spec's ``problem.params`` as keyword arguments and returns an object with these
    members. Data should be generated (or loaded from an installed package) in the factory and
    be identical for a given ``data_seed`` param, so every trial sees the same split.
    """

    name: str
    tasks: tuple[TaskSpec, ...]

    def make_model(self, *, seed: int) -> nn.Module:
        """A freshly initialised model (seeded with ``seed``)."""
        ...

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterable[Batch]:
        """The training batches of one epoch, shuffled with ``generator`` (CPU tensors)."""
        ...

    def task_losses(self, model: nn.Module, batch: Batch, device: torch.device) -> torch.Tensor:
        """The ``[m]`` tensor of per-task training losses of ``batch`` (differentiable)."""
        ...

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Held-out (validation) metrics: one float per ``column(task, metric)`` of every declared metric.

        These are the metrics that choose: the frontier, the picks and the samplers read them.
        """
        ...

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        """The parameters shared by all tasks (gradient methods need their per-task grads).

        A problem may also define ``shared_representation(model)`` (optional, not part of this
        protocol: see `RepresentationProblem`) so MGDA-UB can run on it.
        """
        ...


@runtime_checkable
class RepresentationProblem(Problem, Protocol):
    """The optional member a problem adds so MGDA-UB (``{name: mgda, upper_bound: true}``) runs.

    ``Problem`` does not require it: a problem without it runs every other method, and MGDA-UB
    on it is refused at plan time (``methods[i].upper_bound``). The built-ins with a shared
    trunk (``recsys``, ``multimnist``, ``synthetic``) implement it; use
    :func:`has_shared_representation` to ask.
    """

    def shared_representation(self, model: nn.Module) -> nn.Module:
        """The submodule of ``model`` whose output :math:`Z` (``[B, ...]``) every task head reads.

        The trainer registers a forward hook on it for a trial of a method that needs
        :math:`Z`, so it must run exactly once in each ``task_losses`` call, as a module call
        (``module(x)``, so hooks fire), and its output must be one tensor. Its parameters are
        normally ``shared_parameters(model)``.
        """
        ...


def has_shared_representation(problem: object) -> bool:
    """Whether ``problem`` defines ``shared_representation(model)`` (MGDA-UB can run on it)."""
    return callable(getattr(problem, "shared_representation", None))


@runtime_checkable
class ProblemWithTestSplit(Problem, Protocol):
    """The optional member a problem adds when it holds a test split apart from its validation split.

    ``Problem`` does not require it: without it a run has one split (``evaluate``'s), and its
    metadata says so. The built-in data problems (``multimnist``, ``recsys``, ``synthetic``)
    implement it; use :func:`has_test_split` to ask.
    """

    def evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """The same columns as ``evaluate``, on the test split (stored as ``test_<column>``, reported only).

        Called once per completed trial, after its last epoch; its values never choose anything.
        """
        ...


def has_test_split(problem: object) -> bool:
    """Whether ``problem`` defines ``evaluate_test(model, device)`` (a test split apart from validation)."""
    return callable(getattr(problem, "evaluate_test", None))


class PackedProblem(Problem, Protocol):
    """Optional members a problem may add so packed trials (``budget.pack_size``) run faster.

    Without them, :func:`paretosweep.trial.train_packed` runs ``task_losses`` under
    ``torch.func.vmap``; with them it calls these on the members' stacked parameters (every
    tensor ``[P, ...]``, as :func:`torch.func.stack_module_state` lays them out). A subclass that
    overrides ``task_losses`` / ``evaluate`` / ``evaluate_test`` but inherits these is not trusted
    with them (vmap, or one member at a time, is used). The built-in ``recsys`` and ``multimnist``
    implement them; a problem with a test split may add ``packed_evaluate_test`` too (same
    signature as ``packed_evaluate``, on the test split).

    Attributes:
        packed_cpu_group: on CPU, members run in consecutive groups of at most this many.
    """

    packed_cpu_group: int

    def packed_task_losses(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], batch: Batch, device: torch.device
    ) -> torch.Tensor:
        """``[P, m]``: the ``task_losses`` of each of the P stacked members on ``batch``."""
        ...

    def packed_evaluate(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], device: torch.device
    ) -> list[dict[str, float]]:
        """``evaluate`` of each of the P stacked members, in order."""
        ...


@dataclass(frozen=True)
class ExactFront:
    """A problem's exact Pareto front, in the columns of its default objectives.

    Attributes:
        columns: objective columns, in order.
        directions: ``min``/``max`` per column.
        points: ``[n, k]`` dense sample of the exact front.
        reference_point: the reference point for hypervolume (worse than every front point).
        hypervolume: the continuous front's hypervolume at ``reference_point`` when the problem
            knows it better than ``points`` do (a finite sample of a front with more than two
            objectives holds noticeably less: ``three_wells``' 2,000 points about 4 % less);
            None: the hypervolume of ``points`` is used.
    """

    columns: tuple[str, ...]
    directions: tuple[Direction, ...]
    points: np.ndarray
    reference_point: tuple[float, ...]
    notes: str = field(default="")
    hypervolume: float | None = None
