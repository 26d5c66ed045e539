"""Missing, corrupt, truncated and foreign files raise ResultSchemaError naming file and fix."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paretosweep.errors import ResultSchemaError
from paretosweep.results import FRONTIER_FILE, PROGRESS_FILE, TRIALS_FILE, RunStore, load_frontier, load_trials, read_objectives
from tests.unit.results._rows import new_run, row


def _run(path: Path) -> RunStore:
    store = new_run(path)
    store.ingest([row("a", 1.0, 0.5), row("b", 0.5, 0.2)])
    store.write()
    return store


def test_missing_run_directory(tmp_path: Path) -> None:
    with pytest.raises(ResultSchemaError, match=r"is not a paretosweep run directory.*paretosweep run SPEC"):
        RunStore(tmp_path / "nope").open()
    with pytest.raises(ResultSchemaError, match="trials.parquet"):
        load_trials(tmp_path / "nope")
    with pytest.raises(ResultSchemaError, match="not a paretosweep run directory"):
        _ = RunStore(tmp_path).objectives
    with pytest.raises(ResultSchemaError):
        RunStore(tmp_path).ingest([row("a", 1.0, 0.5)])


def test_garbage_trials_file(tmp_path: Path) -> None:
    _run(tmp_path)
    (tmp_path / TRIALS_FILE).write_bytes(b"this is not parquet at all" * 10)
    fix = r"trials\.parquet` is corrupt .*Do not delete it: `paretosweep run SPEC --resume` recovers the run"
    with pytest.raises(ResultSchemaError, match=fix):
        RunStore(tmp_path)
    with pytest.raises(ResultSchemaError, match="corrupt"):
        load_trials(tmp_path)
    with pytest.raises(ResultSchemaError, match="corrupt"):
        read_objectives(tmp_path)


@pytest.mark.parametrize("name", [TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE])
def test_truncated_file(tmp_path: Path, name: str) -> None:
    _run(tmp_path)
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(ResultSchemaError, match=f"{name}` is corrupt"):
        if name == FRONTIER_FILE:
            load_frontier(tmp_path)
        else:
            RunStore(tmp_path)


def test_parquet_without_paretosweep_metadata(tmp_path: Path) -> None:
    pq.write_table(pa.table({"trial_id": ["a"]}), tmp_path / TRIALS_FILE)
    with pytest.raises(ResultSchemaError, match="paretosweep.objectives"):
        RunStore(tmp_path)
    with pytest.raises(ResultSchemaError, match="paretosweep.objectives"):
        read_objectives(tmp_path / TRIALS_FILE)


def test_wrong_columns(tmp_path: Path) -> None:
    store = _run(tmp_path)
    table = pq.read_table(tmp_path / TRIALS_FILE).drop_columns(["seed"])
    pq.write_table(table, tmp_path / TRIALS_FILE)
    with pytest.raises(ResultSchemaError, match="should start with the columns"):
        RunStore(tmp_path)
    del store


def test_missing_progress_after_crash_is_rebuilt(tmp_path: Path) -> None:
    _run(tmp_path)
    (tmp_path / PROGRESS_FILE).unlink()
    store = RunStore(tmp_path)
    assert len(store) == 2
    store.ingest([row("c", 0.1, 0.1)])
    store.write()
    assert store.read_progress()["trials_done"].tolist() == [3]
