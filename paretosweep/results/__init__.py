"""The results stage: the Parquet storage contract and the run directory that follows it.

``_schema`` (columns and metadata keys, defined once) · ``_fs`` (paths and URIs, atomic writes,
checked reads) · ``_meta`` (a run's metadata) · ``_rows`` (trial rows checked) · ``_progress`` (pure
indicators: the frontier table, progress rows) · ``_exact_front`` · ``_store`` (the run's lifecycle)
· ``_readers`` (``load_*``, also the dashboard's).
"""

from __future__ import annotations

from paretosweep.results._fs import atomic_write_table, resolve
from paretosweep.results._meta import RunMeta
from paretosweep.results._readers import load_frontier, load_progress, load_trials, read_objectives, read_run_meta
from paretosweep.results._schema import (
    EXACT_FRONT_FILE,
    FRONTIER_EXTRA_FIELDS,
    FRONTIER_FILE,
    KINDS,
    META_HV_CONTRIBUTION,
    META_OBJECTIVES,
    META_REFERENCE_POINT,
    META_REFERENCE_RULE,
    META_SCHEMA_VERSION,
    META_SPEC,
    META_SPLITS,
    META_TASKS,
    PROGRESS_BASE_FIELDS,
    PROGRESS_FIELDS,
    PROGRESS_FILE,
    SCHEMA_VERSION,
    STATUSES,
    STDERR_SUFFIX,
    TEST_PREFIX,
    TRIAL_FIELDS,
    TRIALS_FILE,
    Objective,
    RunSplits,
    as_test_column,
    frontier_schema,
    objectives_from_json,
    objectives_to_json,
    progress_schema,
    trials_schema,
)
from paretosweep.results._store import RunStore

__all__ = [
    "EXACT_FRONT_FILE",
    "FRONTIER_EXTRA_FIELDS",
    "FRONTIER_FILE",
    "KINDS",
    "META_HV_CONTRIBUTION",
    "META_OBJECTIVES",
    "META_REFERENCE_POINT",
    "META_REFERENCE_RULE",
    "META_SCHEMA_VERSION",
    "META_SPEC",
    "META_SPLITS",
    "META_TASKS",
    "PROGRESS_BASE_FIELDS",
    "PROGRESS_FIELDS",
    "PROGRESS_FILE",
    "SCHEMA_VERSION",
    "STATUSES",
    "STDERR_SUFFIX",
    "TEST_PREFIX",
    "TRIALS_FILE",
    "TRIAL_FIELDS",
    "Objective",
    "RunSplits",
    "RunMeta",
    "RunStore",
    "as_test_column",
    "atomic_write_table",
    "frontier_schema",
    "load_frontier",
    "load_progress",
    "load_trials",
    "objectives_from_json",
    "objectives_to_json",
    "progress_schema",
    "read_objectives",
    "read_run_meta",
    "resolve",
    "trials_schema",
]
