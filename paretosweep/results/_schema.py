"""The Parquet storage contract: column names, types and schema metadata (single source).

A run directory holds three files (see ``../shared/DESIGN.md``):

* ``trials.parquet``   one row per trial, every status included;
* ``frontier.parquet`` the non-dominated completed trials plus ``hv_contribution``;
* ``progress.parquet`` trials done, compute spent and hypervolume over time;
* ``exact_front.parquet`` (only when the problem knows its exact front) a dense sample of that
  front, one float64 column per objective column; read back on resume so ``igd_plus`` and
  ``hv_ratio`` of progress.parquet can be recomputed.

Every file carries the schema-metadata key ``paretosweep.objectives``: a JSON list of
``{"name", "column", "direction"}``. Objective and metric columns (``f"{task}_{metric}"``,
float64) come after the fixed columns below; their names depend on the problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import pyarrow as pa

SCHEMA_VERSION = "1"

TRIALS_FILE = "trials.parquet"
FRONTIER_FILE = "frontier.parquet"
PROGRESS_FILE = "progress.parquet"
EXACT_FRONT_FILE = "exact_front.parquet"

META_OBJECTIVES = b"paretosweep.objectives"
META_SCHEMA_VERSION = b"paretosweep.schema_version"
META_TASKS = b"paretosweep.tasks"
META_REFERENCE_POINT = b"paretosweep.reference_point"
META_SPEC = b"paretosweep.spec"
#: How the run's reference point was fixed: ``spec``, ``problem`` or the first completed batch.
META_REFERENCE_RULE = b"paretosweep.reference_rule"
#: frontier.parquet: JSON ``{"method": "exact"|"monte_carlo", "stderr": [per row]}`` of ``hv_contribution``.
META_HV_CONTRIBUTION = b"paretosweep.hv_contribution"

STATUSES = ("completed", "failed", "diverged")
KINDS = ("scalarization", "method")

#: Fixed columns of trials.parquet / frontier.parquet, in order.
TRIAL_FIELDS: tuple[pa.Field, ...] = (
    pa.field("trial_id", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("scalarizer", pa.string()),  # linear / tchebycheff / smooth_tchebycheff (null for methods)
    pa.field("method", pa.string()),  # registry name of a comparison method (null for sweeps)
    pa.field("weights", pa.list_(pa.float64())),  # loss weights, task order (null if learnt)
    pa.field("effective_weights_mean", pa.list_(pa.float64())),  # weights a method applied
    pa.field("effective_weights_final", pa.list_(pa.float64())),
    pa.field("seed", pa.int64()),
    pa.field("lr", pa.float64()),
    pa.field("epochs", pa.int64()),
    pa.field("hparams", pa.string()),  # JSON object: method / scalarizer parameters
    pa.field("error", pa.string()),  # message of a failed or diverged trial
    pa.field("epochs_done", pa.int64()),
    pa.field("train_seconds", pa.float64()),  # time inside the trial function
    pa.field("started_at", pa.timestamp("ms", tz="UTC")),
    pa.field("finished_at", pa.timestamp("ms", tz="UTC")),
    pa.field("node", pa.string()),  # Ray node IP the trial ran on
    pa.field("device", pa.string()),  # cpu / cuda:0 ...
    pa.field("history", pa.string()),  # JSON list of per-epoch metric dicts
)

#: Columns frontier.parquet adds after the trial columns (then one ``<objective column>_stderr`` per objective).
#: A frontier row is a configuration: its metric columns hold the mean over its usable seeds.
FRONTIER_EXTRA_FIELDS: tuple[pa.Field, ...] = (
    pa.field("hv_contribution", pa.float64()),
    pa.field("n_seeds", pa.int64()),  # usable trials averaged into the row
    pa.field("seed_trial_ids", pa.list_(pa.string())),  # their trial ids (``trial_id`` is the lowest seed's)
)
STDERR_SUFFIX = "_stderr"

PROGRESS_FIELDS: tuple[pa.Field, ...] = (
    pa.field("trials_done", pa.int64()),  # trials finished (any status)
    pa.field("trials_completed", pa.int64()),
    pa.field("trials_failed", pa.int64()),  # failed + diverged
    pa.field("compute_seconds", pa.float64()),  # sum of train_seconds so far
    pa.field("elapsed_seconds", pa.float64()),  # wall time since the sweep started
    pa.field("frontier_size", pa.int64()),
    pa.field("hypervolume", pa.float64()),
    pa.field("time", pa.timestamp("ms", tz="UTC")),
    # Added in the same schema version (older files lack them; readers fill nulls):
    pa.field("hypervolume_method", pa.string()),  # "exact" or "monte_carlo" (an estimate)
    pa.field("hypervolume_stderr", pa.float64()),  # standard error of the estimate; 0.0 if exact
    pa.field("igd_plus", pa.float64()),  # IGD+ of the non-dominated set to the exact front (else null)
    pa.field("hv_ratio", pa.float64()),  # hypervolume / that of the exact front, same reference point
    pa.field("clipped", pa.int64()),  # completed points not better than the reference point in every objective
)
#: The progress columns every schema-version-1 file has (files written before the four above).
PROGRESS_BASE_FIELDS: tuple[pa.Field, ...] = PROGRESS_FIELDS[:8]


@dataclass(frozen=True)
class Objective:
    """One objective: ``name`` (the task), the metric ``column`` and its ``direction``."""

    name: str
    column: str
    direction: Literal["min", "max"]


def objectives_to_json(objectives: list[Objective] | tuple[Objective, ...]) -> str:
    """Serialise objectives for the ``paretosweep.objectives`` metadata key."""
    return json.dumps([asdict(o) for o in objectives])


def objectives_from_json(text: str | bytes) -> tuple[Objective, ...]:
    """Parse the ``paretosweep.objectives`` metadata value."""
    return tuple(Objective(**o) for o in json.loads(text))


def trials_schema(metric_columns: list[str] | tuple[str, ...]) -> pa.Schema:
    """Schema of trials.parquet for a problem with these metric columns."""
    return pa.schema([*TRIAL_FIELDS, *(pa.field(c, pa.float64()) for c in metric_columns)])


def frontier_schema(metric_columns: list[str] | tuple[str, ...], objective_columns: Sequence[str] = ()) -> pa.Schema:
    """Schema of frontier.parquet: the trials schema, ``FRONTIER_EXTRA_FIELDS``, and the standard
    error over seeds of each objective column (``<column>_stderr``; null for a single seed)."""
    stderr = [pa.field(f"{c}{STDERR_SUFFIX}", pa.float64()) for c in objective_columns]
    return pa.schema([*trials_schema(metric_columns), *FRONTIER_EXTRA_FIELDS, *stderr])


def progress_schema() -> pa.Schema:
    """Schema of progress.parquet."""
    return pa.schema(list(PROGRESS_FIELDS))
