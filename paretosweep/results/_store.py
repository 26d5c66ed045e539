"""A run directory's lifecycle: create or reopen it, ingest trial rows, rewrite its files.

``RunStore`` keeps the trials of a run in memory (a pyarrow table in ingestion order),
ingests new results idempotently by ``trial_id`` and rewrites the three files on
``write()`` (plus ``exact_front.parquet`` once, when the driver passes the problem's exact
front with ``set_exact_front``). What the files hold is computed by ``_progress`` (frontier,
progress rows), written by ``_fs`` (atomic writes) with the metadata of ``_meta``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep.errors import ConfigError, ResultSchemaError, RunDirectoryError
from paretosweep.results._exact_front import ExactFrontIndicators
from paretosweep.results._fs import atomic_write_table, join, resolve
from paretosweep.results._journal import TrialJournal
from paretosweep.results._meta import RunMeta, validate_meta
from paretosweep.results._progress import elapsed_since_first, first_batch_reference, progress_row, recomputed_progress, run_files
from paretosweep.results._readers import file_generation, load_table, read_stored_run
from paretosweep.results._recovery import Recovered, gather
from paretosweep.results._rows import clean_row, null_where, rows_to_table
from paretosweep.results._schema import (
    EXACT_FRONT_FILE,
    FRONTIER_FILE,
    META_GENERATION,
    PROGRESS_FILE,
    TRIALS_FILE,
    Objective,
    RunSplits,
    progress_schema,
    trials_schema,
)

logger = logging.getLogger(__name__)

#: Fault injection for tests: ``PARETOSWEEP_KILL_AFTER_TRIALS=<generation>`` SIGKILLs the process right after
#: trials.parquet of that generation is renamed into place, before the files derived from it are.
KILL_ENV = "PARETOSWEEP_KILL_AFTER_TRIALS"


def _fault_point(generation: int) -> None:
    if os.environ.get(KILL_ENV) == str(generation):
        os.kill(os.getpid(), signal.SIGKILL)


#: Rows ingested one batch at a time make one Arrow chunk each; past this many the table is compacted.
_MAX_CHUNKS = 32


class RunStore:
    """One run directory: ``trials.parquet``, ``frontier.parquet`` and ``progress.parquet``.

    ``RunStore(path)`` binds to a directory and, if it already holds a run, re-reads it so
    a resumed sweep keeps every stored row; call ``create(...)`` to start a new run there.
    Rows are kept in memory in ingestion order; ``write()`` rewrites the files atomically.
    ``record(rows)`` makes rows durable first (``records/``, see ``_journal``) and then ingests
    them; ``ingest_records()`` takes in the records a trials.parquet does not hold yet, and
    ``recover(...)`` rebuilds a run whose trials.parquet is damaged or gone (see ``_recovery``).

    Every rewrite of trials.parquet raises its generation (``paretosweep.generation`` in the
    metadata); frontier.parquet and progress.parquet carry the generation they were made from,
    so a file left behind by a crash between two renames is seen as such (``stale_files()``).

    Args:
        path_or_uri: local directory or pyarrow filesystem URI.
        filesystem: a pyarrow filesystem that ``path_or_uri`` lives on (skips URI parsing).
        load: re-read a run found there (False: bind only, e.g. to ``recover`` a damaged one).

    Raises:
        ResultSchemaError: if the directory holds a corrupt or foreign trials file.
    """

    def __init__(self, path_or_uri: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None, load: bool = True) -> None:
        self._fs, self._root = resolve(path_or_uri, filesystem)
        self._location = os.fspath(path_or_uri)
        self._meta: RunMeta | None = None
        self._trials = pa.table({})
        self._progress = progress_schema().empty_table()
        self._ids: set[str] = set()
        self._exact: ExactFrontIndicators | None = None
        self._opened_at = datetime.now(timezone.utc)
        self._generation = 0
        self.journal = TrialJournal(self._fs, self._root)
        if load and self._fs.get_file_info(self._file(TRIALS_FILE)).type != pafs.FileType.NotFound:
            self._load()

    # -- properties --------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The directory (or URI) as given."""
        return self._location

    @property
    def location(self) -> tuple[pafs.FileSystem, str]:
        """(filesystem, directory inside it) of the run."""
        return self._fs, self._root

    def exists(self) -> bool:
        """Whether the directory holds a run (created here or re-read from disk)."""
        return self._meta is not None

    @property
    def generation(self) -> int:
        """How many times trials.parquet was written (0: never, or by a paretosweep without generations)."""
        return self._generation

    def trial_ids(self) -> frozenset[str]:
        """The ids of every stored trial, any status."""
        return frozenset(self._ids)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The run's objectives, in metadata order."""
        return self._require().objectives

    @property
    def metric_columns(self) -> tuple[str, ...]:
        """Every float metric column, objectives included, in column order."""
        return self._require().metric_columns

    @property
    def tasks(self) -> tuple[str, ...]:
        """The task names, in weight order."""
        return self._require().tasks

    @property
    def reference_point(self) -> tuple[float, ...] | None:
        """The run's hypervolume reference point (raw units), or None until the first completed batch fixes it."""
        return self._require().reference_point

    @property
    def reference_rule(self) -> str | None:
        """Where the reference point came from (``spec``, ``problem``, the first completed batch)."""
        return self._require().reference_rule

    @property
    def splits(self) -> RunSplits | None:
        """Which split chose the frontier and which columns hold test values (None: not recorded)."""
        return self._require().splits

    @property
    def exact_front(self) -> np.ndarray | None:
        """The exact front's ``[k, m]`` points in objective order (a copy), or None."""
        return None if self._exact is None else self._exact.points.copy()

    @property
    def spec(self) -> dict[str, Any]:
        """The sweep spec stored with the run (a copy)."""
        return json.loads(json.dumps(self._require().spec))

    def __len__(self) -> int:
        return self._trials.num_rows

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self._ids

    # -- lifecycle ---------------------------------------------------------------------
    def create(
        self,
        *,
        objectives: Sequence[Objective],
        tasks: Sequence[str],
        metric_columns: Sequence[str],
        reference_point: Sequence[float] | None = None,
        reference_rule: str | None = None,
        spec: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        splits: RunSplits | None = None,
    ) -> RunStore:
        """Start a new, empty run here and write its three files; returns ``self``.

        Args:
            objectives: the objectives; each ``column`` must be in ``metric_columns``.
            tasks: task names in weight order.
            metric_columns: every float metric column of the problem, in order.
            reference_point: hypervolume reference point in raw units, or None to fix it from
                the first completed batch (see ``write``).
            reference_rule: where ``reference_point`` comes from (``spec``, ``problem``...),
                stored in the metadata beside it.
            spec: the sweep spec, stored as JSON.
            overwrite: replace a run that is already there.
            splits: which split chose and which columns hold test values (``paretosweep.splits``);
                None writes JSON ``null`` (unknown).

        Raises:
            RunDirectoryError: if a run exists here and ``overwrite`` is False.
            ConfigError: if objectives, columns and reference point do not fit together.
        """
        if self.exists() and not overwrite:
            raise RunDirectoryError(
                f"`{self._location}` already holds a paretosweep run. Open it with `RunStore(path)` "
                "to resume (--resume), or pass overwrite=True (--overwrite) to start over."
            )
        meta = RunMeta.of(
            objectives=objectives,
            tasks=tasks,
            metric_columns=metric_columns,
            reference_point=reference_point,
            reference_rule=reference_rule,
            spec=spec,
            splits=splits,
        )
        validate_meta(meta)
        self._meta = meta
        self._trials = trials_schema(meta.metric_columns).empty_table()
        self._progress = progress_schema().empty_table()
        self._ids = set()
        self._exact = None
        if self._fs.get_file_info(self._file(EXACT_FRONT_FILE)).type == pafs.FileType.File:
            self._fs.delete_file(self._file(EXACT_FRONT_FILE))  # a replaced run's front is not this run's
        self.journal.clear()  # nor are its trial records
        self._write_files()
        return self

    def open(self) -> RunStore:
        """Re-read the run from disk (dropping unsaved rows); returns ``self``.

        Raises:
            ResultSchemaError: if there is no run here, or a file is corrupt or foreign.
        """
        if self._fs.get_file_info(self._file(TRIALS_FILE)).type == pafs.FileType.NotFound:
            self._meta = None
        else:
            self._load()
        self._require()
        return self

    def _load(self) -> None:
        stored = read_stored_run(self._fs, self._root, self._location)
        self._meta, self._trials, self._exact = stored.meta, stored.trials, stored.exact
        if stored.progress is not None:  # absent after a crash between two writes
            self._progress = stored.progress
        self._ids = set(self._trials.column("trial_id").to_pylist())
        self._generation = stored.generation

    def stale_files(self) -> list[str]:
        """The derived files (frontier, progress) missing or made from an older trials.parquet than the stored one."""
        if self._fs.get_file_info(self._file(TRIALS_FILE)).type == pafs.FileType.NotFound:
            return []
        stored = file_generation(self._fs, self._file(TRIALS_FILE))
        stale = []
        for name in (FRONTIER_FILE, PROGRESS_FILE):
            if self._fs.get_file_info(self._file(name)).type == pafs.FileType.NotFound:
                stale.append(name)
                continue
            try:
                made_from = file_generation(self._fs, self._file(name))
            except ResultSchemaError:
                stale.append(name)
                continue
            if stored is not None and (made_from is None or made_from < stored):
                stale.append(name)
        return stale

    def record(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Hand the rows to ``records/`` (one durable record per new trial id, see ``_journal``), then ``ingest`` them;
        returns how many were added. ``journal.sync()`` waits until the records are on disk."""
        fresh: dict[str, Mapping[str, Any]] = {}
        for row in rows:
            trial_id = row.get("trial_id")
            if isinstance(trial_id, str) and trial_id not in self._ids:
                fresh.setdefault(trial_id, row)
        self.journal.append(fresh.values())
        return self.ingest(fresh.values())

    def ingest_records(self) -> int:
        """Ingest the rows of ``records/`` whose trials are not stored yet; returns how many were added.

        A record that does not fit the run's schema is skipped with a warning.
        """
        self.journal.sync()
        missing = self.journal.ids() - self._ids
        if not missing:
            return 0
        added = 0
        for row in self.journal.read(missing):
            try:
                added += self.ingest([row])
            except ResultSchemaError as error:
                logger.warning("Skipping the trial record of `%s`: %s", row.get("trial_id"), error)
        return added

    def recover(self, meta: RunMeta, *, row_key: str | None = None) -> Recovered:
        """Rebuild the run from whatever it still holds and rewrite its files (see ``_recovery``).

        ``meta`` describes the run as ``create`` takes it (``RunMeta.of`` on the sweep's plan); a
        reference point the stored frontier or progress file fixed wins over its ``reference_point``.
        ``row_key``: the key of a Tune result that carries a trial's row (None: Tune is not read).
        A damaged file is moved aside; a stored frontier with more points than the recovered one
        is kept beside it, and the loss is logged.
        """
        from paretosweep.results._progress import frontier_table

        generations = []
        for name in (TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE):
            try:
                if self._fs.get_file_info(self._file(name)).type == pafs.FileType.File:
                    generations.append(file_generation(self._fs, self._file(name)) or 0)
            except ResultSchemaError:
                continue
        found = gather(self._fs, self._root, self._location, meta, row_key=row_key)
        if found.reference_point is not None and len(found.reference_point) == len(meta.objectives):
            meta = dataclasses.replace(meta, reference_point=found.reference_point, reference_rule=found.reference_rule)
        validate_meta(meta)
        self._meta = meta
        schema = trials_schema(meta.metric_columns)
        self._trials = schema.empty_table()
        self._ids = set()
        self._progress = found.progress if found.progress is not None else progress_schema().empty_table()
        self._generation = max(generations, default=0)
        for row in sorted(found.rows.values(), key=_finished_at):
            try:
                self.ingest([{k: v for k, v in row.items() if k in schema.names}])
            except ResultSchemaError as error:
                logger.warning("Recovery skips trial `%s`: %s", row.get("trial_id"), error)
        front, _ = frontier_table(self._trials, meta)
        if found.frontier_rows is not None and (front.num_rows < found.frontier_rows or found.unrecoverable):
            kept = f"{self._file(FRONTIER_FILE)}.before-recovery-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
            self._fs.copy_file(self._file(FRONTIER_FILE), kept)
            logger.warning(
                "The recovered trials make a frontier of %d point(s); the stored frontier.parquet had %d. "
                "Trials of the stored frontier found in no record: %s. The stored frontier is kept as `%s`.",
                front.num_rows,
                found.frontier_rows,
                ", ".join(found.unrecoverable) or "none",
                kept,
            )
        self.write()
        return found

    def set_exact_front(
        self,
        points: Any,
        *,
        columns: Sequence[str],
        directions: Sequence[str],
        hypervolume: float | None = None,
        reference_point: Sequence[float] | None = None,
    ) -> None:
        """Attach the problem's exact front: progress rows get ``igd_plus`` and ``hv_ratio``.

        The points go to ``exact_front.parquet`` (atomically), so a resumed run and
        ``recompute_progress()`` have them without the problem. Passing the front already
        stored changes nothing; a different one recomputes the stored progress rows.

        Args:
            points: ``[k, len(columns)]`` dense sample of the exact front (raw units).
            columns: the objective column of each coordinate.
            directions: ``min``/``max`` per column.
            hypervolume: the continuous front's hypervolume at ``reference_point`` (given in
                ``columns`` order), when the problem knows it (``ExactFront.hypervolume``).
            reference_point: where ``hypervolume`` was computed; needed with it.

        Raises:
            ConfigError: if columns/directions are not the run's objectives, the points are not
                finite, or ``hypervolume`` comes without its reference point.
        """
        meta = self._require()
        front = ExactFrontIndicators.given(
            points,
            columns=columns,
            directions=directions,
            objectives=meta.objectives,
            hypervolume=hypervolume,
            reference_point=reference_point,
        )
        if self._exact is not None and np.array_equal(front.points, self._exact.points) and front.known == self._exact.known:
            return
        atomic_write_table(front.table(meta.objectives, meta.encode()), self._file(EXACT_FRONT_FILE), self._fs)
        self._exact = front
        if self._progress.num_rows:
            self.recompute_progress()

    # -- ingest and write --------------------------------------------------------------
    def ingest(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add trial rows whose ``trial_id`` is new; returns how many were added.

        A row whose ``trial_id`` is already stored (or repeated within ``rows``) is skipped: the
        first write wins, so ingesting the same rows again changes nothing. All rows are validated
        before any is added (see ``_rows.clean_row`` for the accepted value types).

        Raises:
            ResultSchemaError: on an unknown column, a bad ``status``/``kind`` or a value
                of the wrong type (nothing is added then).
        """
        meta = self._require()
        schema = trials_schema(meta.metric_columns)
        fresh: dict[str, dict[str, Any]] = {}
        for row in rows:
            clean = clean_row(row, schema.names, meta.metric_columns)
            if clean["trial_id"] not in self._ids:
                fresh.setdefault(clean["trial_id"], clean)
        if not fresh:
            return 0
        added = rows_to_table(list(fresh.values()), schema)
        self._trials = pa.concat_tables([self._trials, added])
        if self._trials.num_rows and self._trials.column(0).num_chunks > _MAX_CHUNKS:  # one chunk per ingest otherwise
            self._trials = self._trials.combine_chunks()
        self._ids.update(fresh)
        return len(fresh)

    def forget_checkpoints(self, trial_ids: Iterable[str]) -> None:
        """Set the ``checkpoint`` column of ``trial_ids`` to null (their checkpoints were deleted); written on the next ``write()``."""
        self._trials = null_where(self._trials, "checkpoint", set(trial_ids))

    def write(self, *, elapsed_seconds: float | None = None) -> dict[str, Any]:
        """Rewrite the three files; append a progress row if trials arrived since the last one.

        Every progress row's hypervolume uses the run's one reference point. A run created
        without one fixes it at the first write that holds a completed trial with finite
        objectives (``first_batch_reference``: their nadir plus a margin). It is written to the
        metadata (``paretosweep.reference_point``, with ``paretosweep.reference_rule``) and
        never moves: a later point beyond it is counted in ``clipped``.

        Args:
            elapsed_seconds: wall time since the sweep started; by default the time since
                the earliest ``started_at`` (else ``finished_at``) of the stored trials.

        Returns:
            The current progress summary, the columns of progress.parquet as a dict
            (``hypervolume`` with ``hypervolume_method`` and ``hypervolume_stderr``,
            ``frontier_size``, ``trials_done``, ``igd_plus``, ``hv_ratio``, ...).
        """
        if self._require().reference_point is None:
            self._fix_from_first_batch()
        row = progress_row(self._trials, self._require(), self._require().reference_point, self._exact)
        now = datetime.now(timezone.utc)
        row["elapsed_seconds"] = (
            elapsed_since_first(self._trials, now, self._opened_at) if elapsed_seconds is None else float(elapsed_seconds)
        )
        row["time"] = now
        last = self._progress.column("trials_done").to_pylist()[-1:]
        if row["trials_done"] and last != [row["trials_done"]]:
            appended = pa.Table.from_pylist([row], schema=progress_schema())
            self._progress = pa.concat_tables([self._progress, appended])
        self._write_files()
        return row

    def fix_reference_point(self, point: Sequence[float] | None = None, *, rule: str = "given") -> tuple[float, ...]:
        """Fix the run's reference point (given, or from the completed trials stored now).

        Stores it in every file's metadata and recomputes all progress hypervolumes with it.

        Raises:
            ConfigError: if a different point is already fixed, or no completed trial exists
                to derive one from.
        """
        meta = self._require()
        if point is None:
            if meta.reference_point is not None:
                return meta.reference_point
            point, rule = first_batch_reference(self._trials, self._require().objectives)
            if point is None:
                raise ConfigError("Cannot derive a reference point: no completed trial has finite objectives yet. Pass one explicitly.")
        fixed = tuple(float(v) for v in point)
        if meta.reference_point is not None and fixed != meta.reference_point:
            raise ConfigError(
                f"The reference point is already fixed at {list(meta.reference_point)}. "
                f"Found a different one, {list(fixed)}; start a new run to change it."
            )
        new = dataclasses.replace(meta, reference_point=fixed, reference_rule=meta.reference_rule or rule)
        validate_meta(new)
        self._meta = new
        self.recompute_progress()
        return fixed

    def _fix_from_first_batch(self) -> None:
        """Fix the reference point from the first completed batch, once there is one."""
        point, rule = first_batch_reference(self._trials, self._require().objectives)
        if point is not None:
            self.fix_reference_point(point, rule=rule)

    def recompute_progress(self) -> pd.DataFrame:
        """Recompute every progress row's hypervolume and indicators at the final reference point.

        The point is the run's fixed one (None while no completed trial fixed it: hypervolume
        0). Row ``k`` is recomputed from the first ``trials_done`` trials in ingestion
        order, i.e. exactly the trials known when it was written: ``hypervolume`` with its
        method and standard error, ``frontier_size``, and ``igd_plus``/``hv_ratio`` from the
        stored exact front (null without one). All files are rewritten.
        """
        self._progress = recomputed_progress(self._progress, self._trials, self._require(), self._exact)
        self._write_files()
        return self._progress.to_pandas()

    # -- readers -----------------------------------------------------------------------
    def read_trials(self) -> pd.DataFrame:
        """trials.parquet as a DataFrame (``attrs["objectives"]`` holds the objectives)."""
        return load_table(self._fs, self._file(TRIALS_FILE), self._location)

    def read_frontier(self) -> pd.DataFrame:
        """frontier.parquet as a DataFrame: non-dominated completed (or scheduler-``stopped``) trials + ``hv_contribution``."""
        return load_table(self._fs, self._file(FRONTIER_FILE), self._location)

    def read_progress(self) -> pd.DataFrame:
        """progress.parquet as a DataFrame, one row per ``write()`` that saw new trials."""
        return load_table(self._fs, self._file(PROGRESS_FILE), self._location)

    # -- internals ---------------------------------------------------------------------
    def _require(self) -> RunMeta:
        if self._meta is None:
            raise ResultSchemaError(
                f"`{self._location}` is not a paretosweep run directory: `{TRIALS_FILE}` is missing. "
                "Run `paretosweep run SPEC` first, or check the path."
            )
        return self._meta

    def _file(self, name: str) -> str:
        return join(self._fs, self._root, name)

    def _write_files(self) -> None:
        """trials.parquet first, at the next generation, then the files derived from it, marked with that generation."""
        generation = self._generation + 1
        stamp = {META_GENERATION: str(generation).encode()}
        for name, table in run_files(self._trials, self._progress, self._require()):
            atomic_write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **stamp}), self._file(name), self._fs)
            if name == TRIALS_FILE:
                self._generation = generation
                _fault_point(generation)


def _finished_at(row: Mapping[str, Any]) -> float:
    value = row.get("finished_at")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    return float("inf")
