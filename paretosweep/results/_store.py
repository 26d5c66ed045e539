"""A run directory on disk: trials, frontier and progress Parquet files, written atomically.

``RunStore`` keeps the trials of a run in memory (a pyarrow table in ingestion order),
ingests new results idempotently by ``trial_id`` and rewrites the three files on
``write()`` (plus ``exact_front.parquet`` once, when the driver passes the problem's exact
front with ``set_exact_front``; see ``_exact_front.py``). Every file carries the schema
metadata of ``_schema.py``, so any reader can find the objectives. Paths are local paths or
pyarrow filesystem URIs (``s3://…``, ``gs://…``, ``file://…``); a ``pyarrow.fs.FileSystem``
may also be passed explicitly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import posixpath
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from paretosweep.errors import ConfigError, ResultSchemaError, RunDirectoryError, did_you_mean
from paretosweep.frontier._indicators import auto_reference_point
from paretosweep.frontier._pareto import maximise_flags, nan_rows, non_dominated_mask
from paretosweep.frontier._seeds import SeedGroups, seed_groups
from paretosweep.results._exact_front import (
    ExactFrontIndicators, align_exact_front, exact_front_from_table, exact_front_table,
    known_hypervolume_from_metadata, known_hypervolume_metadata,
)
from paretosweep.results._progress import contributions_with_label, frontier_columns
from paretosweep.results._schema import (
    EXACT_FRONT_FILE, FRONTIER_EXTRA_FIELDS, FRONTIER_FILE, KINDS, META_HV_CONTRIBUTION,
    META_OBJECTIVES, META_REFERENCE_POINT, META_REFERENCE_RULE, META_SCHEMA_VERSION, META_SPEC, META_SPLITS, META_TASKS,
    PROGRESS_BASE_FIELDS, PROGRESS_FILE, SCHEMA_VERSION, STATUSES, STDERR_SUFFIX, TRIAL_FIELDS, TRIALS_FILE,
    Objective, RunSplits, frontier_schema, objectives_from_json, objectives_to_json, progress_schema,
    trials_schema,
)

_TIMESTAMPS = ("started_at", "finished_at")
_LISTS = ("weights", "effective_weights_mean", "effective_weights_final")
_JSON_TEXT = ("hparams", "history")
_FIXED = tuple(f.name for f in TRIAL_FIELDS)
#: Progress columns recomputed by ``recompute_progress`` (all but counts and times).
_RECOMPUTED = ("frontier_size", "hypervolume", "hypervolume_method", "hypervolume_stderr", "igd_plus", "hv_ratio", "clipped")
#: A reference point fixed from the first completed batch lies this share of each objective's
#: range (over that batch) beyond the batch's nadir (see ``auto_reference_point``).
FIRST_BATCH_MARGIN = 0.1
#: Rows ingested one batch at a time make one Arrow chunk each; past this many the table is compacted.
_MAX_CHUNKS = 32
#: Trial columns read to group trials by configuration.
_CONFIGURATION_READ = ("trial_id", "status", "kind", "scalarizer", "method", "weights", "lr", "hparams", "seed")


# --------------------------------------------------------------------------- filesystem I/O


def _resolve(path: str | os.PathLike[str], filesystem: pafs.FileSystem | None) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path, a URI, or a path on ``filesystem``."""
    text = os.fspath(path)
    if filesystem is not None:
        return filesystem, text
    if "://" in text:
        try:
            return pafs.FileSystem.from_uri(text)
        except (pa.ArrowException, ValueError, OSError) as exc:
            raise RunDirectoryError(f"Cannot open `{text}` as a pyarrow filesystem URI: {exc}.") from exc
    return pafs.LocalFileSystem(), os.path.abspath(text)


def _join(fs: pafs.FileSystem, directory: str, name: str) -> str:
    if isinstance(fs, pafs.LocalFileSystem):
        return os.path.join(directory, name)
    return posixpath.join(directory, name)


def _split(fs: pafs.FileSystem, path: str) -> tuple[str, str]:
    return os.path.split(path) if isinstance(fs, pafs.LocalFileSystem) else posixpath.split(path)


def atomic_write_table(table: pa.Table, path: str, filesystem: pafs.FileSystem | None = None) -> None:
    """Write ``table`` to ``path`` as Parquet so that readers see the old or the new file, never half.

    The table goes to a hidden temporary file in the same directory (created if missing),
    then replaces ``path``: ``os.replace`` after an ``fsync`` on a local disk, ``fs.move`` on
    other pyarrow filesystems (atomic where the store's rename is; object stores copy).
    The temporary file is removed if anything fails.

    Args:
        table: the table, schema metadata included.
        path: local path or pyarrow filesystem URI of the target file.
        filesystem: a pyarrow filesystem that ``path`` lives on (overrides URI parsing).
    """
    fs, target = _resolve(path, filesystem)
    directory, name = _split(fs, target)
    if directory:
        fs.create_dir(directory, recursive=True)
    tmp = _join(fs, directory, f".{name}.{uuid.uuid4().hex}.tmp")
    local = isinstance(fs, pafs.LocalFileSystem)
    try:
        if local:
            with open(tmp, "wb") as handle:
                pq.write_table(table, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        else:
            with fs.open_output_stream(tmp) as stream:
                pq.write_table(table, stream)
            fs.move(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            if local:
                os.remove(tmp)
            else:
                fs.delete_file(tmp)
        raise
    if local and hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with contextlib.suppress(OSError):
            fd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _read_table(fs: pafs.FileSystem, path: str, run: str) -> pa.Table:
    """Read one paretosweep Parquet file, turning every failure into ``ResultSchemaError``."""
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.File:
        found = "is missing" if info.type == pafs.FileType.NotFound else "is not a file"
        raise ResultSchemaError(
            f"`{run}` is not a paretosweep run directory: `{path}` {found}. "
            "Run `paretosweep run SPEC` first, or check the path."
        )
    try:
        table = pq.read_table(path, filesystem=fs)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ResultSchemaError(
            f"`{path}` is corrupt ({type(exc).__name__}: {exc}): delete it and re-run with --resume."
        ) from exc
    metadata = table.schema.metadata or {}
    if META_OBJECTIVES not in metadata:
        raise ResultSchemaError(
            f"`{path}` should carry the `{META_OBJECTIVES.decode()}` schema metadata. Found none: "
            "it was not written by paretosweep. Point to a run directory from `paretosweep run SPEC`."
        )
    version = metadata.get(META_SCHEMA_VERSION, b"?").decode()
    if version != SCHEMA_VERSION:
        raise ResultSchemaError(
            f"`{path}` uses paretosweep schema version {version}; this paretosweep reads version "
            f"{SCHEMA_VERSION}. Re-run the sweep or use the paretosweep version that wrote it."
        )
    return table


def _complete_progress(table: pa.Table) -> pa.Table:
    """A progress table written before the indicator columns existed, with those columns null."""
    for f in progress_schema():
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(progress_schema().names).cast(progress_schema())


def _check_columns(table: pa.Table, expected: Sequence[pa.Field], path: str, *, prefix: bool) -> None:
    """The file's leading (or all) columns must match ``expected`` by name and type."""
    found = list(table.schema)[: len(expected)] if prefix else list(table.schema)
    if [(f.name, f.type) for f in found] != [(f.name, f.type) for f in expected]:
        raise ResultSchemaError(
            f"`{path}` should start with the columns {[f.name for f in expected]} of schema version "
            f"{SCHEMA_VERSION}. Found {table.schema.names}. Delete it and re-run with --resume."
        )


# --------------------------------------------------------------------------- run metadata


@dataclass(frozen=True)
class _RunMeta:
    objectives: tuple[Objective, ...]
    tasks: tuple[str, ...]
    metric_columns: tuple[str, ...]
    reference_point: tuple[float, ...] | None
    spec: dict[str, Any] = field(default_factory=dict)
    reference_rule: str | None = None
    splits: RunSplits | None = None

    def encode(self) -> dict[bytes, bytes]:
        ref = None if self.reference_point is None else list(self.reference_point)
        return {
            META_OBJECTIVES: objectives_to_json(self.objectives).encode(),
            META_SCHEMA_VERSION: SCHEMA_VERSION.encode(),
            META_TASKS: json.dumps(list(self.tasks)).encode(),
            META_REFERENCE_POINT: json.dumps(ref).encode(),
            META_REFERENCE_RULE: json.dumps(self.reference_rule).encode(),
            META_SPEC: json.dumps(self.spec, default=str).encode(),
            META_SPLITS: b"null" if self.splits is None else self.splits.to_json().encode(),
        }

    @classmethod
    def decode(cls, table: pa.Table, path: str) -> _RunMeta:
        metadata = table.schema.metadata or {}
        try:
            ref = json.loads(metadata.get(META_REFERENCE_POINT, b"null"))
            return cls(
                objectives=objectives_from_json(metadata[META_OBJECTIVES]),
                tasks=tuple(json.loads(metadata.get(META_TASKS, b"[]"))),
                metric_columns=tuple(table.schema.names[len(TRIAL_FIELDS):]),
                reference_point=None if ref is None else tuple(float(v) for v in ref),
                spec=json.loads(metadata.get(META_SPEC, b"{}")),
                reference_rule=json.loads(metadata.get(META_REFERENCE_RULE, b"null")),
                splits=RunSplits.from_json(metadata.get(META_SPLITS, b"null")),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ResultSchemaError(
                f"`{path}` has unreadable paretosweep metadata ({exc}): delete it and re-run with --resume."
            ) from exc


def _validate_meta(meta: _RunMeta) -> None:
    """Check a new run's objectives, columns and reference point against each other."""
    if not meta.objectives:
        raise ConfigError("`objectives` should list at least one objective. Found none.")
    maximise_flags([o.direction for o in meta.objectives])
    taken = set(_FIXED) | {f.name for f in FRONTIER_EXTRA_FIELDS} | {f"{o.column}{STDERR_SUFFIX}" for o in meta.objectives}
    clashes = [c for c in meta.metric_columns if c in taken]
    if clashes or len(set(meta.metric_columns)) != len(meta.metric_columns):
        raise ConfigError(
            "`metric_columns` should be unique and differ from the fixed trial columns. "
            f"Found {list(meta.metric_columns)} (clashing: {clashes})."
        )
    for objective in meta.objectives:
        if objective.column not in meta.metric_columns:
            raise ConfigError(
                f"Objective `{objective.name}` reads column `{objective.column}`, which is not among "
                f"`metric_columns` {list(meta.metric_columns)}. Add it or fix the objective."
            )
    if meta.splits is not None:
        meta.splits.check(meta.metric_columns, [o.column for o in meta.objectives])
    ref = meta.reference_point
    if ref is not None and (len(ref) != len(meta.objectives) or not all(math.isfinite(v) for v in ref)):
        raise ConfigError(
            f"`reference_point` should hold one finite value per objective ({len(meta.objectives)}). "
            f"Found {list(ref)}."
        )


# --------------------------------------------------------------------------- rows -> table


def _timestamp(value: Any, key: str, trial_id: str) -> datetime | None:
    """A UTC datetime from a datetime (naive = local time), numpy datetime64 (UTC) or epoch seconds."""
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value).tz_localize(timezone.utc)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)  # a naive datetime is read as local time
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    raise ResultSchemaError(
        f"`{key}` of trial `{trial_id}` should be a datetime or epoch seconds. Found {value!r}."
    )


def _clean_row(row: Mapping[str, Any], names: Sequence[str], metrics: Sequence[str]) -> dict[str, Any]:
    """Validate one trial row and convert its values to what the Arrow schema expects."""
    trial_id = row.get("trial_id")
    if not isinstance(trial_id, str) or not trial_id:
        raise ResultSchemaError(
            f"Every trial row should have a non-empty string `trial_id`. Found {trial_id!r}."
        )
    for key in row:
        if key not in names:
            raise ResultSchemaError(
                f"Unknown column `{key}` in trial `{trial_id}`.{did_you_mean(str(key), list(names))} "
                f"Known: the fixed trial columns and the metric columns {list(metrics)}."
            )
    for key, allowed in (("status", STATUSES), ("kind", KINDS)):
        if row.get(key) not in allowed:
            raise ResultSchemaError(
                f"`{key}` of trial `{trial_id}` should be one of {', '.join(allowed)}. "
                f"Found {row.get(key)!r}."
            )
    clean = dict(row)
    for key in _TIMESTAMPS:
        clean[key] = _timestamp(row.get(key), key, trial_id)
    for key in _LISTS:
        if row.get(key) is not None:
            clean[key] = [float(v) for v in row[key]]
    for key in _JSON_TEXT:
        if row.get(key) is not None and not isinstance(row[key], str):
            clean[key] = json.dumps(row[key], default=str)
    return clean


def _rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Column-wise conversion; a value of the wrong type is reported with its trial and column."""
    arrays = []
    for f in schema:
        values = [row.get(f.name) for row in rows]
        try:
            arrays.append(pa.array(values, type=f.type))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            bad = next((r for r in rows if not _converts(r.get(f.name), f.type)), rows[0])
            raise ResultSchemaError(
                f"Column `{f.name}` should hold {f.type}. Found {bad.get(f.name)!r} in trial "
                f"`{bad['trial_id']}` ({exc})."
            ) from exc
    return pa.Table.from_arrays(arrays, schema=schema)


def _converts(value: Any, type_: pa.DataType) -> bool:
    try:
        pa.array([value], type=type_)
    except (pa.ArrowException, TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- the run store


class RunStore:
    """One run directory: ``trials.parquet``, ``frontier.parquet`` and ``progress.parquet``.

    ``RunStore(path)`` binds to a directory and, if it already holds a run, re-reads it so
    a resumed sweep keeps every stored row; call ``create(...)`` to start a new run there.
    Rows are kept in memory in ingestion order; ``write()`` rewrites the files atomically.

    Example:
        store = RunStore("runs/toy")
        if not store.exists():
            store.create(objectives=objs, tasks=["left", "right"],
                         metric_columns=["left_loss", "right_loss"], reference_point=None, spec={})
        store.ingest([row])
        store.write()

    Args:
        path_or_uri: local directory or pyarrow filesystem URI.
        filesystem: a pyarrow filesystem that ``path_or_uri`` lives on (skips URI parsing).

    Raises:
        ResultSchemaError: if the directory holds a corrupt or foreign trials file.
    """

    def __init__(
        self, path_or_uri: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None
    ) -> None:
        self._fs, self._root = _resolve(path_or_uri, filesystem)
        self._location = os.fspath(path_or_uri)
        self._meta: _RunMeta | None = None
        self._trials = pa.table({})
        self._progress = progress_schema().empty_table()
        self._ids: set[str] = set()
        self._exact: ExactFrontIndicators | None = None
        self._opened_at = datetime.now(timezone.utc)
        if self._fs.get_file_info(self._file(TRIALS_FILE)).type != pafs.FileType.NotFound:
            self._load()

    # -- properties --------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The directory (or URI) as given."""
        return self._location

    def exists(self) -> bool:
        """Whether the directory holds a run (created here or re-read from disk)."""
        return self._meta is not None

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
        meta = _RunMeta(
            objectives=tuple(objectives),
            tasks=tuple(tasks),
            metric_columns=tuple(metric_columns),
            reference_point=None if reference_point is None else tuple(float(v) for v in reference_point),
            spec=dict(spec or {}),
            reference_rule=reference_rule if reference_point is not None else None,
            splits=splits,
        )
        _validate_meta(meta)
        self._meta = meta
        self._trials = trials_schema(meta.metric_columns).empty_table()
        self._progress = progress_schema().empty_table()
        self._ids = set()
        self._exact = None
        if self._fs.get_file_info(self._file(EXACT_FRONT_FILE)).type == pafs.FileType.File:
            self._fs.delete_file(self._file(EXACT_FRONT_FILE))  # a replaced run's front is not this run's
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
        path = self._file(TRIALS_FILE)
        table = _read_table(self._fs, path, self._location)
        _check_columns(table, TRIAL_FIELDS, path, prefix=True)
        meta = _RunMeta.decode(table, path)
        self._trials = table.replace_schema_metadata(None).cast(trials_schema(meta.metric_columns))
        self._ids = set(self._trials.column("trial_id").to_pylist())
        self._meta = meta
        progress = self._file(PROGRESS_FILE)
        if self._fs.get_file_info(progress).type != pafs.FileType.NotFound:  # absent after a crash
            loaded = _read_table(self._fs, progress, self._location)
            _check_columns(loaded, PROGRESS_BASE_FIELDS, progress, prefix=True)
            self._progress = _complete_progress(loaded.replace_schema_metadata(None))
        self._exact = None
        exact = self._file(EXACT_FRONT_FILE)
        if self._fs.get_file_info(exact).type != pafs.FileType.NotFound:
            table = _read_table(self._fs, exact, self._location)
            points = exact_front_from_table(table, meta.objectives, exact)
            known = known_hypervolume_from_metadata(table.schema.metadata)
            self._exact = ExactFrontIndicators(points, [o.direction for o in meta.objectives], known)

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
        aligned = align_exact_front(points, columns=columns, directions=directions, objectives=meta.objectives)
        known: dict[tuple[float, ...], float] = {}
        if hypervolume is not None:
            if reference_point is None or len(reference_point) != len(columns):
                raise ConfigError(
                    f"`hypervolume` of the exact front needs its `reference_point` ({len(columns)} values, "
                    f"one per column). Found {reference_point!r}."
                )
            ordered = tuple(float(reference_point[list(columns).index(o.column)]) for o in meta.objectives)
            known = {ordered: float(hypervolume)}
        if self._exact is not None and np.array_equal(aligned, self._exact.points) and known == self._exact.known:
            return
        table = exact_front_table(aligned, meta.objectives)
        metadata = {**meta.encode(), **(known_hypervolume_metadata(*next(iter(known.items()))) if known else {})}
        atomic_write_table(table.replace_schema_metadata(metadata), self._file(EXACT_FRONT_FILE), self._fs)
        self._exact = ExactFrontIndicators(aligned, [o.direction for o in meta.objectives], known)
        if self._progress.num_rows:
            self.recompute_progress()

    # -- ingest and write --------------------------------------------------------------
    def ingest(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add trial rows whose ``trial_id`` is new; returns how many were added.

        A row whose ``trial_id`` is already stored (or repeated within ``rows``) is skipped:
        the first write wins, so ingesting the same rows again changes nothing. All rows are
        validated before any is added. Missing optional columns become null. ``started_at``
        and ``finished_at`` accept datetimes (a naive one is local time, as from
        ``datetime.now()``), numpy datetime64 (UTC) or epoch seconds. ``hparams`` and
        ``history`` accept a JSON string or a JSON-able object.

        Raises:
            ResultSchemaError: on an unknown column, a bad ``status``/``kind`` or a value
                of the wrong type (nothing is added then).
        """
        meta = self._require()
        schema = trials_schema(meta.metric_columns)
        fresh: dict[str, dict[str, Any]] = {}
        for row in rows:
            clean = _clean_row(row, schema.names, meta.metric_columns)
            if clean["trial_id"] not in self._ids:
                fresh.setdefault(clean["trial_id"], clean)
        if not fresh:
            return 0
        added = _rows_to_table(list(fresh.values()), schema)
        self._trials = pa.concat_tables([self._trials, added])
        if self._trials.num_rows and self._trials.column(0).num_chunks > _MAX_CHUNKS:  # one chunk per ingest otherwise
            self._trials = self._trials.combine_chunks()
        self._ids.update(fresh)
        return len(fresh)

    def write(self, *, elapsed_seconds: float | None = None) -> dict[str, Any]:
        """Rewrite the three files; append a progress row if trials arrived since the last one.

        Every progress row's hypervolume uses the run's one reference point. A run created
        without one fixes it at the first write that holds a completed trial with finite
        objectives: the nadir of those trials plus ``FIRST_BATCH_MARGIN`` of each
        objective's range over them (``auto_reference_point``). It is written to the
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
        row = self._progress_row(self._trials, self._require().reference_point)
        now = datetime.now(timezone.utc)
        row["elapsed_seconds"] = self._elapsed(now) if elapsed_seconds is None else float(elapsed_seconds)
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
            point, rule = self._first_batch_point()
            if point is None:
                raise ConfigError(
                    "Cannot derive a reference point: no completed trial has finite objectives yet. "
                    "Pass one explicitly."
                )
        fixed = tuple(float(v) for v in point)
        if meta.reference_point is not None and fixed != meta.reference_point:
            raise ConfigError(
                f"The reference point is already fixed at {list(meta.reference_point)}. "
                f"Found a different one, {list(fixed)}; start a new run to change it."
            )
        new = dataclasses.replace(meta, reference_point=fixed, reference_rule=meta.reference_rule or rule)
        _validate_meta(new)
        self._meta = new
        self.recompute_progress()
        return fixed

    def _first_batch_point(self) -> tuple[tuple[float, ...] | None, str]:
        """The reference point of the completed trials stored now (see ``write``) and its rule."""
        meta = self._require()
        values, usable = self._objective_values(self._trials)
        finite = values[usable & np.isfinite(values).all(axis=1)]
        rule = f"first completed batch: nadir of {finite.shape[0]} trials + {FIRST_BATCH_MARGIN:g} x range"
        if finite.shape[0] == 0:
            return None, rule
        point = auto_reference_point(finite, [o.direction for o in meta.objectives], margin=FIRST_BATCH_MARGIN)
        return tuple(point.tolist()), rule

    def _fix_from_first_batch(self) -> None:
        """Fix the reference point from the first completed batch, once there is one."""
        point, rule = self._first_batch_point()
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
        ref = self._require().reference_point
        done = self._progress.column("trials_done").to_pylist()
        rows = [self._progress_row(self._trials.slice(0, n), ref) for n in done]
        for name in _RECOMPUTED:
            index = self._progress.schema.get_field_index(name)
            field_ = self._progress.schema.field(index)
            self._progress = self._progress.set_column(index, field_, pa.array([r[name] for r in rows], field_.type))
        self._write_files()
        return self._progress.to_pandas()

    # -- readers -----------------------------------------------------------------------
    def read_trials(self) -> pd.DataFrame:
        """trials.parquet as a DataFrame (``attrs["objectives"]`` holds the objectives)."""
        return _load(self._fs, self._file(TRIALS_FILE), self._location)

    def read_frontier(self) -> pd.DataFrame:
        """frontier.parquet as a DataFrame: non-dominated completed trials + ``hv_contribution``."""
        return _load(self._fs, self._file(FRONTIER_FILE), self._location)

    def read_progress(self) -> pd.DataFrame:
        """progress.parquet as a DataFrame, one row per ``write()`` that saw new trials."""
        return _load(self._fs, self._file(PROGRESS_FILE), self._location)

    # -- internals ---------------------------------------------------------------------
    def _require(self) -> _RunMeta:
        if self._meta is None:
            raise ResultSchemaError(
                f"`{self._location}` is not a paretosweep run directory: `{TRIALS_FILE}` is missing. "
                "Run `paretosweep run SPEC` first, or check the path."
            )
        return self._meta

    def _file(self, name: str) -> str:
        return _join(self._fs, self._root, name)

    def _objective_values(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """``[n, m]`` objective values (null = NaN) and the mask of usable completed rows."""
        meta = self._require()
        values = np.column_stack(
            [table.column(o.column).to_numpy().astype(np.float64) for o in meta.objectives]
        ).reshape(table.num_rows, len(meta.objectives))
        completed = np.array([s == "completed" for s in table.column("status").to_pylist()], dtype=bool)
        return values, completed & ~nan_rows(values)

    def _configurations(self, table: pa.Table) -> tuple[SeedGroups, np.ndarray]:
        """The usable trials of ``table`` grouped by configuration (seeds averaged, see
        ``paretosweep.frontier.seed_groups``) and the groups' mean objective values ``[g, m]``."""
        meta = self._require()
        _, usable = self._objective_values(table)
        frame = table.select([*_CONFIGURATION_READ, *meta.metric_columns]).to_pandas()
        groups = seed_groups(frame, meta.metric_columns, usable)
        index = [meta.metric_columns.index(o.column) for o in meta.objectives]
        return groups, groups.mean[:, index]

    def _frontier_table(self) -> tuple[pa.Table, bytes]:
        """The non-dominated configurations (seed means) plus their HV contributions, and the contributions' label.

        A row is the configuration's lowest-seed trial with its metric columns replaced by the
        means over the configuration's usable seeds; ``n_seeds``, ``seed_trial_ids`` and each
        objective's ``<column>_stderr`` follow ``hv_contribution``.
        """
        meta = self._require()
        directions = [o.direction for o in meta.objectives]
        groups, points = self._configurations(self._trials)
        mask = non_dominated_mask(points, directions=directions)
        contrib, label = contributions_with_label(points[mask], directions=directions, reference_point=meta.reference_point)
        front = self._trials.take(pa.array(groups.representative[mask], pa.int64()))
        for j, name in enumerate(meta.metric_columns):
            index = front.schema.get_field_index(name)
            front = front.set_column(index, front.schema.field(index), pa.array(groups.mean[mask, j], pa.float64()))
        ids = self._trials.column("trial_id").to_numpy(zero_copy_only=False)
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

    def _progress_row(self, table: pa.Table, ref: Sequence[float] | None) -> dict[str, Any]:
        """Counts, compute, hypervolume and indicators of the trials in ``table`` (times left to the caller)."""
        directions = [o.direction for o in self._require().objectives]
        _, points = self._configurations(table)
        statuses = table.column("status").to_pylist()
        seconds = table.column("train_seconds").to_numpy().astype(np.float64)
        return {
            "trials_done": table.num_rows,
            "trials_completed": statuses.count("completed"),
            "trials_failed": table.num_rows - statuses.count("completed"),
            "compute_seconds": float(np.nansum(seconds)),
            **frontier_columns(points, directions=directions, reference_point=ref, exact=self._exact),
        }

    def _elapsed(self, now: datetime) -> float:
        for key in _TIMESTAMPS:
            times = [t for t in self._trials.column(key).to_pylist() if t is not None]
            if times:
                return max(0.0, (now - min(times)).total_seconds())
        return (now - self._opened_at).total_seconds()

    def _write_files(self) -> None:
        meta = self._require()
        metadata = meta.encode()
        front, label = self._frontier_table()
        front_schema = frontier_schema(meta.metric_columns, [o.column for o in meta.objectives])
        front_schema = front_schema.with_metadata({**metadata, META_HV_CONTRIBUTION: label})
        for name, table, schema in (
            (TRIALS_FILE, self._trials, trials_schema(meta.metric_columns).with_metadata(metadata)),
            (FRONTIER_FILE, front, front_schema),
            (PROGRESS_FILE, self._progress, progress_schema().with_metadata(metadata)),
        ):
            atomic_write_table(table.cast(schema), self._file(name), self._fs)


# --------------------------------------------------------------------------- module readers


def _run_file(
    path: str | os.PathLike[str], name: str, filesystem: pafs.FileSystem | None
) -> tuple[pafs.FileSystem, str, str]:
    """(fs, file path, run location) for a run directory or a direct ``.parquet`` path."""
    text = os.fspath(path)
    fs, resolved = _resolve(text, filesystem)
    if resolved.endswith(".parquet"):
        return fs, resolved, text
    return fs, _join(fs, resolved, name), text


def _load(fs: pafs.FileSystem, path: str, run: str) -> pd.DataFrame:
    table = _read_table(fs, path, run)
    frame = table.to_pandas()
    frame.attrs["objectives"] = objectives_from_json(table.schema.metadata[META_OBJECTIVES])
    return frame


def load_trials(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> pd.DataFrame:
    """trials.parquet of a run directory (or the file itself) as a DataFrame."""
    return _load(*_run_file(path, TRIALS_FILE, filesystem))


def load_frontier(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> pd.DataFrame:
    """frontier.parquet of a run directory (or the file itself) as a DataFrame."""
    return _load(*_run_file(path, FRONTIER_FILE, filesystem))


def load_progress(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> pd.DataFrame:
    """progress.parquet of a run directory (or the file itself) as a DataFrame."""
    return _load(*_run_file(path, PROGRESS_FILE, filesystem))


def read_objectives(
    path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None
) -> tuple[Objective, ...]:
    """The objectives stored in a run directory's trials.parquet (or in a given ``.parquet`` file)."""
    fs, file_path, run = _run_file(path, TRIALS_FILE, filesystem)
    table = _read_table(fs, file_path, run)
    return _RunMeta.decode(table, file_path).objectives
