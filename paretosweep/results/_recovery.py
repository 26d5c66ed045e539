"""Rebuilding a run whose trials.parquet is damaged or gone, from everything else the run holds.

Sources, each trial taken from the first that has it:

1. trials.parquet itself, when it can still be read;
2. ``records/`` (one durable record per finished trial, see ``_journal``);
3. Ray Tune's results under ``_tune/<experiment>/<trial>/result.json``: a trial's last report
   carries its whole row (the ``row_key`` of the trainable);
4. frontier.parquet: a point made of one seed's trial is that trial's row (a point averaged over
   several seeds cannot be split back into its trials and is reported as lost).

The run's metadata comes from the sweep's plan, with the reference point (and its rule) that the
stored frontier or progress file already fixed, so hypervolumes stay comparable. A damaged file is
moved aside (``<name>.damaged-<UTC time>``), never deleted; the progress rows are kept when
progress.parquet can be read. If the recovered trials make a frontier with fewer points than the
stored one, the stored one is kept as ``frontier.parquet.before-recovery-<UTC time>`` and the
points lost are named in a warning: a frontier is never replaced by a smaller one silently.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep.errors import ResultSchemaError
from paretosweep.results._fs import check_columns, complete_progress, join, read_table
from paretosweep.results._journal import TrialJournal
from paretosweep.results._meta import RunMeta
from paretosweep.results._schema import (
    FRONTIER_FILE,
    META_REFERENCE_POINT,
    META_REFERENCE_RULE,
    PROGRESS_BASE_FIELDS,
    PROGRESS_FILE,
    TRIAL_FIELDS,
    TRIALS_FILE,
    trials_schema,
)

logger = logging.getLogger(__name__)

TUNE_DIR = "_tune"


@dataclass
class Recovered:
    """What a recovery found: rows by source, the stored progress, the fixed reference point, what was lost."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=lambda: {"trials.parquet": 0, "records": 0, "tune": 0, "frontier": 0})
    progress: pa.Table | None = None
    reference_point: tuple[float, ...] | None = None
    reference_rule: str | None = None
    moved_aside: list[str] = field(default_factory=list)
    frontier_ids: list[str] = field(default_factory=list)  # trial ids of the stored frontier's points
    frontier_rows: int | None = None  # points in the stored frontier (None: none readable)
    unrecoverable: list[str] = field(default_factory=list)  # frontier trials found in no source

    def add(self, source: str, row: Mapping[str, Any]) -> None:
        trial_id = row.get("trial_id")
        if isinstance(trial_id, str) and trial_id not in self.rows:
            self.rows[trial_id] = dict(row)
            self.sources[source] += 1

    def summary(self) -> str:
        parts = [f"{n} from {name}" for name, n in self.sources.items() if n]
        return f"{len(self.rows)} trial(s) recovered ({', '.join(parts) or 'none found'})"


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _move_aside(fs: pafs.FileSystem, path: str, suffix: str) -> str:
    target = f"{path}.{suffix}-{_stamp()}"
    fs.move(path, target)
    return target


def _table_rows(table: pa.Table, metric_columns: tuple[str, ...]) -> list[dict[str, Any]]:
    names = [n for n in trials_schema(metric_columns).names if n in table.column_names]
    return table.select(names).to_pylist()


def gather(fs: pafs.FileSystem, root: str, location: str, meta: RunMeta, *, row_key: str | None) -> Recovered:
    """Collect the run's trials from every source (see the module docstring); moves damaged files aside."""
    found = Recovered()
    trials_path = join(fs, root, TRIALS_FILE)
    if fs.get_file_info(trials_path).type == pafs.FileType.File:
        try:
            table = read_table(fs, trials_path, location)
            check_columns(table, TRIAL_FIELDS, trials_path, prefix=True)
            for row in _table_rows(table, meta.metric_columns):
                found.add("trials.parquet", row)
        except ResultSchemaError as error:
            found.moved_aside.append(_move_aside(fs, trials_path, "damaged"))
            logger.warning("`%s` cannot be read (%s); moved aside to `%s`.", trials_path, error, found.moved_aside[-1])
    for row in TrialJournal(fs, root).read():
        found.add("records", row)
    if row_key is not None:
        for row in tune_rows(fs, join(fs, root, TUNE_DIR), row_key):
            found.add("tune", row)
    _from_frontier(fs, root, location, meta, found)
    _from_progress(fs, root, location, found)
    return found


def _reference_from(table: pa.Table, found: Recovered, n_objectives: int) -> None:
    if found.reference_point is not None:
        return
    metadata = table.schema.metadata or {}
    try:
        point = json.loads(metadata.get(META_REFERENCE_POINT, b"null"))
        rule = json.loads(metadata.get(META_REFERENCE_RULE, b"null"))
    except ValueError:
        return
    if isinstance(point, list) and len(point) == n_objectives:
        found.reference_point, found.reference_rule = tuple(float(v) for v in point), rule


def _from_frontier(fs: pafs.FileSystem, root: str, location: str, meta: RunMeta, found: Recovered) -> None:
    path = join(fs, root, FRONTIER_FILE)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return
    try:
        table = read_table(fs, path, location)
    except ResultSchemaError as error:
        found.moved_aside.append(_move_aside(fs, path, "damaged"))
        logger.warning("`%s` cannot be read (%s); moved aside to `%s`.", path, error, found.moved_aside[-1])
        return
    _reference_from(table, found, len(meta.objectives))
    found.frontier_rows = table.num_rows
    for point in table.to_pylist():
        ids = point.get("seed_trial_ids") or [point["trial_id"]]
        found.frontier_ids.extend(str(t) for t in ids)
        if len(ids) == 1 and point["trial_id"] not in found.rows:
            found.add("frontier", {k: point[k] for k in trials_schema(meta.metric_columns).names if k in point})
    found.unrecoverable = [t for t in found.frontier_ids if t not in found.rows]


def _from_progress(fs: pafs.FileSystem, root: str, location: str, found: Recovered) -> None:
    path = join(fs, root, PROGRESS_FILE)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return
    try:
        table = read_table(fs, path, location)
        check_columns(table, PROGRESS_BASE_FIELDS, path, prefix=True)
    except ResultSchemaError as error:
        found.moved_aside.append(_move_aside(fs, path, "damaged"))
        logger.warning("`%s` cannot be read (%s); moved aside to `%s`.", path, error, found.moved_aside[-1])
        return
    if found.reference_point is None:
        point = json.loads((table.schema.metadata or {}).get(META_REFERENCE_POINT, b"null"))
        if isinstance(point, list):
            found.reference_point = tuple(float(v) for v in point)
            found.reference_rule = json.loads((table.schema.metadata or {}).get(META_REFERENCE_RULE, b"null"))
    found.progress = complete_progress(table.replace_schema_metadata(None))


def tune_rows(fs: pafs.FileSystem, tune_dir: str, row_key: str) -> list[dict[str, Any]]:
    """The rows that Tune's ``result.json`` files hold (a trial's last report carries its row, a pack's a list)."""
    rows: list[dict[str, Any]] = []
    try:
        experiments = fs.get_file_info(pafs.FileSelector(tune_dir, allow_not_found=True))
    except (OSError, pa.ArrowException):
        return rows
    for experiment in experiments:
        if experiment.type != pafs.FileType.Directory:
            continue
        for trial in fs.get_file_info(pafs.FileSelector(experiment.path)):
            if trial.type != pafs.FileType.Directory:
                continue
            path = join(fs, trial.path, "result.json")
            try:
                with fs.open_input_stream(path) as stream:
                    lines = stream.read().decode(errors="replace").splitlines()
            except (OSError, pa.ArrowException):
                continue
            for line in reversed(lines):
                try:
                    result = json.loads(line)
                except ValueError:
                    continue  # a line cut short by the kill
                if isinstance(result, dict) and row_key in result:
                    payload = json.loads(result[row_key])
                    rows.extend(r for r in (payload if isinstance(payload, list) else [payload]) if isinstance(r, dict))
                    break
    return rows
