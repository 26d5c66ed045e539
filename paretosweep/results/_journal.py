"""Durable finished trials: one small JSON record per trial in the run's ``records/`` directory.

A trial's row is handed to the journal the moment the driver receives it and written by the
journal's writer thread (a hidden temporary file, ``fsync``, rename, then one ``fsync`` of the
directory per batch on a local disk; on other pyarrow filesystems one object written and closed):
the driver's loop pays a queue put, not the disk's latency, and a record is on disk within about
one fsync of its arrival (a driver killed inside that window loses that one row, whose trial a
resume then trains again). ``sync()`` waits until every queued record is durable; ``close()``
does so and stops the thread (the driver calls it before it exits). trials.parquet,
rewritten in the recorder's paced batches, is the compacted form of these records; the records
stay, so that a resume ingests any finished trial the last batch did not reach (nothing that
completed is trained again) and a damaged trials.parquet can be rebuilt from them.

``records/<trial_id>.json`` holds the row as the recorder received it (the keys of
trials.parquet, timestamps as epoch seconds); the file name is the trial id, percent-encoded
where it has characters other than letters, digits, ``-``, ``_`` and ``.``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import queue
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep.results._fs import join

logger = logging.getLogger(__name__)

RECORDS_DIR = "records"
_SUFFIX = ".json"


def _plain(value: Any) -> Any:
    """JSON for the values a row may hold: datetimes as epoch seconds, numpy scalars and arrays as Python."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().timestamp()
    raise TypeError(f"cannot store {type(value).__name__} in a trial record")


def encode_row(row: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(row), default=_plain, allow_nan=True).encode()


def record_name(trial_id: str) -> str:
    return quote(trial_id, safe="-_.") + _SUFFIX


class TrialJournal:
    """The ``records/`` directory of one run (see the module docstring)."""

    def __init__(self, fs: pafs.FileSystem, root: str) -> None:
        self._fs = fs
        self._dir = join(fs, root, RECORDS_DIR)
        self._local = isinstance(fs, pafs.LocalFileSystem)
        self._made = False
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._failed = False

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (Tune pickles its callbacks, the recorder's store with them): the writer thread stays here."""
        return {"_fs": self._fs, "_dir": self._dir, "_local": self._local}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._made = False
        self._queue = queue.Queue()
        self._thread = None
        self._start_lock = threading.Lock()
        self._failed = False

    @property
    def directory(self) -> str:
        return self._dir

    def append(self, rows: Iterable[Mapping[str, Any]], *, wait: bool = False) -> int:
        """Queue one durable record per row (a record already there is replaced); returns how many.

        ``wait``: return only once they are on disk (as ``sync()``).
        """
        rows = list(rows)
        if not rows:
            return 0
        encoded = [(record_name(str(row["trial_id"])), encode_row(row)) for row in rows]  # encoded now: the caller may change the rows
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="paretosweep-records", daemon=True)
                self._thread.start()
        for item in encoded:
            self._queue.put(item)
        if wait:
            self.sync()
        return len(rows)

    def sync(self) -> None:
        """Wait until every record queued so far is written (and fsync'd on a local disk)."""
        if self._thread is not None:
            self._queue.join()

    def close(self) -> None:
        """Write what is queued, then stop the writer thread (a later ``append`` starts a new one)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def clear(self) -> None:
        """Delete every record (a run replaced in place: its records are not the new run's)."""
        self.close()
        if self._fs.get_file_info(self._dir).type == pafs.FileType.Directory:
            self._fs.delete_dir(self._dir)
        self._made = False

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            batch = [item]
            while item is not None:  # take what else is queued: one directory fsync for the lot
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
            stop = batch[-1] is None
            self._write_batch([b for b in batch if b is not None])
            for _ in batch:
                self._queue.task_done()
            if stop:
                return

    def _write_batch(self, batch: list[tuple[str, bytes]]) -> None:
        if not batch:
            return
        try:
            if not self._made:
                self._fs.create_dir(self._dir, recursive=True)
                self._made = True
            for name, data in batch:
                self._write(name, data)
            if self._local:
                _fsync_dir(self._dir)
        except (OSError, pa.ArrowException) as error:
            if not self._failed:  # the rows are still ingested and reach trials.parquet with the next batch
                logger.error(
                    "Cannot write trial records to `%s` (%s): finished trials are durable only once trials.parquet is written.",
                    self._dir,
                    error,
                )
            self._failed = True

    def _write(self, name: str, data: bytes) -> None:
        target = join(self._fs, self._dir, name)
        tmp = join(self._fs, self._dir, f".{name}.{uuid.uuid4().hex}.tmp")
        if not self._local:
            with self._fs.open_output_stream(tmp) as stream:
                stream.write(data)
            self._fs.move(tmp, target)
            return
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise

    def ids(self) -> set[str]:
        """The trial ids that have a record (from the file names; nothing is read)."""
        return {unquote(e.base_name[: -len(_SUFFIX)]) for e in self._entries()}

    def read(self, trial_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The stored rows (of ``trial_ids`` only, if given), oldest first by ``finished_at``.

        A record that cannot be read or parsed is skipped with a warning (its trial is not durable).
        """
        wanted = None if trial_ids is None else {record_name(t) for t in trial_ids}
        rows = []
        for entry in self._entries():
            if wanted is not None and entry.base_name not in wanted:
                continue
            try:
                with self._fs.open_input_stream(entry.path) as stream:
                    row = json.loads(stream.read().decode())
                if not isinstance(row, dict) or not isinstance(row.get("trial_id"), str):
                    raise ValueError("not a trial row")
            except (OSError, pa.ArrowException, ValueError, UnicodeDecodeError) as error:
                logger.warning("Skipping the unreadable trial record `%s` (%s).", entry.path, error)
                continue
            rows.append(row)
        rows.sort(key=_finished_key)
        return rows

    def _entries(self) -> list[pafs.FileInfo]:
        try:
            entries = self._fs.get_file_info(pafs.FileSelector(self._dir, allow_not_found=True))
        except (OSError, pa.ArrowException):
            return []
        return [e for e in entries if e.type == pafs.FileType.File and e.base_name.endswith(_SUFFIX) and not e.base_name.startswith(".")]


def _finished_key(row: Mapping[str, Any]) -> float:
    value = row.get("finished_at")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.inf


def _fsync_dir(directory: str) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
