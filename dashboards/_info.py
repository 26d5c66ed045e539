"""Records -> plot inputs: pure functions that turn trial DataFrames into NamedTuple infos.

Nothing here imports Plotly or Dash. Every info keeps the ``trial_id`` of each point, so a
click, a brush or an export always maps back to a row of ``trials.parquet``.

A completed trial is plotted exactly once in :class:`PointsInfo`'s groups, except that a
comparison-method trial on the frontier is in both its method group and the frontier
group (it is a frontier point *and* a labelled method marker). Failed and diverged trials
have no objective values and are only counted (:class:`SummaryInfo`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
import pandas as pd

from paretosweep.comparison import method_labels
from paretosweep.frontier import non_dominated_mask
from paretosweep.results import Objective
from paretosweep.results._progress import ComputeCurve, compute_curve, shared_warm_epochs

if TYPE_CHECKING:
    from paretosweep.dashboard._data import RunData

Role = Literal["trials", "frontier", "method"]


class PointGroup(NamedTuple):
    """One set of points drawn with one style: faded trials, the frontier, or one method."""

    role: Role
    label: str  # legend label: "Trials", "Frontier" or the method's name
    trial_ids: np.ndarray  # [n] str
    values: np.ndarray  # [n, k] objective values, columns in PointsInfo.objectives order
    weights: np.ndarray  # [n, m] swept weights; a method's mean effective weights
    on_frontier: np.ndarray  # [n] bool
    #: [n, k] each objective's value on the test split (reported only; NaN where absent), None with one split
    test_values: np.ndarray | None = None


class PointsInfo(NamedTuple):
    """Every plottable trial of a run, split into groups."""

    objectives: tuple[Objective, ...]
    tasks: tuple[str, ...]
    groups: tuple[PointGroup, ...]  # trials, frontier, then one group per method (sorted)


class ScatterInfo(NamedTuple):
    """A two-objective frontier scatter."""

    points: PointsInfo
    x: int  # objective index on the x axis
    y: int  # objective index on the y axis
    front_x: np.ndarray  # the frontier points non-dominated in (x, y), sorted by x
    front_y: np.ndarray


class TableInfo(NamedTuple):
    """Each plottable trial once: what parallel coordinates and brushing work on."""

    objectives: tuple[Objective, ...]
    tasks: tuple[str, ...]
    trial_ids: np.ndarray  # [n] str
    values: np.ndarray  # [n, k]
    weights: np.ndarray  # [n, m]
    role: np.ndarray  # [n] 0 = trial, 1 = frontier, 2 = method


class ProgressInfo(NamedTuple):
    """Hypervolume over the sweep, with its error where estimated, and exact-front indicators.

    ``hypervolume_stderr`` is NaN where the row's hypervolume is exact (or unlabelled) and the
    Monte Carlo standard error where it is an estimate; ``hv_ratio`` and ``igd_plus`` are NaN
    where the run has no exact front. All ``[n]``; ``None`` for files without those columns.
    ``compute``: the hypervolume against the epochs trained, trial by trial in finishing order
    (:func:`paretosweep.results._progress.compute_curve`; None unless built from the trials,
    :func:`run_progress_info`).
    """

    trials_done: np.ndarray
    compute_seconds: np.ndarray
    hypervolume: np.ndarray
    frontier_size: np.ndarray
    hypervolume_stderr: np.ndarray | None = None
    hv_ratio: np.ndarray | None = None
    igd_plus: np.ndarray | None = None
    compute: ComputeCurve | None = None


class SummaryInfo(NamedTuple):
    """Counts shown above a run's views."""

    name: str
    n_trials: int
    by_status: tuple[tuple[str, int], ...]
    n_frontier: int
    n_methods: int


def weight_matrix(column: pd.Series, m: int) -> np.ndarray:
    """``[n, m]`` float matrix from a list column; null or wrong-length rows become NaN."""
    out = np.full((len(column), m), np.nan)
    for i, w in enumerate(column.to_numpy()):
        if w is not None and not (isinstance(w, float) and np.isnan(w)) and len(w) == m:
            out[i] = np.asarray(w, dtype=np.float64)
    return out


def member_mask(trial_ids: np.ndarray, wanted: Collection[str]) -> np.ndarray:
    """Boolean mask of the ``trial_ids`` that are in ``wanted`` (hash lookup: O(n + k))."""
    return pd.Index(trial_ids, dtype=object).isin(list(wanted))


def points_info(
    trials: pd.DataFrame,
    frontier_ids: Collection[str],
    objectives: Sequence[Objective],
    tasks: Sequence[str],
    *,
    test_columns: Mapping[str, str] | None = None,
) -> PointsInfo:
    """Split the completed trials with finite objectives into plot groups.

    Args:
        trials: trials.parquet rows (any status).
        frontier_ids: ``trial_id`` of every frontier.parquet row.
        objectives: the run's objectives.
        tasks: task names in weight order.
        test_columns: metric column -> its test-split column (``RunData.test_columns``); when
            every objective has one, each group carries ``test_values`` (shown, never plotted).
    """
    objectives, tasks = tuple(objectives), tuple(tasks)
    cols = [o.column for o in objectives]
    values = trials[cols].to_numpy(dtype=np.float64) if len(trials) else np.empty((0, len(cols)))
    tests = [(test_columns or {}).get(c) for c in cols]
    test_values = None
    if cols and all(t is not None and t in trials.columns for t in tests):
        test_values = trials[tests].to_numpy(dtype=np.float64, na_value=np.nan).reshape(len(trials), len(cols))
    usable = (trials["status"] == "completed").to_numpy() & np.isfinite(values).all(axis=1)
    keep = ["trial_id", "kind", "method", "weights", "effective_weights_mean", *(["hparams"] if "hparams" in trials.columns else [])]
    done, values = trials[keep][usable], values[usable]
    test_values = None if test_values is None else test_values[usable]
    ids = done["trial_id"].to_numpy(dtype=object)
    on_front = member_mask(ids, frontier_ids)
    is_method = (done["kind"] == "method").to_numpy()
    weights = weight_matrix(done["weights"], len(tasks))
    weights[is_method] = weight_matrix(done["effective_weights_mean"], len(tasks))[is_method]

    def group(role: Role, label: str, mask: np.ndarray) -> PointGroup:
        tested = None if test_values is None else test_values[mask]
        return PointGroup(role, label, ids[mask], values[mask], weights[mask], on_front[mask], tested)

    groups = [group("trials", "Trials", ~is_method & ~on_front), group("frontier", "Frontier", on_front)]
    names = np.full(len(done), "", dtype=object)
    if is_method.any():  # configurations of one method (mgda, mgda upper_bound=true) are groups of their own
        methods = done[is_method].assign(method=done["method"][is_method].fillna("method"))
        names[is_method] = method_labels(methods)
    for name in sorted(set(names[is_method])):
        groups.append(group("method", name, is_method & (names == name)))
    return PointsInfo(objectives, tasks, tuple(groups))


def scatter_info(points: PointsInfo, x_column: str, y_column: str) -> ScatterInfo:
    """The frontier scatter of two objectives (by column name).

    The joining line runs through the frontier points that are non-dominated in the two
    plotted objectives alone (with two objectives: the whole frontier), sorted by x.

    Raises:
        KeyError: if a column is not an objective of the run.
    """
    columns = [o.column for o in points.objectives]
    for c in (x_column, y_column):
        if c not in columns:
            raise KeyError(f"`{c}` is not an objective of this run. Objectives: {', '.join(columns)}.")
    x, y = columns.index(x_column), columns.index(y_column)
    front = next(g for g in points.groups if g.role == "frontier").values[:, [x, y]]
    directions = [points.objectives[x].direction, points.objectives[y].direction]
    line = front[non_dominated_mask(front, directions=directions)] if len(front) else front
    line = line[np.argsort(line[:, 0], kind="stable")]
    return ScatterInfo(points, x, y, line[:, 0], line[:, 1])


def table_info(points: PointsInfo) -> TableInfo:
    """Each plotted trial once (the frontier copy of a method trial is dropped)."""
    method_ids = np.concatenate([g.trial_ids for g in points.groups if g.role == "method"] + [np.empty(0, object)])
    codes = {"trials": 0, "frontier": 1, "method": 2}
    keeps = [
        ~member_mask(g.trial_ids, method_ids) if g.role == "frontier" else np.ones(len(g.trial_ids), dtype=bool) for g in points.groups
    ]
    return TableInfo(
        points.objectives,
        points.tasks,
        np.concatenate([g.trial_ids[k] for g, k in zip(points.groups, keeps)]),
        np.concatenate([g.values[k] for g, k in zip(points.groups, keeps)]),
        np.concatenate([g.weights[k] for g, k in zip(points.groups, keeps)]),
        np.concatenate([np.full(int(k.sum()), codes[g.role], dtype=np.int8) for g, k in zip(points.groups, keeps)]),
    )


def thin_table(table: TableInfo, limit: int) -> TableInfo:
    """At most ``limit`` rows: every frontier and method row first, then evenly spaced others.

    Used where drawing every row would stall the browser (parallel coordinates of a
    100,000-trial run). Rows keep their order; with more than ``limit`` frontier and method
    rows, those are thinned evenly too.
    """
    n = len(table.trial_ids)
    if n <= limit:
        return table
    special = np.flatnonzero(table.role > 0)
    others = np.flatnonzero(table.role == 0)
    if len(special) >= limit:
        keep = special[_evenly(len(special), limit)]
    else:
        keep = np.concatenate([special, others[_evenly(len(others), limit - len(special))]])
    keep = np.sort(keep)
    return TableInfo(table.objectives, table.tasks, table.trial_ids[keep], table.values[keep], table.weights[keep], table.role[keep])


def _evenly(n: int, k: int) -> np.ndarray:
    """``k`` distinct positions spread evenly over ``range(n)`` (``k <= n``)."""
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def ids_in_ranges(table: TableInfo, ranges: Mapping[int, Sequence[Sequence[float]]]) -> list[str]:
    """Trial ids inside every brushed range of a parallel-coordinates plot.

    Args:
        table: the plotted rows.
        ranges: dimension index (weights first, then objectives, as in
            :func:`parcoords_columns`) -> list of ``[low, high]`` intervals (a union).
    """
    columns = np.column_stack([table.weights, table.values]) if len(table.trial_ids) else np.empty((0, 0))
    keep = np.ones(len(table.trial_ids), dtype=bool)
    for dim, intervals in ranges.items():
        inside = np.zeros_like(keep)
        for low, high in intervals:
            inside |= (columns[:, dim] >= low) & (columns[:, dim] <= high)
        keep &= inside
    return table.trial_ids[keep].tolist()


def parcoords_columns(table: TableInfo) -> list[str]:
    """Axis labels of the parallel-coordinates plot: ``w[task]`` for each task, then objectives."""
    return [f"w[{t}]" for t in table.tasks] + [o.column for o in table.objectives]


def selected_positions(trial_ids: np.ndarray, selected: Collection[str] | None) -> list[int] | None:
    """Positions of ``selected`` ids within ``trial_ids`` (None when nothing is selected)."""
    if selected is None:
        return None
    return np.flatnonzero(member_mask(trial_ids, selected)).tolist()


def progress_info(progress: pd.DataFrame) -> ProgressInfo:
    """Hypervolume against trials done and compute spent, in write order."""
    p = progress.sort_values("trials_done", kind="stable")

    def optional(name: str) -> np.ndarray | None:
        return p[name].to_numpy(dtype=np.float64, na_value=np.nan) if name in p.columns else None

    stderr = None
    if "hypervolume_method" in p.columns and "hypervolume_stderr" in p.columns:
        estimated = (p["hypervolume_method"] == "monte_carlo").fillna(False).to_numpy(dtype=bool)
        stderr = np.where(estimated, optional("hypervolume_stderr"), np.nan)
    return ProgressInfo(
        p["trials_done"].to_numpy(dtype=np.float64),
        p["compute_seconds"].to_numpy(dtype=np.float64),
        p["hypervolume"].to_numpy(dtype=np.float64),
        p["frontier_size"].to_numpy(dtype=np.float64),
        stderr,
        optional("hv_ratio"),
        optional("igd_plus"),
    )


def run_progress_info(run: RunData) -> ProgressInfo:
    """:func:`progress_info` of the run's progress rows, with the compute curve from its trials."""
    curve = compute_curve(run.trials, run.objectives, run.metric_columns, run.reference_point, shared_epochs=shared_warm_epochs(run.spec))
    return progress_info(run.progress)._replace(compute=curve)


def summary_info(name: str, trials: pd.DataFrame, frontier: pd.DataFrame) -> SummaryInfo:
    """Counts of trials by status, frontier size and number of method trials."""
    counts = trials["status"].value_counts()
    return SummaryInfo(
        name,
        len(trials),
        tuple((str(s), int(counts[s])) for s in sorted(counts.index)),
        len(frontier),
        int((trials["kind"] == "method").sum()),
    )


def frontier_hypervolume(frontier: pd.DataFrame, objectives: Sequence[Objective], reference_point: Sequence[float]) -> float:
    """Hypervolume of the frontier rows' objective values at ``reference_point`` (0 without rows)."""
    from paretosweep.frontier import hypervolume

    points = frontier[[o.column for o in objectives]].to_numpy(dtype=np.float64).reshape(len(frontier), len(objectives))
    points = points[np.isfinite(points).all(axis=1)]
    if not len(points):
        return 0.0
    return hypervolume(points, reference_point=reference_point, directions=[o.direction for o in objectives])
