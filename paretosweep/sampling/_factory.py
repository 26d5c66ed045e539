"""``make_sampler``: the one place that turns ``sampler.name`` into a :class:`Sampler`.

It also knows what each sampler plans (:func:`planned_trials`, the dry-run's description) and
checks, before Ray starts, what a sampler needs from the spec.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from paretosweep import simplex
from paretosweep.errors import ConfigError
from paretosweep.sampling._adaptive import AdaptiveSampler
from paretosweep.sampling._base import Sampler, StaticSampler, shuffled_order
from paretosweep.sampling._designs import GENERATED_DESIGNS, explicit_weights, generated_weights, resolve_design
from paretosweep.sampling._focus import parse_focus
from paretosweep.sampling._optuna import OPTUNA_SAMPLERS, STUDY_FILE, OptunaSampler, StoredResult

if TYPE_CHECKING:
    from paretosweep.config import SweepSpec

#: Samplers whose weight vectors depend on results: only their first ones (if any) are planned.
RESULT_DRIVEN = ("adaptive", "conditioned", *OPTUNA_SAMPLERS)


def journal_path(study_dir: str | None) -> str | None:
    """``study_dir/optuna.journal`` for a local run directory; None (an in-memory study) otherwise."""
    if study_dir is None or "://" in study_dir:
        return None
    return os.path.join(os.path.abspath(study_dir), STUDY_FILE)


def make_sampler(
    spec: SweepSpec,
    objectives: Sequence[tuple[str, str]],
    *,
    metric_columns: Sequence[str] = (),
    stored: Sequence[Mapping[str, Any]] = (),
    study_dir: str | None = None,
) -> Sampler:
    """The sampler of ``spec.sampler`` for these objectives.

    Args:
        spec: the validated sweep spec.
        objectives: ``(column, direction)`` per task, in task order.
        metric_columns: every metric column (``sampler.focus`` bounds may name them).
        stored: a resumed run's scalarization rows (Optuna counts them against its budget and
            warm-starts a study without journal; the others get them replayed by the searcher).
        study_dir: the run directory (Optuna keeps its study's journal there).

    Raises:
        ConfigError: what the sampler cannot work with (a bad focus bound, a floor too large for
            the tasks, several seeds or learning rates for an Optuna sampler, ...).
    """
    s, m, n = spec.sampler, len(objectives), spec.budget.n_weights
    if s.name == "explicit" or s.name in GENERATED_DESIGNS:
        if s.name == "explicit":
            assert s.weights is not None
            design = explicit_weights(s.weights, m)
        else:
            design = generated_weights(s.name, m, n, floor=s.floor, seed=spec.seed)
        return StaticSampler(design, order=design_order(spec, len(design)))
    if s.name == "adaptive":
        return AdaptiveSampler(
            m=m,
            scalarizer=spec.scalarizer.name,
            n_weights=n,
            n_initial=s.n_initial,
            tolerance=s.tolerance,
            batch=s.batch,
            floor=s.floor,
            seed=spec.seed,
            focus=parse_focus(s.focus, list(objectives), metric_columns=metric_columns),
            focus_share=s.refine.focus,
            knee_share=s.refine.knee,
            crowded_share=s.refine.crowded,
            retests=s.retests,
            retest_margin=s.retest_margin,
        )
    if s.name in OPTUNA_SAMPLERS:
        if spec.budget.seeds_per_weight != 1 or len(spec.budget.lr) != 1:
            raise ConfigError(
                f"sampler `{s.name}` runs one trial per weight vector: set `budget.seeds_per_weight: 1` and a single `budget.lr`."
            )
        simplex.apply_floor(np.zeros((1, m)), s.floor)  # checks the floor now
        columns = [c for c, _ in objectives]
        return OptunaSampler(
            s.name,
            m=m,
            n_weights=n,
            floor=s.floor,
            seed=spec.seed,
            directions=[d for _, d in objectives],
            study_name=spec.name,
            journal=journal_path(study_dir),
            stored=[StoredResult(tuple(row["weights"]), _raw_values(row, columns), row.get("status") == "stopped") for row in stored],
        )
    if s.name == "conditioned":
        from paretosweep.sampling._conditioned import ConditionedSampler, check_conditionable, stage_weights

        check_conditionable(spec)
        return ConditionedSampler(m, s.verify, stage_weights(study_dir, m))
    raise ConfigError(f"Unknown `sampler.name` `{s.name}`.")  # the spec's validation refuses it first


def design_order(spec: SweepSpec, n: int) -> np.ndarray | None:
    """The order a static design of ``n`` points is asked in: with a ``scheduler``, a shuffle seeded by
    ``spec.seed`` (:func:`~paretosweep.sampling._base.shuffled_order`); else None, the design's own order.

    Asynchronous successive halving compares a trial at a rung with the trials that reached it
    before; a design in its construction order (the Das–Dennis lattice sweeps one task's weight
    upwards) makes those early trials alike, so each new one tends to dominate them and continue.
    A random order makes the early ones a sample of the whole design. Only the order changes: the
    planned weight vectors and their trial ids are the same.
    """
    return shuffled_order(n, spec.seed) if spec.scheduler is not None else None


def _raw_values(row: Mapping[str, Any], columns: Sequence[str]) -> tuple[float, ...] | None:
    """A stored row's objective values, or None unless it completed with finite values."""
    values = [row.get(c) for c in columns]
    if row.get("status") != "completed" or any(v is None or not math.isfinite(float(v)) for v in values):
        return None
    return tuple(float(v) for v in values)  # type: ignore[arg-type]


def planned_trials(spec: SweepSpec, sampler: Sampler) -> int:
    """Scalarization trials the sweep runs at most: every weight vector × seeds × lrs, re-tests × lrs."""
    lrs = len(spec.budget.lr)
    return sampler.budget * spec.budget.seeds_per_weight * lrs + sampler.retests * lrs


def design_note(spec: SweepSpec, m: int) -> tuple[str, str | None]:
    """The design ``sampler.name`` stands for (``auto`` resolved) and what the user should know about it."""
    name = spec.sampler.name
    if name in GENERATED_DESIGNS:
        return resolve_design(name, m, spec.budget.n_weights)
    return name, None


def verify_epochs(spec: SweepSpec) -> int:
    """Epochs each verification trial of ``sampler: conditioned`` trains: ``sampler.verify_epochs``, else 1 from the
    conditioned model and ``budget.epochs`` from scratch."""
    s = spec.sampler
    if s.verify_epochs is not None:
        return int(s.verify_epochs)
    return 1 if s.verify_from == "conditioned" else spec.budget.epochs


def describe(spec: SweepSpec, sampler: Sampler) -> str | None:
    """The dry-run's line on a result-driven sampler (None for a static design)."""
    s = spec.sampler
    if s.name == "adaptive":
        return (
            f"adaptive: the {len(sampler.planned)} weight vectors below are the initial design; up to "
            f"{spec.budget.n_weights - len(sampler.planned)} more are chosen from the results while the sweep runs "
            f"(tolerance {s.tolerance:g}, batch {s.batch})"
            + (f", plus up to {s.retests} re-tests with new seeds" if s.retests else "")
            + (f"; focus {s.focus}" if s.focus else "")
            + "."
        )
    if s.name == "conditioned":
        return (
            f"conditioned: one weight-conditioned training ({spec.budget.epochs} epochs, w ~ Dirichlet({s.alpha:g}) per "
            f"{'sample' if s.per_sample else 'batch'}) proposes the front on {s.dense} weight vectors; then {s.verify} of them, "
            f"spread along it, are verified by real trials ({s.verify_from}, {verify_epochs(spec)} epochs each)."
        )
    if s.name in OPTUNA_SAMPLERS:
        return f"{s.name}: all {spec.budget.n_weights} weight vectors are asked from Optuna while the sweep runs; none is planned ahead."
    return None
