"""The run directory's files: local paths or pyarrow filesystem URIs, atomic writes, checked reads."""

from __future__ import annotations

import contextlib
import os
import posixpath
import uuid
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from paretosweep._redact import redact
from paretosweep.errors import ResultSchemaError, RunDirectoryError
from paretosweep.results._schema import META_OBJECTIVES, META_SCHEMA_VERSION, READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, progress_schema

#: What to do about a damaged run file (deleting it would lose the run: a resume recovers it).
RECOVERY_ADVICE = (
    "Do not delete it: `paretosweep run SPEC --resume` recovers the run, rebuilding trials.parquet from the run's "
    "records/ (one file per finished trial), frontier and Ray Tune results, and frontier/progress from the "
    "recovered trials; the damaged file is moved aside."
)


def resolve(path: str | os.PathLike[str], filesystem: pafs.FileSystem | None = None) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path (made absolute, ``~`` expanded), a pyarrow
    filesystem URI (``s3://``, ``gs://``, ``file://``...), or a path on ``filesystem``.

    Raises:
        RunDirectoryError: a URI pyarrow cannot open (the message says how it failed).
    """
    text = os.fspath(path)
    if filesystem is not None:
        return filesystem, text
    if "://" in text:
        try:
            return pafs.FileSystem.from_uri(text)
        except (pa.ArrowException, ValueError, OSError) as exc:
            raise RunDirectoryError(
                redact(f"Cannot open storage `{text}` as a pyarrow filesystem URI ({exc}). Check the URI and its credentials.")
            ) from None
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(text))


def join(fs: pafs.FileSystem, directory: str, name: str) -> str:
    if isinstance(fs, pafs.LocalFileSystem):
        return os.path.join(directory, name)
    return posixpath.join(directory, name)


def split(fs: pafs.FileSystem, path: str) -> tuple[str, str]:
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
    fs, target = resolve(path, filesystem)
    directory, name = split(fs, target)
    if directory:
        fs.create_dir(directory, recursive=True)
    tmp = join(fs, directory, f".{name}.{uuid.uuid4().hex}.tmp")
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


def read_table(fs: pafs.FileSystem, path: str, run: str) -> pa.Table:
    """Read one paretosweep Parquet file, turning every failure into ``ResultSchemaError``."""
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.File:
        found = "is missing" if info.type == pafs.FileType.NotFound else "is not a file"
        raise ResultSchemaError(
            f"`{redact(run)}` is not a paretosweep run directory: `{path}` {found}. Run `paretosweep run SPEC` first, or check the path."
        )
    try:
        table = pq.read_table(path, filesystem=fs)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ResultSchemaError(f"`{path}` is corrupt ({type(exc).__name__}: {exc}). {RECOVERY_ADVICE}") from exc
    metadata = table.schema.metadata or {}
    if META_OBJECTIVES not in metadata:
        raise ResultSchemaError(
            f"`{path}` should carry the `{META_OBJECTIVES.decode()}` schema metadata. Found none: "
            "it was not written by paretosweep. Point to a run directory from `paretosweep run SPEC`."
        )
    version = metadata.get(META_SCHEMA_VERSION, b"?").decode()
    if version not in READABLE_SCHEMA_VERSIONS:
        raise ResultSchemaError(
            f"`{path}` uses paretosweep schema version {version}; this paretosweep reads versions "
            f"{', '.join(READABLE_SCHEMA_VERSIONS)}. Re-run the sweep or use the paretosweep version that wrote it."
        )
    if version == "1" and "history" in table.column_names and "checkpoint" not in table.column_names:
        # version 1 had no checkpoints: the column goes after `history`, where version 2 has it
        at = table.column_names.index("history") + 1
        table = table.add_column(at, pa.field("checkpoint", pa.string()), pa.nulls(table.num_rows, pa.string()))
    return table


def complete_progress(table: pa.Table) -> pa.Table:
    """A progress table written before the indicator columns existed, with those columns null."""
    for f in progress_schema():
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(progress_schema().names).cast(progress_schema())


def check_columns(table: pa.Table, expected: Sequence[pa.Field], path: str, *, prefix: bool) -> None:
    """The file's leading (or all) columns must match ``expected`` by name and type."""
    found = list(table.schema)[: len(expected)] if prefix else list(table.schema)
    if [(f.name, f.type) for f in found] != [(f.name, f.type) for f in expected]:
        raise ResultSchemaError(
            f"`{path}` should start with the columns {[f.name for f in expected]} of schema version "
            f"{SCHEMA_VERSION}. Found {table.schema.names}. {RECOVERY_ADVICE}"
        )


def remove_stale_temp_files(fs: pafs.FileSystem, root: str, subdirs: Sequence[str] = ()) -> list[str]:
    """Delete the hidden ``.*.tmp`` files an interrupted write left in ``root`` (and ``subdirs`` of it).

    Only the run's one driver may call this (a temporary file of a live writer would go too);
    readers never open such files. Returns the paths removed.
    """
    removed = []
    for directory in (root, *(join(fs, root, d) for d in subdirs)):
        try:
            entries = fs.get_file_info(pafs.FileSelector(directory, allow_not_found=True))
        except (OSError, pa.ArrowException):
            continue
        for entry in entries:
            if entry.type == pafs.FileType.File and entry.base_name.startswith(".") and entry.base_name.endswith(".tmp"):
                with contextlib.suppress(OSError, pa.ArrowException):
                    fs.delete_file(entry.path)
                    removed.append(entry.path)
    return removed
