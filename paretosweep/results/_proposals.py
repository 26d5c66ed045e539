"""The conditioned stage's files: its proposals (rows of kind ``conditioned``) and its ``info.json``.

``sampler: conditioned`` trains one weight-conditioned model before the sweep and evaluates it on a
dense set of weight vectors. Those evaluations are *proposals*, not trials: they live in
``conditioned/proposals.parquet``, with the columns and metadata of ``trials.parquet``
(:func:`~paretosweep.results.trials_schema`, ``kind = "conditioned"``, one row per weight vector,
``test_*`` columns when the problem has a test split), never in ``trials.parquet`` itself, so the
frontier, progress and every reader of the trials see verified trials only.
``conditioned/info.json`` holds what the stage cost (epochs, sample-epochs, seconds), the weight
vectors it chose to verify with their proposed values and, after the sweep, the gap between each
proposal and its verified trial.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep.errors import RunDirectoryError
from paretosweep.results._fs import atomic_write_table, join, read_table, resolve
from paretosweep.results._meta import RunMeta
from paretosweep.results._rows import clean_row, rows_to_table
from paretosweep.results._schema import META_OBJECTIVES, objectives_from_json, trials_schema

#: The run directory's folder of the conditioned stage, and its files.
STAGE_DIR = "conditioned"
STAGE_INFO = "info.json"
PROPOSALS_FILE = "proposals.parquet"
#: ``kind`` of a proposal row.
CONDITIONED_KIND = "conditioned"


def _stage_path(run_dir: str | os.PathLike[str], name: str) -> tuple[pafs.FileSystem, str]:
    fs, root = resolve(os.fspath(run_dir))
    return fs, join(fs, join(fs, root, STAGE_DIR), name)


def write_proposals(run_dir: str | os.PathLike[str], meta: RunMeta, rows: Sequence[Mapping[str, Any]]) -> str:
    """Write ``conditioned/proposals.parquet`` atomically (columns and metadata of the run's trials); returns its path.

    Raises:
        ResultSchemaError: a row with an unknown column or a value of the wrong type.
    """
    schema = trials_schema(meta.metric_columns)
    clean = [clean_row({**row, "kind": CONDITIONED_KIND}, schema.names, meta.metric_columns) for row in rows]
    table = rows_to_table(clean, schema).replace_schema_metadata(meta.encode())
    fs, path = _stage_path(run_dir, PROPOSALS_FILE)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    atomic_write_table(table, path, fs)
    return path


def load_proposals(run_dir: str | os.PathLike[str]) -> pd.DataFrame | None:
    """``conditioned/proposals.parquet`` of a run as a DataFrame (objectives in ``attrs``), or None without one."""
    try:
        fs, path = _stage_path(run_dir, PROPOSALS_FILE)
    except Exception:  # not a run location
        return None
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    table = read_table(fs, path, os.fspath(run_dir))
    frame = table.to_pandas()
    frame.attrs["objectives"] = objectives_from_json(table.schema.metadata[META_OBJECTIVES])
    return frame


def read_stage_info(run_dir: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """``conditioned/info.json`` of a run (local path or URI), or None (no conditioned stage there)."""
    if run_dir is None:
        return None
    try:
        fs, path = _stage_path(run_dir, STAGE_INFO)
    except (RunDirectoryError, OSError, pa.ArrowException):  # not a run location (e.g. the stand-in storage of a dry plan)
        return None
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as stream:
        loaded: dict[str, Any] = json.loads(bytes(stream.read()).decode())
    return loaded


def write_stage_info(run_dir: str | os.PathLike[str], info: Mapping[str, Any]) -> None:
    """Write ``conditioned/info.json`` (the stage's cost, its verification weights, their gaps)."""
    fs, path = _stage_path(run_dir, STAGE_INFO)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(json.dumps(dict(info), indent=2, sort_keys=True, default=float).encode())


def verification_gaps(
    info: Mapping[str, Any], columns: Sequence[str]
) -> list[tuple[list[float], list[tuple[str, float | None, float | None, float | None]]]]:
    """Per verified weight vector of a stage's ``info.json``: ``(weights, [(column, proposed, verified, gap), ...])``.

    ``gap = verified - proposed`` (None where a value is missing, e.g. a verification trial that failed).
    """
    out = []
    for entry in info.get("verify", []):
        proposed, verified, gap = entry.get("proposed", {}), entry.get("verified", {}), entry.get("gap", {})
        out.append(([float(w) for w in entry["weights"]], [(c, proposed.get(c), verified.get(c), gap.get(c)) for c in columns]))
    return out


def stage_file(run_dir: str | os.PathLike[str], name: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path) of a file in the run's ``conditioned/`` folder (its checkpoint, say)."""
    return _stage_path(run_dir, name)
