"""Read a run directory (local path or pyarrow filesystem URI) into pandas, with clear errors.

A run is the three Parquet files of the storage contract (``paretosweep.results._schema``),
read with the store's loaders. Only ``trials.parquet`` is required: a missing
``frontier.parquet`` is recomputed from the completed trials and a missing
``progress.parquet`` reads as empty (the state a crash between two writes can leave). Every
problem a user can cause (wrong path, empty directory, corrupt or foreign Parquet) raises
:class:`~paretosweep.errors.ResultSchemaError` with a message that says what was expected,
what was found and what to do.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep.errors import ParetoSweepError, ResultSchemaError
from paretosweep.frontier import configuration_front
from paretosweep.results import _schema as S
from paretosweep.results import load_frontier, load_progress, load_trials, read_run_meta, resolve

T = TypeVar("T")

#: (file name, modification time in ns, size in bytes) of each contract file; -1 if absent.
Signature = tuple[tuple[str, int, int], ...]

_FILES = (S.TRIALS_FILE, S.FRONTIER_FILE, S.PROGRESS_FILE)


@dataclass(frozen=True, eq=False)
class RunData:
    """One run, read from Parquet.

    Attributes:
        source: the path or URI the run was opened with.
        name: a short label for the page (the directory's base name).
        trials: every trial (all statuses), one row each, ``RangeIndex``.
        frontier: the non-dominated completed trials, ``hv_contribution`` included.
        progress: the ``progress.parquet`` rows (possibly empty).
        objectives: from the ``paretosweep.objectives`` metadata, in file order.
        tasks: task names in weight order.
        metric_columns: every ``f"{task}_{metric}"`` float column (the validation metrics, which
            chose; the test columns are not among them).
        spec: the sweep spec from the ``paretosweep.spec`` metadata, or None.
        signature: the files' modification times when read (see :func:`run_signature`).
        reference_point: the run's fixed hypervolume reference point (objective order), or None.
        splits: the ``paretosweep.splits`` metadata (which split chose, which columns hold test
            values), or None for a run that does not record it.
    """

    source: str
    name: str
    trials: pd.DataFrame
    frontier: pd.DataFrame
    progress: pd.DataFrame
    objectives: tuple[S.Objective, ...]
    tasks: tuple[str, ...]
    metric_columns: tuple[str, ...]
    spec: dict[str, Any] | None
    signature: Signature
    reference_point: tuple[float, ...] | None = None
    splits: S.RunSplits | None = None

    @property
    def test_columns(self) -> dict[str, str]:
        """Metric column -> the column of its test-split value, for the columns this run holds ({} with one split)."""
        tests = self.splits.test_columns if self.splits is not None else {}
        return {c: t for c, t in tests.items() if t in self.trials.columns}


def load_run(path: str | os.PathLike[str]) -> RunData:
    """Read the run at ``path`` (a directory or a URI such as ``s3://bucket/run``).

    The files are read by ``paretosweep.results`` (the same loaders as the CLI), so the
    dashboard, ``paretosweep export`` and ``paretosweep frontier`` agree on every value.

    Raises:
        ResultSchemaError: the directory is missing or empty, or a file is corrupt or does
            not follow the storage contract.
    """
    source = os.fspath(path)
    signature = run_signature(source)
    fs, root = resolve(source)
    if _file_type(fs, root) != pafs.FileType.Directory:
        raise ResultSchemaError(
            f"Expected a run directory written by `paretosweep run`. Found no directory at "
            f"`{source}`. Check the path (or the URI and its credentials)."
        )
    trials = _guarded(load_trials, source)
    meta = _guarded(read_run_meta, source)
    objectives = meta.objectives
    if not objectives:
        raise ResultSchemaError(f"Expected at least one objective in `{source}`. Found an empty list.")
    splits = meta.splits
    tests = set(splits.test_columns.values()) if splits is not None else set()
    metric_columns = tuple(c for c in meta.metric_columns if c not in tests)
    if _file_type(fs, f"{root}/{S.FRONTIER_FILE}") == pafs.FileType.File:
        frontier = _guarded(load_frontier, source)
    else:  # a crash between two writes: recompute from the trials
        reported = [t for c, t in (splits.test_columns.items() if splits is not None else ()) if t in trials.columns]
        frontier = _recompute_frontier(trials, objectives, reported)
    if _file_type(fs, f"{root}/{S.PROGRESS_FILE}") == pafs.FileType.File:
        progress = _guarded(load_progress, source)
    else:
        progress = S.progress_schema().empty_table().to_pandas()
    return RunData(
        source=source,
        name=Path(root.rstrip("/")).name or source,
        trials=trials,
        frontier=frontier,
        progress=progress,
        objectives=objectives,
        tasks=meta.tasks or tuple(dict.fromkeys(o.name for o in objectives)),
        metric_columns=metric_columns,
        spec=meta.spec or None,
        signature=signature,
        reference_point=meta.reference_point,
        splits=splits,
    )


def _guarded(read: Callable[[str], T], source: str) -> T:
    """Call a reader; a pyarrow or OS error it lets through becomes a ResultSchemaError."""
    try:
        return read(source)
    except ParetoSweepError:
        raise
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise ResultSchemaError(
            f"Expected a readable paretosweep run at `{source}`. Found an error while reading it "
            f"({type(exc).__name__}: {exc}). A file may be corrupt or partly copied: restore it, "
            "or re-run the sweep with --resume."
        ) from exc


def run_signature(path: str | os.PathLike[str]) -> Signature:
    """Modification time and size of each contract file, cheap enough to poll every second.

    A file that is absent (or a filesystem that cannot be reached) reads as ``-1``.
    """
    try:
        fs, root = resolve(os.fspath(path))
        infos = fs.get_file_info([f"{root}/{name}" for name in _FILES])
    except (OSError, ValueError, pa.ArrowException):
        return tuple((name, -1, -1) for name in _FILES)
    return tuple(
        (name, info.mtime_ns or 0, info.size or 0) if info.type == pafs.FileType.File else (name, -1, -1)
        for name, info in zip(_FILES, infos)
    )


def _file_type(fs: pafs.FileSystem, path: str) -> pafs.FileType:
    """The type of ``path``; unreachable paths read as NotFound."""
    try:
        return fs.get_file_info(path).type
    except (OSError, pa.ArrowException):
        return pafs.FileType.NotFound


def _recompute_frontier(trials: pd.DataFrame, objectives: tuple[S.Objective, ...], reported: list[str]) -> pd.DataFrame:
    """The non-dominated configurations (seed means, ``reported`` test columns averaged too), for a
    run whose frontier.parquet is absent."""
    return configuration_front(trials, objectives, reported=reported).assign(hv_contribution=np.nan)


class RunRegistry:
    """The fixed list of runs an app serves, re-read when their files change.

    Runs are addressed by their position in the list the app was started with; nothing a
    browser sends can name another path. A run that cannot be read keeps its error message
    (shown in the page) and is retried on every :meth:`refresh`, so a dashboard started
    before the sweep's first write picks the run up once it appears.
    """

    def __init__(self, paths: list[str | os.PathLike[str]] | tuple[str | os.PathLike[str], ...]) -> None:
        if not paths:
            raise ValueError("The dashboard needs at least one run directory. Found none.")
        self.paths = tuple(os.fspath(p) for p in paths)
        self._lock = threading.Lock()
        self._data: list[RunData | None] = [None] * len(self.paths)
        self._errors: list[str | None] = [None] * len(self.paths)
        self._versions = [0] * len(self.paths)
        self._seen: list[Signature | None] = [None] * len(self.paths)
        for i in range(len(self.paths)):
            self.refresh(i)

    def refresh(self, index: int) -> bool:
        """Re-read run ``index`` if its files changed since the last read; True if it did."""
        signature = run_signature(self.paths[index])
        with self._lock:
            if signature == self._seen[index]:
                return False
            try:
                data, error = load_run(self.paths[index]), None
            except ParetoSweepError as exc:
                data, error = None, str(exc)
            except Exception as exc:
                data, error = None, f"Could not read the run at `{self.paths[index]}`: {type(exc).__name__}: {exc}"
            self._seen[index] = signature
            self._data[index], self._errors[index] = data, error
            self._versions[index] += 1
            return True

    def get(self, index: int) -> tuple[RunData | None, str | None, int]:
        """The run's data (None if unreadable), its error message, and its version number."""
        with self._lock:
            return self._data[index], self._errors[index], self._versions[index]

    def shared_reference(self) -> tuple[float, ...] | None:
        """One reference point for the runs shown side by side (per objective, the worst of theirs).

        None unless at least two readable runs with the same objectives all have a reference point.
        """
        from paretosweep.frontier import shared_reference_point

        with self._lock:
            runs = [r for r in self._data if r is not None]
        if len(runs) < 2 or any(r.reference_point is None for r in runs):
            return None
        keys = {tuple((o.column, o.direction) for o in r.objectives) for r in runs}
        if len(keys) != 1:
            return None
        directions = [o.direction for o in runs[0].objectives]
        return tuple(shared_reference_point([r.reference_point for r in runs], directions).tolist())

    def errors(self) -> list[str]:
        """One line per run that cannot be read now, prefixed with its path."""
        return [f"{p}: {e}" for p, e in zip(self.paths, self._errors) if e is not None]
