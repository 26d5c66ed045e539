"""Pure indicators of a run's trials: the frontier table, progress rows, labelled hypervolume contributions.

``hypervolume`` is exact where affordable and otherwise a seeded Monte Carlo estimate
(``paretosweep.frontier._hv_estimate``: the rule, the measured costs and the estimator);
``hypervolume_method`` says which and ``hypervolume_stderr`` gives the estimate's standard
error (0.0 when exact). ``igd_plus`` and ``hv_ratio`` come from the exact front when the run
has one (``_exact_front.py``), else null. :func:`compute_curve` gives the hypervolume against
the training compute spent, trial by trial in finishing order (the report's and the dashboard's
compute curve).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from paretosweep.frontier import (
    MEASURED_STATUSES,
    SeedGroups,
    auto_reference_point,
    hv_contributions_auto,
    hypervolume_auto,
    nan_rows,
    non_dominated_mask,
    seed_groups,
    to_minimization,
    usable_rows,
)
from paretosweep.results._exact_front import ExactFrontIndicators
from paretosweep.results._meta import RunMeta
from paretosweep.results._schema import (
    FRONTIER_EXTRA_FIELDS,
    FRONTIER_FILE,
    META_HV_CONTRIBUTION,
    PROGRESS_FILE,
    STDERR_SUFFIX,
    TRIALS_FILE,
    Objective,
    frontier_schema,
    progress_schema,
    trials_schema,
)


def frontier_columns(
    points: np.ndarray,
    *,
    directions: Sequence[str],
    reference_point: Sequence[float] | None,
    exact: ExactFrontIndicators | None,
) -> dict[str, Any]:
    """``frontier_size``, ``hypervolume`` (+ ``_method``, ``_stderr``), ``igd_plus``, ``hv_ratio``, ``clipped``.

    ``clipped`` counts the points that are not strictly better than the reference point in
    every objective: they add nothing to the hypervolume (the reference point never moves to
    take them in).

    Args:
        points: ``[n, m]`` objective values of the usable completed trials (no NaN rows).
        directions: ``min``/``max`` per objective.
        reference_point: the row's reference point, or None while there is none (HV 0).
        exact: the run's exact front, or None (indicators null).
    """
    mask = non_dominated_mask(points, directions=directions)
    clipped = 0
    if reference_point is None:
        hv = {"hypervolume": 0.0, "hypervolume_method": "exact", "hypervolume_stderr": 0.0}
    else:
        clipped = int(
            (
                ~(to_minimization(points, directions) < to_minimization(np.asarray([reference_point], dtype=np.float64), directions)).all(
                    axis=1
                )
            ).sum()
        )
        estimate = hypervolume_auto(points[mask], reference_point=reference_point, directions=directions)
        hv = {"hypervolume": estimate.value, "hypervolume_method": estimate.method, "hypervolume_stderr": estimate.stderr}
    indicators: dict[str, float | None] = {"igd_plus": None, "hv_ratio": None}
    if exact is not None:
        indicators = exact.row(points[mask], float(hv["hypervolume"]), reference_point)  # type: ignore[arg-type]
    return {"frontier_size": int(mask.sum()), **hv, **indicators, "clipped": clipped}


def contributions_with_label(
    points: np.ndarray, *, directions: Sequence[str], reference_point: Sequence[float] | None
) -> tuple[np.ndarray, bytes]:
    """Each front point's ``hv_contribution`` and the frontier.parquet label of how it was computed.

    Returns:
        ``[n]`` contributions (zeros without a reference point) and the JSON value of the
        ``paretosweep.hv_contribution`` metadata key: ``{"method", "stderr": [n]}``.
    """
    if reference_point is None:
        values, stderr, method = np.zeros(points.shape[0]), np.zeros(points.shape[0]), "exact"
    else:
        estimate = hv_contributions_auto(points, reference_point=reference_point, directions=directions)
        values, stderr, method = estimate.values, estimate.stderr, estimate.method
    return values, json.dumps({"method": method, "stderr": stderr.tolist()}).encode()


#: Trial columns read to group trials by configuration.
_CONFIGURATION_READ = ("trial_id", "status", "kind", "scalarizer", "method", "weights", "lr", "hparams", "seed")


def objective_values(
    table: pa.Table, objectives: Sequence[Objective], *, statuses: Sequence[str] = MEASURED_STATUSES
) -> tuple[np.ndarray, np.ndarray]:
    """``[n, m]`` objective values of the trial rows (null = NaN) and the mask of finite rows with a status in ``statuses``."""
    values = np.column_stack([table.column(o.column).to_numpy().astype(np.float64) for o in objectives]).reshape(
        table.num_rows, len(objectives)
    )
    measured = np.array([s in statuses for s in table.column("status").to_pylist()], dtype=bool)
    return values, measured & ~nan_rows(values)


def configurations(table: pa.Table, meta: RunMeta, *, statuses: Sequence[str] = MEASURED_STATUSES) -> tuple[SeedGroups, np.ndarray]:
    """The usable trials of ``table`` (``paretosweep.frontier.usable_rows``: completed, or stopped where no seed
    of the configuration completed) grouped by configuration (seeds averaged, see
    ``paretosweep.frontier.seed_groups``) and the groups' mean objective values ``[g, m]``."""
    _, finite = objective_values(table, meta.objectives, statuses=statuses)
    frame = table.select([*_CONFIGURATION_READ, *meta.metric_columns]).to_pandas()
    groups = seed_groups(frame, meta.metric_columns, usable_rows(frame, finite, statuses=statuses))
    index = [meta.metric_columns.index(o.column) for o in meta.objectives]
    return groups, groups.mean[:, index]


def frontier_table(trials: pa.Table, meta: RunMeta, *, statuses: Sequence[str] = MEASURED_STATUSES) -> tuple[pa.Table, bytes]:
    """The non-dominated configurations (seed means) plus their HV contributions, and the contributions' label.

    A row is the configuration's lowest-seed trial with its metric columns replaced by the
    means over the configuration's usable seeds; ``n_seeds``, ``seed_trial_ids`` and each
    objective's ``<column>_stderr`` follow ``hv_contribution``. ``statuses=("completed",)``
    leaves out the trials the scheduler stopped (``--completed-only``).
    """
    directions = [o.direction for o in meta.objectives]
    groups, points = configurations(trials, meta, statuses=statuses)
    mask = non_dominated_mask(points, directions=directions)
    contrib, label = contributions_with_label(points[mask], directions=directions, reference_point=meta.reference_point)
    front = trials.take(pa.array(groups.representative[mask], pa.int64()))
    for j, name in enumerate(meta.metric_columns):
        index = front.schema.get_field_index(name)
        front = front.set_column(index, front.schema.field(index), pa.array(groups.mean[mask, j], pa.float64()))
    ids = trials.column("trial_id").to_numpy(zero_copy_only=False)
    members = [m for m, keep in zip(groups.members, mask, strict=True) if keep]
    extras = [
        pa.array(contrib, pa.float64()),
        pa.array(groups.n_seeds[mask], pa.int64()),
        pa.array([ids[m].tolist() for m in members], pa.list_(pa.string())),
    ]
    for field_, array in zip(FRONTIER_EXTRA_FIELDS, extras, strict=True):
        front = front.append_column(field_, array)
    for o in meta.objectives:
        stderr = groups.stderr[mask, meta.metric_columns.index(o.column)]
        front = front.append_column(f"{o.column}{STDERR_SUFFIX}", pa.array(stderr, pa.float64(), from_pandas=True))
    return front, label


def progress_row(
    table: pa.Table, meta: RunMeta, reference_point: Sequence[float] | None, exact: ExactFrontIndicators | None
) -> dict[str, Any]:
    """Counts, compute, hypervolume and indicators of the trials in ``table`` (times left to the caller)."""
    _, points = configurations(table, meta)
    statuses = table.column("status").to_pylist()
    seconds = table.column("train_seconds").to_numpy().astype(np.float64)
    return {
        "trials_done": table.num_rows,
        "trials_completed": statuses.count("completed"),
        "trials_failed": statuses.count("failed") + statuses.count("diverged"),
        "trials_stopped": statuses.count("stopped"),
        "compute_seconds": float(np.nansum(seconds)),
        **frontier_columns(points, directions=[o.direction for o in meta.objectives], reference_point=reference_point, exact=exact),
    }


#: A reference point fixed from the first completed batch lies this share of each objective's
#: range (over that batch) beyond the batch's nadir (see ``auto_reference_point``).
FIRST_BATCH_MARGIN = 0.1


def first_batch_reference(trials: pa.Table, objectives: Sequence[Objective]) -> tuple[tuple[float, ...] | None, str]:
    """The reference point the usable completed trials of ``trials`` fix, and its rule (None: no such trial yet).

    Their nadir plus ``FIRST_BATCH_MARGIN`` of each objective's range over them
    (:func:`paretosweep.frontier.auto_reference_point`).
    """
    values, usable = objective_values(trials, objectives)
    finite = values[usable & np.isfinite(values).all(axis=1)]
    rule = f"first completed batch: nadir of {finite.shape[0]} trials + {FIRST_BATCH_MARGIN:g} x range"
    if finite.shape[0] == 0:
        return None, rule
    point = auto_reference_point(finite, [o.direction for o in objectives], margin=FIRST_BATCH_MARGIN)
    return tuple(point.tolist()), rule


def elapsed_since_first(trials: pa.Table, now: datetime, default_start: datetime) -> float:
    """Seconds from the earliest ``started_at`` (else ``finished_at``) of the trials to ``now``."""
    for key in ("started_at", "finished_at"):
        times = [t for t in trials.column(key).to_pylist() if t is not None]
        if times:
            return max(0.0, (now - min(times)).total_seconds())
    return (now - default_start).total_seconds()


def run_files(trials: pa.Table, progress: pa.Table, meta: RunMeta) -> list[tuple[str, pa.Table]]:
    """The three files of the storage contract, each with its schema and the run's metadata."""
    metadata = meta.encode()
    front, label = frontier_table(trials, meta)
    front_schema = frontier_schema(meta.metric_columns, [o.column for o in meta.objectives])
    return [
        (TRIALS_FILE, trials.cast(trials_schema(meta.metric_columns).with_metadata(metadata))),
        (FRONTIER_FILE, front.cast(front_schema.with_metadata({**metadata, META_HV_CONTRIBUTION: label}))),
        (PROGRESS_FILE, progress.cast(progress_schema().with_metadata(metadata))),
    ]


#: Progress columns :func:`recomputed_progress` recomputes (all but counts and times).
RECOMPUTED = ("frontier_size", "hypervolume", "hypervolume_method", "hypervolume_stderr", "igd_plus", "hv_ratio", "clipped")


def recomputed_progress(progress: pa.Table, trials: pa.Table, meta: RunMeta, exact: ExactFrontIndicators | None) -> pa.Table:
    """``progress`` with its indicators recomputed at ``meta``'s reference point: row ``k`` from the
    first ``trials_done`` trials in ingestion order, i.e. exactly the trials known when it was written."""
    done = progress.column("trials_done").to_pylist()
    rows = [progress_row(trials.slice(0, n), meta, meta.reference_point, exact) for n in done]
    for name in RECOMPUTED:
        index = progress.schema.get_field_index(name)
        field_ = progress.schema.field(index)
        progress = progress.set_column(index, field_, pa.array([r[name] for r in rows], field_.type))
    return progress


class ComputeCurve(NamedTuple):
    """The hypervolume of the run's frontier against the training compute spent, in finishing order.

    Point ``k`` is after the ``k``-th trial to finish: ``epochs[k]`` the epochs trained so far,
    summed over trials (each trial's own epochs: ``epochs_done``, less the shared epochs of a
    shared warm start, which count once, before every trial; a stopped trial counts the epochs it
    trained, a failed one those it reported), ``hypervolume[k]`` that of the frontier of the trials
    finished by then (as in progress.parquet: seed means, stopped trials where no seed completed),
    ``status[k]`` the trial's status (``stopped``: ended early by the scheduler). With the same
    training set every epoch, epochs are proportional to sample-epochs.
    """

    trial_ids: np.ndarray  # [n] str
    epochs: np.ndarray  # [n] cumulative
    hypervolume: np.ndarray  # [n]
    status: np.ndarray  # [n] str
    shared_epochs: int = 0


#: At most this many points are evaluated (evenly spaced over the trials, the last always): each needs its own frontier.
COMPUTE_CURVE_POINTS = 300


def shared_warm_epochs(spec: Mapping[str, Any] | None) -> int:
    """The epochs of a run's shared warm start (``warm_start: {from: shared, epochs: E}`` in its spec), else 0."""
    warm = (spec or {}).get("warm_start") or {}
    return int(warm.get("epochs") or 0) if warm.get("from", "shared") == "shared" else 0


def compute_curve(
    trials: pd.DataFrame,
    objectives: Sequence[Objective],
    metric_columns: Sequence[str],
    reference_point: Sequence[float] | None,
    *,
    shared_epochs: int = 0,
    max_points: int = COMPUTE_CURVE_POINTS,
) -> ComputeCurve:
    """The run's :class:`ComputeCurve` from its trial rows (trials.parquet as a DataFrame); HV 0 without a reference point."""
    if not len(trials):
        empty = np.zeros(0)
        return ComputeCurve(np.zeros(0, dtype=object), empty, empty, np.zeros(0, dtype=object), shared_epochs)
    order = trials.sort_values("finished_at", kind="stable", na_position="last") if "finished_at" in trials else trials
    frame = order.reset_index(drop=True)
    done = pd.to_numeric(frame["epochs_done"], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
    own = np.maximum(done - shared_epochs, 0.0)
    epochs = shared_epochs + np.cumsum(own)
    values = frame[[o.column for o in objectives]].to_numpy(dtype=np.float64, na_value=np.nan).reshape(len(frame), len(objectives))
    measured = frame["status"].isin(MEASURED_STATUSES).to_numpy(dtype=bool) & ~nan_rows(values)
    index = [list(metric_columns).index(o.column) for o in objectives]
    directions = [o.direction for o in objectives]
    n = len(frame)
    picks = np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(np.int64))
    hv = np.zeros(len(picks))
    for j, k in enumerate(picks):
        if reference_point is None or not measured[: k + 1].any():
            continue
        part = frame.iloc[: k + 1]
        groups = seed_groups(part, metric_columns, usable_rows(part, measured[: k + 1]))
        columns = frontier_columns(groups.mean[:, index], directions=directions, reference_point=reference_point, exact=None)
        hv[j] = float(columns["hypervolume"])
    return ComputeCurve(
        frame["trial_id"].to_numpy(dtype=object)[picks],
        epochs[picks],
        hv,
        frame["status"].to_numpy(dtype=object)[picks],
        shared_epochs,
    )
