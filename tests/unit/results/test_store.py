"""RunStore: round trip, metadata, idempotent ingest, resume, frontier and progress contents."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from paretosweep.errors import ConfigError, ResultSchemaError, RunDirectoryError
from paretosweep.frontier import hypervolume
from paretosweep.results import (
    FRONTIER_FILE,
    PROGRESS_FILE,
    SCHEMA_VERSION,
    TRIALS_FILE,
    Objective,
    RunStore,
    frontier_schema,
    load_frontier,
    load_progress,
    load_trials,
    progress_schema,
    read_objectives,
    trials_schema,
)
from tests.unit.frontier._brute import dominates, to_min
from tests.unit.results._rows import METRICS, OBJECTIVES, TASKS, new_run, row

DIRS = [o.direction for o in OBJECTIVES]


def test_round_trip_and_metadata(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run", reference_point=[2.0, 0.0])
    extra = {"hparams": {"lr": 0.1}, "history": [{"epoch": 1}]}
    assert store.ingest([row("a", 0.5, 0.9, weights=[0.5, 0.5]), row("b", 0.2, 0.5, weights=[0.5, 0.5], seed=1, **extra)]) == 2
    summary = store.write()
    assert summary["trials_done"] == 2 and summary["frontier_size"] == 2

    for name, schema in (
        (TRIALS_FILE, trials_schema(METRICS)),
        (FRONTIER_FILE, frontier_schema(METRICS, [o.column for o in OBJECTIVES])),
        (PROGRESS_FILE, progress_schema()),
    ):
        written = pq.read_schema(tmp_path / "run" / name)
        assert written.remove_metadata().equals(schema), name
        meta = written.metadata
        assert read_objectives(tmp_path / "run" / name) == OBJECTIVES
        assert meta[b"paretosweep.schema_version"].decode() == SCHEMA_VERSION
        assert json.loads(meta[b"paretosweep.tasks"]) == list(TASKS)
        assert json.loads(meta[b"paretosweep.reference_point"]) == [2.0, 0.0]
        assert json.loads(meta[b"paretosweep.spec"]) == {"name": "toy", "seeds": [0, 1]}

    trials = store.read_trials()
    assert trials["trial_id"].tolist() == ["a", "b"]
    assert trials["weights"].map(list).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    assert json.loads(trials["hparams"][1]) == {"lr": 0.1}
    assert json.loads(trials["history"][1]) == [{"epoch": 1}]
    assert trials["started_at"][0] == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")
    assert trials.attrs["objectives"] == OBJECTIVES
    pd.testing.assert_frame_equal(load_trials(tmp_path / "run"), trials)
    pd.testing.assert_frame_equal(load_frontier(tmp_path / "run"), store.read_frontier())
    pd.testing.assert_frame_equal(load_progress(str(tmp_path / "run")), store.read_progress())
    assert read_objectives(tmp_path / "run") == OBJECTIVES

    reopened = RunStore(tmp_path / "run")
    assert reopened.exists() and len(reopened) == 2
    assert reopened.objectives == OBJECTIVES and reopened.metric_columns == METRICS
    assert reopened.tasks == TASKS and reopened.reference_point == (2.0, 0.0)
    assert reopened.spec == {"name": "toy", "seeds": [0, 1]}
    assert reopened.trial_ids() == {"a", "b"}


def test_timestamps_accept_datetime_and_epoch(tmp_path: Path) -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    store = new_run(tmp_path)
    store.ingest(
        [
            row("a", 1.0, 0.5, started_at=when, finished_at=when.timestamp()),
            row("b", 1.0, 0.5, started_at=None, finished_at=np.datetime64("2024-05-01T12:00:00")),
        ]
    )
    store.write()
    trials = store.read_trials()
    assert trials["started_at"][0] == trials["finished_at"][0] == pd.Timestamp(when)
    assert pd.isna(trials["started_at"][1]) and trials["finished_at"][1] == pd.Timestamp(when)


def test_ingest_is_idempotent_and_first_write_wins(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    rows = [row("a", 1.0, 0.5), row("b", 0.5, 0.2), row("a", 9.0, 0.0)]  # repeated id: first wins
    assert store.ingest(rows) == 2
    store.write()
    first = store.read_trials()
    assert store.ingest(rows) == 0
    assert store.ingest([row("b", 7.0, 7.0)]) == 0
    store.write()
    pd.testing.assert_frame_equal(store.read_trials(), first)
    assert first.set_index("trial_id").loc["a", "left_loss"] == 1.0
    assert len(store.read_progress()) == 1  # nothing new: no extra progress row


def test_reopen_and_ingest_more_keeps_earlier_rows(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.ingest([row("a", 1.0, 0.5), row("b", 0.5, 0.2)])
    store.write()
    resumed = RunStore(tmp_path).open()
    assert resumed.ingest([row("a", 1.0, 0.5), row("c", 0.1, 0.1)]) == 1
    resumed.write()
    again = RunStore(tmp_path)
    assert again.read_trials()["trial_id"].tolist() == ["a", "b", "c"]
    assert again.read_progress()["trials_done"].tolist() == [2, 3]


def test_missing_optional_keys_are_null(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.ingest([{"trial_id": "m", "status": "failed", "kind": "method", "error": "boom"}])
    store.write()
    trials = store.read_trials()
    assert trials["weights"][0] is None and pd.isna(trials["left_loss"][0]) and pd.isna(trials["seed"][0])
    assert trials["error"][0] == "boom"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"left_los": 1.0}, "Unknown column `left_los`.*Did you mean `left_loss`"),
        ({"status": "error"}, "`status` of trial `x` should be one of completed, failed, diverged"),
        ({"kind": "sweep"}, "`kind` of trial `x`"),
        ({"trial_id": ""}, "trial_id"),
        ({"left_loss": "high"}, "Column `left_loss`.*trial `x`"),
        ({"seed": "zero"}, "Column `seed`"),
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
def test_bad_rows_raise_and_add_nothing(tmp_path: Path, bad: dict[str, object], match: str) -> None:
    store = new_run(tmp_path)
    with pytest.raises(ResultSchemaError, match=match):
        store.ingest([row("ok", 1.0, 0.5), {**row("x", 1.0, 0.5), **bad}])
    assert len(store) == 0


def test_create_refuses_existing_run_unless_overwrite(tmp_path: Path) -> None:
    store = new_run(tmp_path)
    store.ingest([row("a", 1.0, 0.5)])
    store.write()
    with pytest.raises(RunDirectoryError, match="already holds a paretosweep run"):
        new_run(tmp_path)
    fresh = RunStore(tmp_path).create(objectives=OBJECTIVES, tasks=TASKS, metric_columns=METRICS, overwrite=True)
    assert len(fresh) == 0 and len(load_trials(tmp_path)) == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric_columns": ["left_loss"]}, "right_acc"),
        ({"metric_columns": [*METRICS, "seed"]}, "metric_columns"),
        ({"reference_point": [1.0]}, "reference_point"),
        ({"objectives": (Objective("left", "left_loss", "down"),)}, "direction"),
        ({"objectives": ()}, "at least one objective"),
    ],
)
def test_create_validates(tmp_path: Path, kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"objectives": OBJECTIVES, "tasks": TASKS, "metric_columns": METRICS}
    with pytest.raises(ConfigError, match=match):
        RunStore(tmp_path).create(**{**args, **kwargs})  # type: ignore[arg-type]


def test_frontier_is_exactly_the_non_dominated_completed_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    statuses = ["completed"] * 6 + ["failed", "diverged"]
    rows = []
    for i in range(60):
        loss, acc = rng.integers(0, 8, size=2).astype(float)  # ties and duplicates on purpose
        status = statuses[rng.integers(len(statuses))]
        if rng.random() < 0.1:
            loss = np.nan
        rows.append(row(f"t{i:02d}", loss, acc, status=status))
    # a failed trial and a NaN trial that would dominate everything if they counted
    rows += [row("failed-best", -1.0, 99.0, status="failed", error="boom"), row("nan-best", np.nan, 99.0)]
    store = new_run(tmp_path)
    store.ingest(rows)
    store.write()

    pts = to_min(np.array([[r["left_loss"], r["right_acc"]] for r in rows], dtype=float), DIRS)
    usable = [i for i, r in enumerate(rows) if r["status"] == "completed" and not np.isnan(pts[i]).any()]
    expected = {rows[i]["trial_id"] for i in usable if not any(dominates(pts[j], pts[i]) for j in usable)}

    front = store.read_frontier()
    assert set(front["trial_id"]) == expected
    assert len(front) == len(expected)  # duplicates of front points are all kept
    assert {"failed-best", "nan-best"} <= set(store.read_trials()["trial_id"])
    assert (front["status"] == "completed").all() and front["left_loss"].notna().all()
    assert (front["hv_contribution"] >= 0).all()
    progress = store.read_progress().iloc[-1]
    assert progress["frontier_size"] == len(expected)
    assert progress["trials_done"] == len(rows)
    assert progress["trials_completed"] == sum(r["status"] == "completed" for r in rows)
    assert progress["trials_failed"] == len(rows) - progress["trials_completed"]
    assert progress["compute_seconds"] == pytest.approx(1.5 * len(rows))


def test_progress_uses_fixed_reference_point(tmp_path: Path) -> None:
    store = new_run(tmp_path, reference_point=[3.0, 0.0])
    store.ingest([row("a", 1.0, 0.5), row("b", 2.0, 0.8)])
    summary = store.write(elapsed_seconds=12.0)
    points = [[1.0, 0.5], [2.0, 0.8]]
    expected = hypervolume(points, reference_point=[3.0, 0.0], directions=DIRS)
    assert summary["hypervolume"] == pytest.approx(expected)
    progress = store.read_progress()
    assert progress["hypervolume"].tolist() == pytest.approx([summary["hypervolume"]])
    assert progress["elapsed_seconds"].tolist() == [12.0]
    front = store.read_frontier().set_index("trial_id")
    # a: box [1,3]x[0,0.5] minus overlap with b's [2,3]x[0,0.8]  -> 2*0.5 - 0.5 = 0.5
    assert front.loc["a", "hv_contribution"] == pytest.approx(0.5)
    assert front.loc["b", "hv_contribution"] == pytest.approx(0.3)


def test_the_first_completed_batch_fixes_the_reference_point_and_it_never_moves(tmp_path: Path) -> None:
    """No reference point given: the first write with completed trials fixes it (their nadir +
    10 % of the range); later, worse points are counted as clipped, and a resumed run keeps it."""
    store = new_run(tmp_path)
    store.ingest([row("f", 0.0, 1.0, status="failed")])
    store.write()
    assert store.reference_point is None and store.read_progress()["hypervolume"].tolist() == [0.0]
    store.ingest([row("a", 1.0, 0.5), row("b", 2.0, 0.3)])
    store.write()
    fixed = store.reference_point
    assert fixed == pytest.approx((2.1, 0.28))  # nadir (2, 0.3) + 10 % of the ranges (1, 0.2); right_acc is max
    assert "first completed batch" in store.reference_rule
    store.ingest([row("c", 4.0, 0.1), row("d", 3.0, 0.9)])  # both beyond it in at least one objective
    summary = store.write()
    assert store.reference_point == fixed and summary["clipped"] == 2
    progress = RunStore(tmp_path).read_progress()
    assert progress["hypervolume"].tolist() == pytest.approx(
        [
            0.0,
            hypervolume([[1.0, 0.5], [2.0, 0.3]], reference_point=fixed, directions=DIRS),
            hypervolume([[1.0, 0.5], [2.0, 0.3]], reference_point=fixed, directions=DIRS),
        ]
    )
    assert progress["hypervolume"].is_monotonic_increasing
    assert progress["clipped"].tolist() == [0, 0, 2]
    for name in (TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE):
        meta = pq.read_schema(tmp_path / name).metadata
        assert json.loads(meta[b"paretosweep.reference_point"]) == pytest.approx(list(fixed))
        assert "first completed batch" in json.loads(meta[b"paretosweep.reference_rule"])
    resumed = RunStore(tmp_path)
    assert resumed.reference_point == pytest.approx(fixed)
    resumed.ingest([row("e", 9.0, 0.0)])
    resumed.write()
    assert resumed.reference_point == pytest.approx(fixed)
    with pytest.raises(ConfigError, match="already fixed"):
        store.fix_reference_point([9.0, 9.0])


def test_a_given_reference_point_is_kept_with_its_rule(tmp_path: Path) -> None:
    store = new_run(tmp_path, reference_point=[3.0, 1.0])
    store.ingest([row("a", 1.0, 0.5)])
    store.write()
    assert store.reference_point == (3.0, 1.0)
    assert store.fix_reference_point() == (3.0, 1.0)


def test_pyarrow_filesystem_round_trip() -> None:
    fs = pafs._MockFileSystem()  # in memory: exercises the fs.move branch
    store = new_run("runs/toy", filesystem=fs)
    store.ingest([row("a", 1.0, 0.5)])
    store.write()
    assert sorted(i.base_name for i in fs.get_file_info(pafs.FileSelector("runs/toy"))) == sorted(
        [TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE]
    )
    assert RunStore("runs/toy", filesystem=fs).read_trials()["trial_id"].tolist() == ["a"]
    assert load_frontier("runs/toy", filesystem=fs)["trial_id"].tolist() == ["a"]


def test_file_uri(tmp_path: Path) -> None:
    uri = (tmp_path / "run").as_uri()
    store = new_run(uri)
    store.ingest([row("a", 1.0, 0.5)])
    store.write()
    assert load_trials(uri)["trial_id"].tolist() == ["a"]
    assert load_trials(tmp_path / "run")["trial_id"].tolist() == ["a"]
