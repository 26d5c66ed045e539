"""Reading runs: the contract's metadata, and a clear message for every kind of bad directory."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paretosweep.dashboard._data import RunRegistry, load_run, run_signature
from paretosweep.errors import ResultSchemaError
from paretosweep.results import FRONTIER_FILE, PROGRESS_FILE, TRIALS_FILE
from tests.synthetic_run import write_synthetic_run


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    return write_synthetic_run(tmp_path / "run", n_trials=12, n_method_trials=2, n_failed=1, n_diverged=1)


def test_load_run_reads_objectives_tasks_spec_and_files(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert [o.column for o in run.objectives] == ["left_loss", "right_loss", "center_loss"]
    assert run.tasks == ("left", "right", "center")
    assert run.metric_columns == ("left_loss", "left_acc", "right_loss", "right_acc", "center_loss", "center_acc")
    assert run.spec is not None and run.spec["problem"]["name"] == "synthetic"
    assert len(run.trials) == 12 and set(run.frontier["trial_id"]) <= set(run.trials["trial_id"])
    assert "hv_contribution" in run.frontier.columns and len(run.progress) > 0
    assert run.name == "run"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ResultSchemaError, match=r"Found no directory at `.*nope`"):
        load_run(tmp_path / "nope")


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ResultSchemaError, match="trials.parquet"):
        load_run(tmp_path)


def test_corrupt_trials_file(run_dir: Path) -> None:
    (run_dir / TRIALS_FILE).write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ResultSchemaError, match="corrupt"):
        load_run(run_dir)


def test_foreign_parquet_without_metadata(run_dir: Path) -> None:
    pq.write_table(pa.table({"x": [1.0]}), run_dir / TRIALS_FILE)
    with pytest.raises(ResultSchemaError, match="paretosweep.objectives"):
        load_run(run_dir)


def test_missing_frontier_and_progress_are_rebuilt_or_empty(run_dir: Path) -> None:
    expected = set(load_run(run_dir).frontier["trial_id"])
    os.remove(run_dir / FRONTIER_FILE)
    os.remove(run_dir / PROGRESS_FILE)
    run = load_run(run_dir)
    assert set(run.frontier["trial_id"]) == expected
    assert run.progress.empty and "hypervolume" in run.progress.columns


def test_signature_changes_when_a_file_is_rewritten(run_dir: Path) -> None:
    before = run_signature(run_dir)
    assert all(mtime > 0 for _, mtime, _ in before)
    write_synthetic_run(run_dir, n_trials=15, n_method_trials=2, n_failed=1, n_diverged=1, seed=1)
    assert run_signature(run_dir) != before
    assert all(m == -1 for _, m, _ in run_signature(run_dir / "absent"))


def test_registry_keeps_errors_and_picks_a_run_up_once_written(tmp_path: Path) -> None:
    good = write_synthetic_run(tmp_path / "good", n_trials=8, n_method_trials=1, n_failed=1, n_diverged=1)
    later = tmp_path / "later"
    registry = RunRegistry([good, later])
    assert registry.get(0)[0] is not None and registry.get(0)[1] is None
    data, error, version = registry.get(1)
    assert data is None and "Found no directory" in error
    assert registry.errors() == [f"{later}: {error}"]
    assert registry.refresh(1) is False  # nothing changed: not re-read
    write_synthetic_run(later, n_trials=8, n_method_trials=1, n_failed=1, n_diverged=1)
    assert registry.refresh(1) is True
    data, error, new_version = registry.get(1)
    assert data is not None and error is None and new_version == version + 1


def test_registry_needs_a_run() -> None:
    with pytest.raises(ValueError, match="at least one run"):
        RunRegistry([])
