"""atomic_write_table: the target is replaced whole and no temporary file is left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from paretosweep.results import atomic_write_table
from tests.unit.results._rows import new_run, row


def test_write_leaves_only_the_target(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "t.parquet"
    atomic_write_table(pa.table({"x": [1, 2]}), str(target))
    atomic_write_table(pa.table({"x": [3]}), str(target))
    assert os.listdir(target.parent) == ["t.parquet"]
    assert pq.read_table(target).column("x").to_pylist() == [3]


def test_run_directory_has_no_temp_files(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    for i in range(3):
        store.ingest([row(f"t{i}", float(i), 0.5)])
        store.write()
    assert sorted(os.listdir(tmp_path)) == ["frontier.parquet", "progress.parquet", "trials.parquet"]


def test_failed_write_keeps_old_file_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "t.parquet"
    atomic_write_table(pa.table({"x": [1]}), str(target))

    def explode(table: pa.Table, where: object, **kwargs: object) -> None:
        if hasattr(where, "write"):
            where.write(b"PAR1 half written")  # type: ignore[union-attr]
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", explode)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_table(pa.table({"x": [2]}), str(target))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["t.parquet"]
    assert pq.read_table(target).column("x").to_pylist() == [1]


def test_pyarrow_filesystem_uses_move() -> None:
    fs = pafs._MockFileSystem()
    atomic_write_table(pa.table({"x": [1]}), "d/t.parquet", fs)
    atomic_write_table(pa.table({"x": [5]}), "d/t.parquet", filesystem=fs)
    names = [i.base_name for i in fs.get_file_info(pafs.FileSelector("d"))]
    assert names == ["t.parquet"]
    assert pq.read_table("d/t.parquet", filesystem=fs).column("x").to_pylist() == [5]
