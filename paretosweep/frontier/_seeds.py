"""Seeds of one configuration as one point: the mean over seeds, with its standard error.

A *configuration* is everything that defines a trial but its seed: the kind, the scalarizer or
method, the weight vector, the learning rate and the other hyper-parameters (bookkeeping such
as retry counts and pack ids excluded). With ``budget.seeds_per_weight > 1`` a configuration
has several trials; non-dominance computed per trial would let the frontier (and the knee)
land on a lucky seed. The frontier is therefore computed over configuration means:

.. math::

    \\bar y_c = \\frac{1}{n_c} \\sum_{s=1}^{n_c} y_{c,s}, \\qquad
    \\mathrm{SE}_c = \\frac{\\mathrm{sd}(y_{c,1..n_c})}{\\sqrt{n_c}} \\quad (\\text{ddof}=1;
    \\text{ NaN for } n_c = 1)

over the configuration's *usable* trials (:func:`usable_rows`: completed, or stopped early by the
sweep's scheduler when none of the configuration's seeds completed; every value column finite).
Pure numpy/pandas: the run store, ``compare`` and the dashboard share it.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: hparams keys that are bookkeeping of how a trial ran, not part of its configuration.
BOOKKEEPING_HPARAMS = ("attempts", "lost_nodes", "pack_id", "pack_size", "pack_seconds", "warm_from")
#: Columns that identify a configuration (with the canonical hparams).
CONFIGURATION_COLUMNS = ("kind", "scalarizer", "method", "weights", "lr")
#: Statuses whose metrics measure a trained model: ``completed`` (its whole budget) and ``stopped``
#: (ended at a rung by the early-stopping scheduler, ``paretosweep.sweep._pareto_asha``).
MEASURED_STATUSES = ("completed", "stopped")


def hparams_key(value: Any) -> str:
    """Canonical JSON of a trial's ``hparams`` without the bookkeeping keys (``"{}"`` when absent)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "{}"
    parsed = json.loads(value) if isinstance(value, str) else value
    return json.dumps({k: v for k, v in dict(parsed).items() if k not in BOOKKEEPING_HPARAMS}, sort_keys=True)


def configuration_keys(frame: pd.DataFrame) -> list[str]:
    """One string per row naming its configuration (equal for the seeds of one configuration).

    Reads the columns of :data:`CONFIGURATION_COLUMNS` and ``hparams`` that are present; weights
    are rounded to 9 digits. A scalarization row without weights is a configuration of its own.
    """

    def cell(value: Any) -> Any:
        if isinstance(value, (list, tuple, np.ndarray)):
            return [round(float(v), 9) for v in value]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value.item() if isinstance(value, np.generic) else value

    columns = [c for c in CONFIGURATION_COLUMNS if c in frame.columns]
    hparams = frame["hparams"] if "hparams" in frame.columns else [None] * len(frame)
    ids = frame["trial_id"] if "trial_id" in frame.columns else range(len(frame))
    keys = []
    for record, h, trial_id in zip(frame[columns].to_dict("records"), hparams, ids, strict=True):
        if record.get("kind", "scalarization") == "scalarization" and cell(record.get("weights")) is None:
            keys.append(json.dumps(["trial", str(trial_id)]))  # no weight vector to tell its seeds apart by
        else:
            keys.append(json.dumps([[cell(record[c]) for c in columns], hparams_key(h)], default=str))
    return keys


def usable_rows(frame: pd.DataFrame, finite: np.ndarray, *, statuses: Sequence[str] = MEASURED_STATUSES) -> np.ndarray:
    """``[n]`` rows that count for the frontier: ``finite`` ones whose ``status`` is in ``statuses`` (never a proposal).

    A ``stopped`` row counts only when no row of its configuration completed: a configuration's
    point is the mean over its fully trained seeds, over its stopped ones only when none completed,
    never a mix of training lengths. ``statuses=("completed",)`` keeps fully trained trials only.
    """
    status = frame["status"].to_numpy()
    if "kind" in frame.columns:  # a conditioned model's proposals (kind `conditioned`) are not measured trials
        finite = np.asarray(finite, dtype=bool) & (frame["kind"] != "conditioned").to_numpy()
    completed = (status == "completed") & finite if "completed" in statuses else np.zeros(len(frame), dtype=bool)
    stopped = (status == "stopped") & finite if "stopped" in statuses else np.zeros(len(frame), dtype=bool)
    if stopped.any() and completed.any():
        keys = configuration_keys(frame)
        trained = {key for key, done in zip(keys, completed, strict=True) if done}
        stopped &= np.asarray([key not in trained for key in keys], dtype=bool)
    return np.asarray(completed | stopped, dtype=bool)


@dataclass(frozen=True)
class SeedGroups:
    """Usable trials grouped by configuration, in order of first appearance.

    Attributes:
        representative: ``[g]`` row position (in the frame given) of each group's trial with
            the lowest seed; its non-value columns stand for the group.
        members: per group, the row positions of its usable trials.
        mean: ``[g, c]`` mean of each value column over the group's usable trials.
        stderr: ``[g, c]`` standard error of that mean (NaN for a single seed).
    """

    representative: np.ndarray
    members: tuple[np.ndarray, ...]
    mean: np.ndarray
    stderr: np.ndarray

    @property
    def n_seeds(self) -> np.ndarray:
        """``[g]`` usable trials per group."""
        return np.asarray([m.size for m in self.members], dtype=np.int64)


def seed_groups(frame: pd.DataFrame, value_columns: Sequence[str], usable: np.ndarray | None = None) -> SeedGroups:
    """Group the usable rows of ``frame`` by configuration and average ``value_columns`` over seeds.

    Args:
        frame: trial rows (the columns of trials.parquet; ``seed`` is read when present).
        value_columns: the float columns to average (objectives, metrics); NaN entries of a
            usable row are left out of its column's mean.
        usable: ``[n]`` rows that count (default: :func:`usable_rows` with every value column finite).

    Returns:
        The groups; empty arrays when no row is usable.
    """
    values = frame[list(value_columns)].to_numpy(dtype=np.float64, na_value=np.nan).reshape(len(frame), len(value_columns))
    if usable is None:
        usable = usable_rows(frame, np.isfinite(values).all(axis=1))
    positions = np.flatnonzero(usable)
    keys = configuration_keys(frame.iloc[positions]) if positions.size else []
    seeds = frame["seed"].to_numpy() if "seed" in frame.columns else np.zeros(len(frame))
    order: dict[str, list[int]] = {}
    for position, key in zip(positions.tolist(), keys, strict=True):
        order.setdefault(key, []).append(position)
    members = tuple(np.asarray(rows, dtype=np.int64) for rows in order.values())
    c = len(value_columns)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a metric no seed reported averages to NaN
        mean = np.asarray([np.nanmean(values[m], axis=0) for m in members]).reshape(len(members), c)
        stderr = np.asarray(
            [np.nanstd(values[m], axis=0, ddof=1) / np.sqrt(m.size) if m.size > 1 else np.full(c, np.nan) for m in members]
        ).reshape(len(members), c)
    representative = np.asarray([m[int(np.argmin(seeds[m]))] for m in members], dtype=np.int64)
    return SeedGroups(representative, members, mean, stderr)


#: ``kind`` values :func:`configuration_front` accepts (``all``: every kind).
FRONT_KINDS = ("scalarization", "method", "all")


def configuration_front(
    trials: pd.DataFrame,
    objectives: Sequence[Any],
    *,
    kind: str = "all",
    reported: Sequence[str] = (),
    statuses: Sequence[str] = MEASURED_STATUSES,
) -> pd.DataFrame:
    """The non-dominated configurations of ``trials`` (seed means), as frontier.parquet lays them out.

    Each row is a configuration's lowest-seed trial with its objective columns replaced by the
    means over its usable seeds, plus ``n_seeds``, ``seed_trial_ids`` and ``<column>_stderr``.

    Args:
        trials: rows of trials.parquet.
        objectives: the run's objectives (``column``, ``direction``).
        kind: ``scalarization`` or ``method`` keeps only that kind's trials first; ``all`` keeps every one.
        reported: more columns averaged over the same seeds (e.g. the objectives' ``test_*``
            columns); they never decide which rows are usable or non-dominated.
        statuses: which trials count (:func:`usable_rows`); ``("completed",)``: fully trained ones only.

    Raises:
        UnknownNameError: an unknown ``kind``.
    """
    from paretosweep.errors import unknown_name
    from paretosweep.frontier._pareto import non_dominated_mask

    if kind not in FRONT_KINDS:
        raise unknown_name("kind", kind, FRONT_KINDS)
    rows = trials if kind == "all" else trials[trials["kind"] == kind]
    rows = rows.reset_index(drop=True)
    columns = [o.column for o in objectives]
    extra = [c for c in reported if c not in columns]
    objective_values = rows[columns].to_numpy(dtype=np.float64, na_value=np.nan).reshape(len(rows), len(columns))
    usable = usable_rows(rows, np.isfinite(objective_values).all(axis=1), statuses=statuses)
    groups = seed_groups(rows, [*columns, *extra], usable)
    if not len(groups.mean):
        return rows.iloc[:0].assign(n_seeds=pd.Series(dtype="int64"), seed_trial_ids=pd.Series(dtype=object))
    means = groups.mean[:, : len(columns)]
    mask = non_dominated_mask(means, directions=[o.direction for o in objectives])
    front = rows.iloc[groups.representative[mask]].reset_index(drop=True)
    front[[*columns, *extra]] = groups.mean[mask]
    ids = rows["trial_id"].to_numpy() if "trial_id" in rows.columns else np.arange(len(rows)).astype(str)
    front["n_seeds"] = groups.n_seeds[mask]
    front["seed_trial_ids"] = [ids[m].tolist() for m, keep in zip(groups.members, mask, strict=True) if keep]
    for j, column in enumerate(columns):
        front[f"{column}_stderr"] = groups.stderr[mask, j]
    return front
