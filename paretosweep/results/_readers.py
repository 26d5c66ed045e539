"""Reading a run: its files as DataFrames and its metadata (the CLI, the API and the dashboard use these).

trials.parquet is the source of truth. A frontier.parquet made from an older generation of it (a
driver killed between the two renames, or a reader that raced a write) is not returned as it is:
:func:`load_frontier` warns (:class:`StaleRunFileWarning`) and recomputes the frontier from
trials.parquet in memory, the file itself stays as it is until the run's driver rewrites it (a
``--resume`` does so at once). A stale progress.parquet is returned with the same warning (its rows
are a history; the missing last row is written by the next resume). Hidden ``.*.tmp`` files are
never read.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from paretosweep.errors import ResultSchemaError
from paretosweep.results._exact_front import ExactFrontIndicators
from paretosweep.results._fs import check_columns, complete_progress, join, read_table, resolve
from paretosweep.results._meta import RunMeta
from paretosweep.results._schema import (
    EXACT_FRONT_FILE,
    FRONTIER_FILE,
    META_GENERATION,
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


class StaleRunFileWarning(UserWarning):
    """A derived run file (frontier, progress) was made from an older trials.parquet than the one stored."""


def file_generation(fs: pafs.FileSystem, path: str) -> int | None:
    """The ``paretosweep.generation`` of a run file, read from its footer only (None: not recorded).

    Raises:
        ResultSchemaError: the file cannot be read as Parquet.
    """
    try:
        metadata = pq.read_schema(path, filesystem=fs).metadata or {}
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ResultSchemaError(f"`{path}` is corrupt ({type(exc).__name__}: {exc}).") from exc
    value = metadata.get(META_GENERATION)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _behind(fs: pafs.FileSystem, derived: pa.Table, trials_path: str) -> tuple[int | None, int | None]:
    """(derived generation, trials generation) when ``derived`` is older than the trials file beside it, else (None, None)."""
    if fs.get_file_info(trials_path).type != pafs.FileType.File:
        return None, None
    try:
        stored = file_generation(fs, trials_path)
    except ResultSchemaError:
        return None, None  # a damaged trials file: the derived file is the best there is
    value = (derived.schema.metadata or {}).get(META_GENERATION)
    made_from = None if value is None else int(value)
    if stored is not None and (made_from is None or made_from < stored):
        return made_from, stored
    return None, None


def _root_of(fs: pafs.FileSystem, file_path: str) -> str:
    return os.path.dirname(file_path) if isinstance(fs, pafs.LocalFileSystem) else file_path.rsplit("/", 1)[0]


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
    from paretosweep.results._progress import frontier_table

    if not completed_only:
        fs, file_path, run = _run_file(path, FRONTIER_FILE, filesystem)
        table = read_table(fs, file_path, run)
        root = _root_of(fs, file_path)
        made_from, current = _behind(fs, table, join(fs, root, TRIALS_FILE))
        if current is None:
            frame = table.to_pandas()
            frame.attrs["objectives"] = objectives_from_json(table.schema.metadata[META_OBJECTIVES])
            return frame
        warnings.warn(
            f"`{file_path}` was made from generation {made_from} of trials.parquet, which is at generation {current} "
            "(its driver stopped between two writes, or is writing now): returning the frontier recomputed from "
            "trials.parquet. `paretosweep run SPEC --resume` rewrites the file.",
            StaleRunFileWarning,
            stacklevel=2,
        )
        stored_run = read_stored_run(fs, root, run)
        front, _ = frontier_table(stored_run.trials, stored_run.meta)
        objective_columns = [o.column for o in stored_run.meta.objectives]
        frame = front.cast(frontier_schema(stored_run.meta.metric_columns, objective_columns)).to_pandas()
        frame.attrs["objectives"] = stored_run.meta.objectives
        return frame

    text = os.fspath(path)
    fs, resolved = resolve(text, filesystem)
    root = resolved.rsplit("/", 1)[0] if resolved.endswith(".parquet") else resolved
    stored = read_stored_run(fs, root, text)
    front, _ = frontier_table(stored.trials, stored.meta, statuses=("completed",))
    frame = front.cast(frontier_schema(stored.meta.metric_columns, [o.column for o in stored.meta.objectives])).to_pandas()
    frame.attrs["objectives"] = stored.meta.objectives
    return frame


def load_progress(path: str | os.PathLike[str], *, filesystem: pafs.FileSystem | None = None) -> pd.DataFrame:
    """progress.parquet of a run directory (or the file itself) as a DataFrame (a stale one with a warning)."""
    fs, file_path, run = _run_file(path, PROGRESS_FILE, filesystem)
    table = read_table(fs, file_path, run)
    made_from, stored = _behind(fs, table, join(fs, _root_of(fs, file_path), TRIALS_FILE))
    if stored is not None:
        warnings.warn(
            f"`{file_path}` was made from generation {made_from} of trials.parquet, which is at generation {stored}: "
            "its last row(s) may be missing. `paretosweep run SPEC --resume` brings it up to date.",
            StaleRunFileWarning,
            stacklevel=2,
        )
    frame = table.to_pandas()
    frame.attrs["objectives"] = objectives_from_json(table.schema.metadata[META_OBJECTIVES])
    return frame


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
    generation: int = 0


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
    generation_text = (table.schema.metadata or {}).get(META_GENERATION)
    generation = int(generation_text) if generation_text is not None and generation_text.isdigit() else 0
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
    return StoredRun(meta, trials, progress, exact, generation)
