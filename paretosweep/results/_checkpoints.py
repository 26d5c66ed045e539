"""Trial checkpoints and logs in a run directory: where they are, reading them back, retention.

A trial's checkpoint is what it last reported with ``ctx.report(..., checkpoint=obj)``, saved by
Ray Tune under the run directory (``_tune/<experiment>/<trial>/checkpoint_<n>/checkpoint.pt``,
local or on a pyarrow filesystem); ``trials.parquet``'s ``checkpoint`` column holds that
directory relative to the run directory, so a run that is moved or copied keeps its
checkpoints. A packed trial's members share one checkpoint directory, one ``<trial_id>.pt`` each.
A failed trial's full traceback is ``logs/<trial_id>.log``.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow.fs as pafs

from paretosweep.errors import RunDirectoryError
from paretosweep.results._fs import join, resolve
from paretosweep.results._store import RunStore

#: The file inside a trial's checkpoint directory (a packed member's is ``<trial_id>.pt``).
CHECKPOINT_FILE = "checkpoint.pt"
#: Where Tune keeps trials' directories inside a run directory.
TUNE_DIR = "_tune"
LOGS_DIR = "logs"


def relative_checkpoint(path: str | None) -> str | None:
    """A Tune checkpoint path (absolute, or inside a URI's filesystem) relative to its run directory."""
    if not path:
        return None
    marker = f"/{TUNE_DIR}/"
    text = str(path).replace(os.sep, "/")
    return TUNE_DIR + "/" + text.split(marker, 1)[1] if marker in text else text


def write_trial_log(fs: pafs.FileSystem, root: str, trial_id: str, text: str) -> str:
    """Write ``logs/<trial_id>.log`` (a failed trial's traceback); returns its path."""
    folder = join(fs, root, LOGS_DIR)
    fs.create_dir(folder, recursive=True)
    path = join(fs, folder, f"{trial_id}.log")
    with fs.open_output_stream(path) as out:
        out.write(text.encode())
    return path


def read_trial_log(run: str | os.PathLike[str], trial_id: str) -> str:
    """The log a failed trial left (its full traceback).

    Raises:
        RunDirectoryError: the trial left no log (it did not fail, or the id is not in the run).
    """
    fs, root = resolve(run)
    path = join(fs, join(fs, root, LOGS_DIR), f"{trial_id}.log")
    if fs.get_file_info(path).type != pafs.FileType.File:
        raise RunDirectoryError(
            f"Trial `{trial_id}` of `{run}` left no log (`{LOGS_DIR}/{trial_id}.log`): only failed trials keep their "
            "traceback. `paretosweep frontier RUN` and trials.parquet's `status` / `error` columns list the trials."
        )
    with fs.open_input_stream(path) as stream:
        return bytes(stream.read()).decode()


def checkpoint_file(run: str | os.PathLike[str], trial_id: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path) of trial ``trial_id``'s saved checkpoint file.

    Raises:
        RunDirectoryError: no such trial, or it kept no checkpoint (retention, or it never reported one).
    """
    from paretosweep.results._readers import load_trials

    fs, root = resolve(run)
    return fs, _stored_file(fs, root, run, trial_id, load_trials(run))


def checkpoint_locations(
    run: str | os.PathLike[str], trial_ids: Iterable[str], *, trials: pd.DataFrame | None = None
) -> dict[str, dict[str, Any]]:
    """Where each trial's checkpoint file is, as JSON-able entries keyed by trial id.

    Each entry is ``{"trial_id", "seed", "location", "reason"}``: ``location`` is the file's full
    local path, or a URI when ``run`` is one (``s3://bucket/run/_tune/.../checkpoint.pt``);
    when the trial kept none, ``location`` is None and ``reason`` says why and how to keep it.

    Args:
        run: the run directory or URI.
        trial_ids: the trials to look up (repeats are looked up once).
        trials: the run's trials.parquet rows when already read; None reads them.
    """
    from paretosweep.results._readers import load_trials

    table = load_trials(run) if trials is None else trials
    fs, root = resolve(run)
    seeds = dict(zip(table["trial_id"].astype(str), table["seed"], strict=True)) if "seed" in table.columns else {}
    out: dict[str, dict[str, Any]] = {}
    for trial_id in dict.fromkeys(str(t) for t in trial_ids):
        seed = seeds.get(trial_id)
        entry: dict[str, Any] = {"trial_id": trial_id, "seed": None if seed is None or pd.isna(seed) else int(seed)}
        try:
            entry.update(location=_location(run, root, _stored_file(fs, root, run, trial_id, table)), reason=None)
        except RunDirectoryError as error:
            entry.update(location=None, reason=str(error))
        out[trial_id] = entry
    return out


def _stored_file(fs: pafs.FileSystem, root: str, run: str | os.PathLike[str], trial_id: str, trials: pd.DataFrame) -> str:
    """The path (inside ``fs``) of the checkpoint file ``trials`` lists for ``trial_id``; raises RunDirectoryError."""
    rows = trials[trials["trial_id"] == trial_id]
    if not len(rows):
        raise RunDirectoryError(f"`{run}` has no trial `{trial_id}`; its trial ids are in trials.parquet's `trial_id` column.")
    stored = rows.iloc[0].get("checkpoint")  # absent in a run written before checkpoints
    if not isinstance(stored, str) or not stored:
        raise RunDirectoryError(
            f"Trial `{trial_id}` of `{run}` kept no checkpoint: the sweep's `checkpoints.keep` deleted it (default "
            "`frontier` keeps only the frontier's), or the trial never reported one (`ctx.report(..., checkpoint=obj)`). "
            "Set `checkpoints: {keep: all}` to keep every trial's."
        )
    folder = join(fs, root, stored) if not stored.startswith("/") else stored
    for name in (f"{trial_id}.pt", CHECKPOINT_FILE):
        path = join(fs, folder, name)
        if fs.get_file_info(path).type == pafs.FileType.File:
            return path
    raise RunDirectoryError(f"The checkpoint of trial `{trial_id}` is listed as `{stored}` but `{folder}` holds no checkpoint file.")


def _location(run: str | os.PathLike[str], root: str, path: str) -> str:
    """``path`` (inside the run's filesystem) as the user would name it: a local path, or a URI in ``run``'s form."""
    text = os.fspath(run)
    if "://" not in text:
        return path
    base, sep, query = text.partition("?")  # keep the URI's options (``?region=...``) after the path
    prefix = root.rstrip("/")
    if path.startswith(prefix + "/"):
        return base.rstrip("/") + path[len(prefix) :] + sep + query
    return f"{text.split('://', 1)[0]}://{path}{sep}{query}"


def load_checkpoint(run: str | os.PathLike[str], trial_id: str, *, map_location: Any = "cpu") -> Any:
    """The object trial ``trial_id`` last reported with ``ctx.report(..., checkpoint=obj)``.

    For the built-in problems it is ``{"model": state_dict, "optimizer": ..., "epoch": ..., "generator": ...}``.
    Unpickling runs code: load checkpoints only from runs you trust.
    """
    import io

    import torch

    fs, path = checkpoint_file(run, trial_id)
    with fs.open_input_stream(path) as stream:
        saved = torch.load(io.BytesIO(stream.read()), map_location=map_location, weights_only=False)
    return saved["trainable"] if isinstance(saved, dict) and "trainable" in saved and "context" in saved else saved


def copy_checkpoint(run: str | os.PathLike[str], trial_id: str, destination: str | os.PathLike[str]) -> str:
    """Save trial ``trial_id``'s checkpoint object (what :func:`load_checkpoint` returns, so that
    ``torch.load(copy)`` gives what the trainable reported) to ``destination``: a file path or URI, or
    a folder (an existing one or a path ending in ``/``), where it becomes ``<trial_id>.pt``.
    Returns the copy's path."""
    import io

    import torch

    saved = load_checkpoint(run, trial_id)
    dest_fs, dest = resolve(destination)
    if os.fspath(destination).endswith(("/", os.sep)):
        dest_fs.create_dir(dest, recursive=True)
    if dest_fs.get_file_info(dest).type == pafs.FileType.Directory:
        dest = join(dest_fs, dest, f"{trial_id}.pt")
    else:
        parent = os.path.dirname(dest) if isinstance(dest_fs, pafs.LocalFileSystem) else posixpath.dirname(dest)
        if parent:
            dest_fs.create_dir(parent, recursive=True)
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    with dest_fs.open_output_stream(dest) as out:
        out.write(buffer.getvalue())
    return dest


def delete_checkpoints(fs: pafs.FileSystem, root: str, folders: Iterable[str]) -> int:
    """Delete checkpoint directories (relative to the run directory ``root``); returns how many were deleted."""
    deleted = 0
    for folder in set(folders):
        path = join(fs, root, folder)
        if fs.get_file_info(path).type == pafs.FileType.Directory:
            fs.delete_dir(path)
            deleted += 1
    return deleted


def retain_checkpoints(store: RunStore, keep: str) -> int:
    """Apply ``checkpoints.keep`` when a sweep ends: ``all`` keeps every checkpoint, ``frontier`` those of
    the frontier's trials (every seed of a frontier configuration), ``none`` none. The others are
    deleted and their ``checkpoint`` set to null; returns how many checkpoint directories were deleted."""
    if keep == "all" or not len(store):
        return 0
    trials = store.read_trials()
    listed = {str(t): c for t, c in zip(trials["trial_id"], trials["checkpoint"], strict=True) if isinstance(c, str) and c}
    kept: set[str] = set()
    if keep == "frontier":
        frontier = store.read_frontier()
        for ids in frontier.get("seed_trial_ids", []):
            kept.update(str(i) for i in (ids if ids is not None else []))
        kept.update(str(t) for t in frontier.get("trial_id", []))
    dropped = {t for t in listed if t not in kept}
    still_used = {listed[t] for t in listed if t in kept}  # a packed trial's members share one folder
    fs, root = store.location
    deleted = delete_checkpoints(fs, root, (listed[t] for t in dropped if listed[t] not in still_used))
    for trial_id in (t for t in dropped if listed[t] in still_used):  # a dropped member of a kept pack: its file only
        member_file = join(fs, join(fs, root, listed[trial_id]), f"{trial_id}.pt")
        if fs.get_file_info(member_file).type == pafs.FileType.File:
            fs.delete_file(member_file)
    store.forget_checkpoints(dropped)
    if dropped:
        store.write()
    return deleted
