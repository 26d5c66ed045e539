"""``paretosweep.splits``: every file says which split chose the frontier and which columns hold test values."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from paretosweep.errors import ConfigError
from paretosweep.results import FRONTIER_FILE, META_SPLITS, PROGRESS_FILE, TRIALS_FILE, Objective, RunSplits, RunStore, as_test_column
from tests.unit.results._rows import row

OBJECTIVES = (Objective("left", "left_loss", "min"), Objective("right", "right_loss", "min"))
VALIDATION = ("left_loss", "right_loss")
TWO = RunSplits("validation", "test", {c: as_test_column(c) for c in VALIDATION}, "validation chooses")


def _store(path: Path, splits: RunSplits | None) -> RunStore:
    tests = tuple(splits.test_columns.values()) if splits is not None else ()
    return RunStore(path).create(
        objectives=OBJECTIVES, tasks=("left", "right"), metric_columns=(*VALIDATION, *tests), spec={}, splits=splits
    )


def test_every_file_carries_the_splits_and_a_reopened_store_reads_them(tmp_path: Path) -> None:
    store = _store(tmp_path, TWO)
    trial = {k: v for k, v in row("a", 0.2, None).items() if k != "right_acc"}
    store.ingest([{**trial, "right_loss": 0.5, "test_left_loss": 0.3, "test_right_loss": 0.6}])
    store.write()
    for name in (TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE):
        metadata = pq.read_schema(tmp_path / name).metadata
        assert RunSplits.from_json(metadata[META_SPLITS]) == TWO, name
    assert RunStore(tmp_path).splits == TWO
    front = RunStore(tmp_path).read_frontier()
    assert front.loc[0, "test_left_loss"] == 0.3 and front.loc[0, "left_loss"] == 0.2


def test_a_one_split_run_says_so_and_an_unrecorded_one_reads_none(tmp_path: Path) -> None:
    one = RunSplits("function", None, {}, "no held-out data: the objective is the function itself")
    _store(tmp_path / "one", one)
    assert RunStore(tmp_path / "one").splits == one
    assert one.summary() == "one split (function): no held-out data: the objective is the function itself"
    _store(tmp_path / "unknown", None)
    assert pq.read_schema(tmp_path / "unknown" / TRIALS_FILE).metadata[META_SPLITS] == b"null"
    assert RunStore(tmp_path / "unknown").splits is None


@pytest.mark.parametrize(
    "tests",
    [
        {"left_loss": "test_left_loss"},  # the test column is not a metric column
        {"left_loss": "right_loss"},  # an objective cannot hold test values
        {"nope": "test_left_loss"},  # a test value of a column the run does not have
    ],
)
def test_test_columns_must_be_other_non_objective_metric_columns(tmp_path: Path, tests: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="splits.test_columns"):
        RunStore(tmp_path).create(
            objectives=OBJECTIVES,
            tasks=("left", "right"),
            metric_columns=(*VALIDATION, "left_acc"),
            splits=RunSplits("validation", "test", tests),
        )


def test_json_round_trip_and_unreadable_values() -> None:
    assert RunSplits.from_json(TWO.to_json()) == TWO
    assert RunSplits.from_json("null") is None
    with pytest.raises(TypeError):
        RunSplits.from_json('{"test_columns": [1, 2]}')
    with pytest.raises(ValueError):
        RunSplits.from_json("{not json")
