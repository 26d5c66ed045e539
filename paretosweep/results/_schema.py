"""The Parquet storage contract: column names, types and schema metadata (single source).

A run directory holds three files (see ``../shared/DESIGN.md``):

* ``trials.parquet``   one row per trial, every status included;
* ``frontier.parquet`` the non-dominated measured trials (completed, or ``stopped`` early by the
  sweep's scheduler, their ``status`` says which) plus ``hv_contribution``;
* ``progress.parquet`` trials done, compute spent and hypervolume over time;
* ``conditioned/proposals.parquet`` (only with ``sampler: conditioned``) the conditioned model's
  proposals: the trials columns, ``kind = "conditioned"``, one row per evaluated weight vector;
  proposals, not trials, so no frontier or progress row ever holds them (``_proposals``);
* ``exact_front.parquet`` (only when the problem knows its exact front) a dense sample of that
  front, one float64 column per objective column; read back on resume so ``igd_plus`` and
  ``hv_ratio`` of progress.parquet can be recomputed.

Every file carries the schema-metadata key ``paretosweep.objectives``: a JSON list of
``{"name", "column", "direction"}``. Objective and metric columns (``f"{task}_{metric}"``,
float64) come after the fixed columns below; their names depend on the problem.

Selection and reporting use different data when the problem has a test split: the metric
columns ``<task>_<metric>`` hold the *validation* metrics, which alone choose (frontier,
hypervolume, picks, adaptive samplers, compare), and ``test_<task>_<metric>`` (see
:func:`as_test_column`) the *test* metrics of the trained model, which are only reported. The
key ``paretosweep.splits`` (:class:`RunSplits`) says which columns hold test values, or that the
run has one split only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import pyarrow as pa

from paretosweep.errors import ConfigError
from paretosweep.frontier._objective import Objective

SCHEMA_VERSION = "2"
#: Versions this paretosweep still reads: version 1 lacks the ``checkpoint`` column (read as null).
READABLE_SCHEMA_VERSIONS = ("1", "2")

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
#: Which split chose the frontier and which columns hold held-out test values (JSON, see :class:`RunSplits`).
META_SPLITS = b"paretosweep.splits"
#: trials.parquet: its generation (a count of its rewrites, JSON int); frontier.parquet and
#: progress.parquet: the generation of trials.parquet they were made from. A derived file whose
#: generation is lower than the trials file's is stale (see ``_readers`` and ``RunStore.open``).
META_GENERATION = b"paretosweep.generation"
#: Prefix of the column holding a metric's value on the test split: ``test_left_acc``.
TEST_PREFIX = "test_"

#: ``stopped``: ended at a rung by the early-stopping scheduler (``scheduler:``), its last metrics, ``epochs_done`` and checkpoint kept.
STATUSES = ("completed", "failed", "diverged", "stopped")
#: ``conditioned``: a proposal of the weight-conditioned model (``sampler: conditioned``), stored in
#: ``conditioned/proposals.parquet`` with these columns, never in trials.parquet or the frontier.
KINDS = ("scalarization", "method", "conditioned")

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
    pa.field("checkpoint", pa.string()),  # the trial's last checkpoint, relative to the run directory (null: none kept)
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
    pa.field("trials_stopped", pa.int64()),  # stopped early by the scheduler (their compute is in compute_seconds)
)
#: The progress columns every schema-version-1 file has (files written before the four above).
PROGRESS_BASE_FIELDS: tuple[pa.Field, ...] = PROGRESS_FIELDS[:8]


def as_test_column(column: str) -> str:
    """The column of a metric's test-split value: ``as_test_column("left_acc") == "test_left_acc"``."""
    return f"{TEST_PREFIX}{column}"


@dataclass(frozen=True)
class RunSplits:
    """Which data chose a run's frontier and which reported it (the ``paretosweep.splits`` key).

    Attributes:
        selection: what the ``<task>_<metric>`` columns, which choose, were measured on
            (a problem's ``evaluate``): ``validation``, or ``function`` for an analytic problem
            without data.
        report: ``test`` when the problem has a held-out test split (its ``evaluate_test``),
            else None: the metrics that choose the frontier also report it.
        test_columns: metric column -> the column holding its test value (empty without a test split).
        note: one line for readers, e.g. why an analytic problem has no test split.
    """

    selection: str = "validation"
    report: str | None = None
    test_columns: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def summary(self) -> str:
        """One line for a reader: which split chose and which only reports (or why there is one split)."""
        if self.report:
            return f"chosen on the {self.selection} split; test_* values: the {self.report} split, reported only"
        return f"one split ({self.selection}): {self.note}" if self.note else f"one split ({self.selection})"

    def check(self, metric_columns: Sequence[str], objective_columns: Sequence[str]) -> None:
        """Each test column is a metric column holding the test value of another metric column, not an objective.

        Raises:
            ConfigError: naming the offending pair and the run's metric columns.
        """
        taken = set(objective_columns) | set(self.test_columns)
        for source, target in self.test_columns.items():
            if source not in metric_columns or target not in metric_columns or target in taken:
                raise ConfigError(
                    "`splits.test_columns` should map metric columns to other metric columns that are not objectives. "
                    f"Found `{source}` -> `{target}` with metric columns {list(metric_columns)}."
                )

    def to_json(self) -> str:
        """The metadata value: ``{"selection", "report", "test_columns", "note"}``."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> RunSplits | None:
        """Parse the metadata value (None for JSON ``null``).

        Raises:
            ValueError, TypeError: text that is not such a JSON object.
        """
        data = json.loads(text)
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("test_columns", {}), dict):
            raise TypeError(f"`{META_SPLITS.decode()}` should be a JSON object with a `test_columns` mapping; found {data!r}")
        return cls(
            selection=str(data.get("selection", "validation")),
            report=None if data.get("report") is None else str(data["report"]),
            test_columns={str(k): str(v) for k, v in data.get("test_columns", {}).items()},
            note=str(data.get("note", "")),
        )


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
