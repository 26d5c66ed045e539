"""Generations, durable records and recovery of a damaged run directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from paretosweep.results import FRONTIER_FILE, PROGRESS_FILE, TRIALS_FILE, RunStore, load_frontier, load_progress, load_trials
from paretosweep.results._fs import remove_stale_temp_files
from paretosweep.results._meta import RunMeta
from paretosweep.results._readers import StaleRunFileWarning
from paretosweep.results._schema import META_GENERATION
from tests.unit.results._rows import new_run, row


def _generation(path: Path) -> int:
    return int(pq.read_schema(path).metadata[META_GENERATION])


def _args(store: RunStore) -> dict[str, object]:
    return {"objectives": store.objectives, "tasks": store.tasks, "metric_columns": store.metric_columns}


def test_every_write_raises_the_generation_and_derived_files_carry_it(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.ingest([row("a", 1.0, 0.5)])
    store.write()
    store.ingest([row("b", 0.5, 0.9)])
    store.write()
    gens = {name: _generation(tmp_path / name) for name in (TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE)}
    assert len(set(gens.values())) == 1 and gens[TRIALS_FILE] == store.generation >= 2
    assert RunStore(tmp_path).generation == store.generation and RunStore(tmp_path).stale_files() == []


def test_a_frontier_behind_trials_is_recomputed_by_readers_and_rewritten_by_a_resume(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.ingest([row("a", 1.0, 0.5)])
    store.write()
    old_front = (tmp_path / FRONTIER_FILE).read_bytes()
    old_progress = (tmp_path / PROGRESS_FILE).read_bytes()
    store.ingest([row("b", 0.2, 0.9)])  # dominates a (left_loss min, right_acc max)
    store.write()
    (tmp_path / FRONTIER_FILE).write_bytes(old_front)  # as if killed between the two renames
    (tmp_path / PROGRESS_FILE).write_bytes(old_progress)
    assert pq.read_table(tmp_path / FRONTIER_FILE).column("trial_id").to_pylist() == ["a"]
    with pytest.warns(StaleRunFileWarning, match="recomputed from trials.parquet"):
        front = load_frontier(tmp_path)
    assert front.trial_id.tolist() == ["b"]
    with pytest.warns(StaleRunFileWarning, match="last row"):
        load_progress(tmp_path)
    reopened = RunStore(tmp_path)
    assert reopened.stale_files() == [FRONTIER_FILE, PROGRESS_FILE]
    reopened.write()
    assert reopened.stale_files() == []
    assert pq.read_table(tmp_path / FRONTIER_FILE).column("trial_id").to_pylist() == ["b"]


def test_stale_temp_files_are_removed_and_never_read(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.ingest([row("a", 1.0, 0.5)])
    store.write()
    (tmp_path / f".{FRONTIER_FILE}.abc.tmp").write_bytes(b"")
    (tmp_path / "records").mkdir(exist_ok=True)
    (tmp_path / "records" / ".a.json.1.tmp").write_bytes(b"{")
    assert len(load_frontier(tmp_path)) == 1
    removed = remove_stale_temp_files(store.location[0], store.location[1], ("records",))
    assert len(removed) == 2 and not list(tmp_path.glob(".*.tmp"))


def test_recorded_rows_are_durable_before_a_write_and_ingested_on_reopen(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.record([row("a", 1.0, 0.5)])
    store.write()
    store.record([row("b", 0.5, 0.9), row("c", 0.2, 0.2)])  # arrives; the driver dies before the next batch
    store.journal.sync()
    assert json.loads((tmp_path / "records" / "b.json").read_text())["trial_id"] == "b"
    reopened = RunStore(tmp_path)
    assert len(reopened) == 1
    assert reopened.ingest_records() == 2 and reopened.ingest_records() == 0
    assert sorted(reopened.trial_ids()) == ["a", "b", "c"]


def test_a_corrupt_trials_file_is_recovered_from_records_and_moved_aside(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.record([row("a", 1.0, 0.5), row("b", 0.5, 0.9), row("c", 0.2, 0.2)])
    store.write()
    args = _args(store)
    (tmp_path / TRIALS_FILE).write_bytes(b"garbage" * 20)
    fresh = RunStore(tmp_path, load=False)
    found = fresh.recover(RunMeta.of(**args))  # type: ignore[arg-type]
    assert found.sources["records"] == 3 and not found.unrecoverable
    assert sorted(load_trials(tmp_path).trial_id) == ["a", "b", "c"]
    assert list(tmp_path.glob(f"{TRIALS_FILE}.damaged-*"))
    assert not list(tmp_path.glob(f"{FRONTIER_FILE}.before-recovery-*"))


def test_recovery_without_records_uses_the_frontier_and_keeps_a_bigger_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = new_run(tmp_path)
    store.ingest([row("a", 1.0, 0.1), row("b", 0.1, 1.0), row("c", 0.5, 0.5), row("d", 2.0, 2.0)])
    store.write()
    args = _args(store)
    front_ids = sorted(load_frontier(tmp_path).trial_id)
    (tmp_path / TRIALS_FILE).unlink()
    found = RunStore(tmp_path, load=False).recover(RunMeta.of(**args))  # type: ignore[arg-type]
    assert found.sources["frontier"] == len(front_ids) and sorted(load_trials(tmp_path).trial_id) == front_ids
    assert sorted(load_frontier(tmp_path).trial_id) == front_ids  # d (dominated) was in no record: not on the front anyway
    # a frontier whose trials are in no record is never replaced by a smaller one silently
    shutil.rmtree(tmp_path / "records", ignore_errors=True)
    (tmp_path / TRIALS_FILE).unlink()
    table = pq.read_table(tmp_path / FRONTIER_FILE)
    ids = table.column("seed_trial_ids").to_pylist()
    ids[0] = ["a", "x"]  # a point pooled from two seeds cannot be split back
    import pyarrow as pa

    table = table.set_column(table.schema.get_field_index("seed_trial_ids"), "seed_trial_ids", pa.array(ids, pa.list_(pa.string())))
    pq.write_table(table, tmp_path / FRONTIER_FILE)
    with caplog.at_level("WARNING"):
        RunStore(tmp_path, load=False).recover(RunMeta.of(**args))  # type: ignore[arg-type]
    assert "The stored frontier is kept as" in caplog.text and "x" in caplog.text
    assert list(tmp_path.glob(f"{FRONTIER_FILE}.before-recovery-*"))
