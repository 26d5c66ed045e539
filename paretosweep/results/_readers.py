"""Reading a run: its files as DataFrames and its metadata (the CLI, the API and the dashboard use these)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep.results._exact_front import ExactFrontIndicators
from paretosweep.results._fs import check_columns, complete_progress, join, read_table, resolve
from paretosweep.results._meta import RunMeta
from paretosweep.results._schema import (
    EXACT_FRONT_FILE,
    FRONTIER_FILE,
    META_OBJECTIVES,
    PROGRESS_BASE_FIELDS,
    PROGRESS_FILE,
    TRIAL_FIELDS,
    TRIALS_FILE,
    Objective,
    frontier_schema,
    objectives_from_json,
    trials_schema,
)


def _run_file(path: str | os.PathLike[str], name: str, filesystem: pafs.FileSystem | None) -> tuple[pafs.FileSystem, str, str]:
    """(fs, file path, run location) for a run directory or a direct ``.parquet`` path."""
    text = os.fspath(path)
    fs, resolved = resolve(text, filesystem)
    if resolved.endswith(".parquet"):
        return fs, resolved, text
    return fs, join(fs, resolved, name), text


def load_table(fs: pafs.FileSystem, path: str, run: str) -> pd.DataFrame:
    """One run file as a DataFrame, its objectives in ``attrs["objectives"]``."""
    table = read_table(fs, path, run)
    frame = table.to_pandas()
    frame.attrs["objectives"] = objectives_from_json(table.schema.metadata[META_OBJECTIVES])
    return frame


def load_trials(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> pd.DataFrame:
    """trials.parquet of a run directory (or the file itself) as a DataFrame."""
    return load_table(*_run_file(path, TRIALS_FILE, filesystem))


def load_frontier(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None, completed_only: bool = False) -> pd.DataFrame:
    """frontier.parquet of a run directory (or the file itself) as a DataFrame.

    Its rows are completed trials and trials the scheduler stopped early (``status`` says which).
    ``completed_only``: the frontier of the fully trained trials alone, computed from the run's
    trials.parquet (``path`` is then the run directory, or a file in it) at the run's reference point.
    """
    if not completed_only:
        return load_table(*_run_file(path, FRONTIER_FILE, filesystem))
    from paretosweep.results._progress import frontier_table

    text = os.fspath(path)
    fs, resolved = resolve(text, filesystem)
    root = resolved.rsplit("/", 1)[0] if resolved.endswith(".parquet") else resolved
    stored = read_stored_run(fs, root, text)
    front, _ = frontier_table(stored.trials, stored.meta, statuses=("completed",))
    frame = front.cast(frontier_schema(stored.meta.metric_columns, [o.column for o in stored.meta.objectives])).to_pandas()
    frame.attrs["objectives"] = stored.meta.objectives
    return frame


def load_progress(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> pd.DataFrame:
    """progress.parquet of a run directory (or the file itself) as a DataFrame."""
    return load_table(*_run_file(path, PROGRESS_FILE, filesystem))


def read_objectives(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> tuple[Objective, ...]:
    """The objectives stored in a run directory's trials.parquet (or in a given ``.parquet`` file)."""
    return read_run_meta(path, filesystem=filesystem).objectives


def read_run_meta(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> RunMeta:
    """The run's metadata (objectives, tasks, metric columns, reference point, splits, spec) from its trials.parquet."""
    fs, file_path, run = _run_file(path, TRIALS_FILE, filesystem)
    return RunMeta.decode(read_table(fs, file_path, run), file_path)


@dataclass(frozen=True)
class StoredRun:
    """What a run directory holds, read back for its store: metadata, trials, progress (None if absent), exact front."""

    meta: RunMeta
    trials: pa.Table
    progress: pa.Table | None
    exact: ExactFrontIndicators | None


def read_stored_run(fs: pafs.FileSystem, root: str, location: str) -> StoredRun:
    """Read and check a run directory's files (``trials.parquet`` must exist).

    Raises:
        ResultSchemaError: a file is corrupt, foreign, or of another schema version.
    """
    path = join(fs, root, TRIALS_FILE)
    table = read_table(fs, path, location)
    check_columns(table, TRIAL_FIELDS, path, prefix=True)
    meta = RunMeta.decode(table, path)
    trials = table.replace_schema_metadata(None).cast(trials_schema(meta.metric_columns))
    progress = None
    progress_path = join(fs, root, PROGRESS_FILE)
    if fs.get_file_info(progress_path).type != pafs.FileType.NotFound:
        loaded = read_table(fs, progress_path, location)
        check_columns(loaded, PROGRESS_BASE_FIELDS, progress_path, prefix=True)
        progress = complete_progress(loaded.replace_schema_metadata(None))
    exact = None
    exact_path = join(fs, root, EXACT_FRONT_FILE)
    if fs.get_file_info(exact_path).type != pafs.FileType.NotFound:
        exact = ExactFrontIndicators.stored(read_table(fs, exact_path, location), meta.objectives, exact_path)
    return StoredRun(meta, trials, progress, exact)
