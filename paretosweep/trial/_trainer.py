"""One trial as a function trainable on a :class:`TrialContext` — no Ray in here, so it runs and tests on its own.

:func:`make_context` builds the context of a trial (its tasks, objective columns and scalarizer
from the spec and the problem, or from the spec's ``tasks:`` for a function trainable);
:func:`run_in_context` runs ``train(ctx)`` and turns how it ended into a :class:`TrialOutcome`
(a non-finite loss or metric: ``diverged``; a trainable that never reported: an error). The
built-in problems run through the same path with :func:`~paretosweep.trial._problem_loop.train_problem`;
:func:`train_trial` is that, locally, for one trial.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import torch

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig, resolve_objectives, resolve_splits
from paretosweep.problems import Problem, column
from paretosweep.trainables import TrainableProblem
from paretosweep.trial._context import Sink, TrialContext
from paretosweep.trial._outcome import Diverged, TrainableError, TrialOutcome
from paretosweep.trial._problem_loop import make_optimizer, train_problem

Report = Callable[[dict[str, Any]], None]

__all__ = ["Report", "make_context", "make_optimizer", "run_in_context", "train_trial"]


def make_context(
    trial: TrialConfig,
    spec: SweepSpec,
    described: Problem | TrainableProblem,
    *,
    device: torch.device,
    sink: Sink,
    name: str,
    restored: Mapping[str, Any] | None = None,
    context: type[TrialContext] = TrialContext,
    **options: Any,
) -> TrialContext:
    """The context of ``trial``; ``described`` is the Problem object (its loop reads it as ``ctx.problem``) or a trainable's tasks.

    ``context``: the class to build (a subclass such as the conditioned training's), given ``options`` besides.
    """
    objectives = resolve_objectives(spec, described)
    metric_columns = tuple(column(t.name, m.name) for t in described.tasks for m in t.metrics)
    splits = resolve_splits(described, metric_columns)
    return context(
        trial,
        spec,
        tasks=[t.name for t in described.tasks],
        objective_columns=[o.column for o in objectives],
        metric_columns=metric_columns,
        lower_bounds=[t.loss_lower_bound for t in described.tasks],
        device=device,
        sink=sink,
        name=name,
        restored=restored,
        problem=None if isinstance(described, TrainableProblem) else described,
        test_columns=splits.test_columns,
        **options,
    )


def run_in_context(train: Callable[[TrialContext], Any], ctx: TrialContext, *, name: str) -> TrialOutcome:
    """Run ``train(ctx)``; its outcome (status ``completed`` or ``diverged``).

    Raises:
        TrainableError: ``train`` returned without a single ``ctx.report`` (nothing to record).
        Exception: whatever ``train`` raised other than divergence (the caller retries or records ``failed``).
    """
    started = time.perf_counter()
    outcome = ctx.outcome
    try:
        train(ctx)
    except Diverged as error:
        outcome.status, outcome.error = "diverged", str(error)
    if outcome.status == "completed" and outcome.epochs_done == 0:
        raise TrainableError(
            f"trainable `{name}` returned without calling ctx.report(...): report the objective columns at least "
            "once (e.g. after every epoch), `ctx.report({...}, checkpoint=...)`."
        )
    outcome.effective_weights_mean, outcome.effective_weights_final = ctx.effective_weights()
    outcome.train_seconds += time.perf_counter() - started
    return outcome


def train_trial(
    problem: Problem,
    trial: TrialConfig,
    spec: SweepSpec,
    *,
    device: torch.device,
    report: Report | None = None,
) -> TrialOutcome:
    """Train and evaluate one trial of a Problem-protocol problem here (no Ray); never raises for divergence.

    ``report`` (if given) gets every epoch's metrics with ``epoch``; the outcome's ``checkpoint`` is
    the last one the loop reported. Exceptions other than divergence propagate: the caller records
    them as ``failed``.
    """

    last: list[Any] = [None]

    def sink(metrics: dict[str, float], checkpoint: Any) -> None:
        if checkpoint is not None:
            last[0] = checkpoint
        if report is not None:
            report(metrics)

    name = getattr(problem, "name", type(problem).__name__)
    ctx = make_context(trial, spec, problem, device=device, sink=sink, name=name)
    outcome = run_in_context(train_problem, ctx, name=name)
    outcome.checkpoint = last[0]
    return outcome
