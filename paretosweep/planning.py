"""Resolve a validated spec against its problem into the concrete list of trials.

Everything that can be wrong with a spec but needs the problem to find out (unknown problem,
a task or metric the problem does not have, weights of the wrong length or off the simplex,
an ideal point of the wrong length, an unknown method or a bad method parameter) fails here,
before Ray starts: :func:`build_plan` builds every object a trial would build from the spec
(the scalarizer, the methods), short of training.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError, unknown_name
from paretosweep.problems import Problem, column, has_test_split, make_problem
from paretosweep.results import Objective, RunSplits, as_test_column
from paretosweep.sampling import describe, design_note, make_sampler, planned_trials
from paretosweep.scalarizers import Scalarizer
from paretosweep.trainables import TrainableProblem, trainable_problem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialConfig:
    """One planned trial: what Ray's ``param_space`` carries (the spec is closed over)."""

    trial_id: str
    kind: str  # "scalarization" | "method"
    weights: tuple[float, ...] | None
    seed: int
    lr: float
    method: str | None = None
    method_params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, as passed through Ray."""
        return {
            "trial_id": self.trial_id,
            "kind": self.kind,
            "weights": list(self.weights) if self.weights is not None else None,
            "seed": self.seed,
            "lr": self.lr,
            "method": self.method,
            "method_params": dict(self.method_params),
        }

    def row_fields(self) -> dict[str, Any]:
        """The trials.parquet columns this config fixes, whatever becomes of the trial."""
        return {
            "trial_id": self.trial_id,
            "kind": self.kind,
            "method": self.method,
            "weights": list(self.weights) if self.weights is not None else None,
            "seed": self.seed,
            "lr": self.lr,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialConfig:
        """Inverse of :meth:`to_dict`."""
        weights = data.get("weights")
        return cls(
            trial_id=data["trial_id"],
            kind=data["kind"],
            weights=tuple(weights) if weights is not None else None,
            seed=int(data["seed"]),
            lr=float(data["lr"]),
            method=data.get("method"),
            method_params=dict(data.get("method_params") or {}),
        )


@dataclass(frozen=True)
class Plan:
    """A spec resolved against its problem."""

    spec: SweepSpec
    task_names: tuple[str, ...]
    objectives: tuple[Objective, ...]
    metric_columns: tuple[str, ...]
    reference_point: tuple[float, ...] | None
    weights: np.ndarray  # [n, m] swept weight vectors
    trials: tuple[TrialConfig, ...]
    #: where ``reference_point`` comes from: ``spec`` or ``problem`` (None: the first completed batch fixes it)
    reference_rule: str | None = None
    #: the design the weight vectors come from (``sampler.name``, or what ``auto`` chose)
    design: str | None = None
    #: what the user should know about the design (e.g. a lattice coarser than the budget asks)
    notes: tuple[str, ...] = ()
    #: which split chooses and which columns of ``metric_columns`` hold test values (reported only)
    splits: RunSplits = field(default_factory=RunSplits)
    #: the most trials the sweep runs (result-driven samplers choose all but their first ones while it runs)
    max_trials: int = 0
    #: the dry-run's line on a result-driven sampler (None for a static design)
    sampler_note: str | None = None


def resolve_objectives(spec: SweepSpec, problem: Problem | TrainableProblem) -> tuple[Objective, ...]:
    """One objective per task: the spec's ``tasks.<task>`` choice or the problem's default."""
    task_names = [t.name for t in problem.tasks]
    for name in spec.tasks:
        if name not in task_names:
            raise unknown_name(f"task in `tasks` (problem `{problem.name}` has no task `{name}`);", name, task_names)
    objectives = []
    for task in problem.tasks:
        chosen = spec.tasks.get(task.name)
        metric = task.metric(chosen.metric) if chosen else task.metrics[0]
        if metric is None:
            assert chosen is not None
            raise unknown_name(
                f"metric `tasks.{task.name}.metric` (task `{task.name}` reports {[m.name for m in task.metrics]});",
                chosen.metric,
                [m.name for m in task.metrics],
            )
        direction = (chosen.direction if chosen and chosen.direction else None) or metric.direction
        objectives.append(Objective(name=task.name, column=column(task.name, metric.name), direction=direction))
    return tuple(objectives)


def trial_id(kind: str, payload: dict[str, Any]) -> str:
    """A stable id: the same planned trial gets the same id in a resumed or extended sweep."""
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{'s' if kind == 'scalarization' else 'm'}-{digest}"


def plan_trials(
    spec: SweepSpec, weights: np.ndarray, methods: list[tuple[str, dict[str, Any]]], *, seeds: list[int] | None = None
) -> tuple[TrialConfig, ...]:
    """Scalarization trials (weights × seeds × lrs), then method trials (methods × seeds × lrs).

    ``seeds`` (default: ``budget.seeds_per_weight`` seeds from ``spec.seed``) replaces the seeds,
    e.g. for an adaptive re-test on a new seed (its id differs, since the seed is in the payload).
    """
    seeds = [spec.seed + r for r in range(spec.budget.seeds_per_weight)] if seeds is None else list(seeds)
    # Only what changes a trial's result goes into its id, so a larger design reuses finished trials.
    training = spec.budget.model_dump(include={"epochs", "steps_per_epoch", "optimizer"})
    common = {"problem": spec.problem.model_dump(), "training": training}
    trials: dict[str, TrialConfig] = {}
    for w in weights:
        w_t = tuple(round(float(x), 12) for x in w)
        for seed in seeds:
            for lr in spec.budget.lr:
                payload = {**common, "scalarizer": spec.scalarizer.model_dump(), "w": w_t, "seed": seed, "lr": lr}
                tid = trial_id("scalarization", payload)
                trials.setdefault(tid, TrialConfig(tid, "scalarization", w_t, seed, lr))
    for name, params in methods:
        for seed in seeds:
            for lr in spec.budget.lr:
                payload = {**common, "method": name, "params": params, "seed": seed, "lr": lr}
                tid = trial_id("method", payload)
                trials.setdefault(tid, TrialConfig(tid, "method", None, seed, lr, name, params))
    return tuple(trials.values())


def resolve_reference_point(
    spec: SweepSpec, problem: Problem | TrainableProblem, objectives: tuple[Objective, ...]
) -> tuple[tuple[float, ...] | None, str | None]:
    """The run's hypervolume reference point and where it comes from, fixed once per run.

    The spec's ``reference_point`` (by column), else the problem's ``default_reference_point``
    (what a model that learnt nothing scores) when it covers every objective column, else
    ``(None, None)``: the run store fixes it from the first completed batch (its nadir plus a
    margin, see ``RunStore.write``).
    """
    given = spec.reference_point
    if given is None:
        default = getattr(problem, "default_reference_point", None) or {}
        if all(o.column in default for o in objectives):
            return tuple(float(default[o.column]) for o in objectives), f"problem `{problem.name}` default"
        return None, None
    columns = [o.column for o in objectives]
    unknown = [c for c in given if c not in columns]
    missing = [c for c in columns if c not in given]
    if unknown or missing:
        raise ConfigError(
            f"`reference_point` should give one value per objective column {columns}; found unknown {unknown} and missing {missing}."
        )
    return tuple(float(given[c]) for c in columns), "spec"


#: ``paretosweep.splits`` note of a problem with a test split.
TWO_SPLITS_NOTE = "validation metrics choose (frontier, hypervolume, picks, samplers, compare); test metrics are reported only"
#: ``paretosweep.splits`` note of a problem without ``evaluate_test`` and without a ``splits_note`` of its own.
ONE_SPLIT_NOTE = (
    "one split: the problem has no `evaluate_test`, so the metrics that choose the frontier also report it "
    "(optimistic for a model trained on data)"
)


def resolve_splits(problem: Problem | TrainableProblem, metric_columns: tuple[str, ...]) -> RunSplits:
    """Which split chooses, and the test column of every metric column when the problem has a test split.

    A problem with ``evaluate_test`` gets ``report = "test"`` and ``test_<column>`` per metric
    column; one without it reports on the split that chose (``report = None``). The optional
    problem attributes ``selection_split`` (default ``validation``) and ``splits_note`` say what
    ``evaluate`` measures and why (the analytic problems: ``function``, no data to hold out).
    """
    selection = str(getattr(problem, "selection_split", None) or "validation")
    note = getattr(problem, "splits_note", None)
    if has_test_split(problem):
        return RunSplits(selection, "test", {c: as_test_column(c) for c in metric_columns}, str(note or TWO_SPLITS_NOTE))
    return RunSplits(selection, None, {}, str(note or ONE_SPLIT_NOTE))


def build_plan(spec: SweepSpec, *, problem: Problem | TrainableProblem | None = None) -> Plan:
    """Resolve ``spec``: build its problem, objectives, weight design and trial list."""
    from paretosweep.methods_resolution import resolve_methods

    if problem is None:
        if spec.problem.trainable is not None:
            problem = trainable_problem(spec)
        else:
            assert spec.problem.name is not None  # the spec names a problem or a trainable
            problem = make_problem(spec.problem.name, dict(spec.problem.params))
    if spec.problem.trainable is not None and spec.budget.pack_size not in (1, "auto"):
        raise ConfigError(
            f"`budget.pack_size: {spec.budget.pack_size}` packs several models into one trial, which needs a problem "
            "with the Problem protocol (`problem.name`); a function trainable trains one model per trial: set `budget.pack_size: 1`."
        )
    task_names = tuple(t.name for t in problem.tasks)
    objectives = resolve_objectives(spec, problem)
    metric_columns = tuple(column(t.name, m.name) for t in problem.tasks for m in t.metrics)
    build_scalarizer(spec, problem)
    sampler = make_sampler(spec, [(o.column, o.direction) for o in objectives], metric_columns=metric_columns)
    weights = sampler.planned
    design, note = design_note(spec, len(task_names))
    if note is not None and spec.sampler.name != "auto":
        logger.warning(note)
    methods = resolve_methods(spec, problem)
    trials = plan_trials(spec, weights, methods)
    max_trials = planned_trials(spec, sampler) + sum(t.kind == "method" for t in trials)
    reference_point, reference_rule = resolve_reference_point(spec, problem, objectives)
    splits = resolve_splits(problem, metric_columns)
    metric_columns = (*metric_columns, *splits.test_columns.values())  # test values last, reported only
    return Plan(
        spec,
        task_names,
        objectives,
        metric_columns,
        reference_point,
        weights,
        trials,
        reference_rule,
        design=design,
        notes=(note,) if note else (),
        splits=splits,
        max_trials=max_trials,
        sampler_note=describe(spec, sampler),
    )


def build_scalarizer(spec: SweepSpec, problem: Problem | TrainableProblem) -> Scalarizer:
    """The trial's scalarizer for ``spec.scalarizer`` and the problem's loss lower bounds.

    Raises:
        ConfigError: e.g. ``scalarizer.ideal`` with a number of entries other than the problem's tasks.
    """
    return make_scalarizer(spec, [t.loss_lower_bound for t in problem.tasks])


def make_scalarizer(spec: SweepSpec, lower_bounds: Sequence[float]) -> Scalarizer:
    """The scalarizer of ``spec.scalarizer`` with the tasks' loss lower bounds (the ideal point of ``ideal: problem``)."""
    s = spec.scalarizer
    return Scalarizer(s.name, lower_bounds=list(lower_bounds), ideal=s.ideal, mu=s.mu, ideal_margin=s.ideal_margin)
