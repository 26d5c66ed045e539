"""progress.parquet indicators: igd_plus / hv_ratio from a stored exact front, labelled hypervolume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from paretosweep.errors import ConfigError
from paretosweep.frontier import hypervolume, igd_plus
from paretosweep.results import FRONTIER_FILE, PROGRESS_FILE, Objective, RunStore, load_progress
from paretosweep.results._schema import EXACT_FRONT_FILE, PROGRESS_BASE_FIELDS
from tests.unit.results._rows import OBJECTIVES, new_run, row

DIRS = [o.direction for o in OBJECTIVES]
# Exact front of the toy objectives (left_loss min, right_acc max): right_acc = 1 - left_loss^2.
LOSS = np.linspace(0.0, 1.0, 201)
FRONT = np.column_stack([LOSS, 1.0 - LOSS**2])


def attach(store: RunStore, front: np.ndarray = FRONT) -> None:
    """Pass the front the way a problem's ``ExactFront`` lists it: columns in its own order."""
    store.set_exact_front(front[:, ::-1], columns=["right_acc", "left_loss"], directions=["max", "min"])


def test_progress_rows_get_igd_plus_and_hv_ratio_from_the_exact_front(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run", reference_point=[1.5, -0.5])
    attach(store)
    np.testing.assert_array_equal(store.exact_front, FRONT)
    assert store.ingest([row("a", 0.5, 0.6), row("b", 0.9, 0.1)]) == 2
    first = store.write()
    store.ingest([row("c", 0.2, 0.9), row("d", 0.7, 0.5), row("x", None, None, status="failed")])
    store.write()
    progress = store.read_progress()
    assert progress["trials_done"].tolist() == [2, 5]
    for k, done in ((0, [[0.5, 0.6], [0.9, 0.1]]), (1, [[0.5, 0.6], [0.9, 0.1], [0.2, 0.9], [0.7, 0.5]])):
        hv = hypervolume(done, reference_point=[1.5, -0.5], directions=DIRS)
        exact_hv = hypervolume(FRONT, reference_point=[1.5, -0.5], directions=DIRS)
        assert progress["hypervolume"][k] == pytest.approx(hv)
        assert progress["hv_ratio"][k] == pytest.approx(hv / exact_hv)
        assert progress["igd_plus"][k] == pytest.approx(igd_plus(done, FRONT, DIRS))
        assert progress["hypervolume_method"][k] == "exact" and progress["hypervolume_stderr"][k] == 0.0
    assert 0 < progress["hv_ratio"][0] < progress["hv_ratio"][1] < 1
    assert progress["igd_plus"][1] < progress["igd_plus"][0]
    assert first["hv_ratio"] == progress["hv_ratio"][0]
    assert pq.read_schema(tmp_path / "run" / EXACT_FRONT_FILE).metadata[b"paretosweep.objectives"]


def test_without_an_exact_front_the_indicators_are_null(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run")
    store.ingest([row("a", 0.5, 0.6)])
    store.write()
    progress = load_progress(tmp_path / "run")
    assert progress["igd_plus"].isna().all() and progress["hv_ratio"].isna().all()
    assert progress["hypervolume_method"].tolist() == ["exact"]
    assert not (tmp_path / "run" / EXACT_FRONT_FILE).exists()


def test_a_resumed_run_keeps_its_progress_rows_and_indicators(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run")  # no reference point given: the first completed batch fixes it
    attach(store)
    for batch in (["a", "b"], ["c"], ["d"]):
        values = {"a": (0.5, 0.6), "b": (0.9, 0.1), "c": (0.2, 0.9), "d": (0.05, 0.95)}
        store.ingest([row(t, *values[t]) for t in batch])
        store.write()
    before = store.read_progress()

    resumed = RunStore(tmp_path / "run")  # what the driver's --resume opens
    np.testing.assert_array_equal(resumed.exact_front, FRONT)
    assert resumed.read_progress().equals(before)
    attach(resumed)  # the driver attaches the same front again: nothing changes
    assert resumed.read_progress().equals(before)
    resumed.ingest([row("e", 0.4, 0.8)])
    resumed.write()
    after = resumed.read_progress()
    assert after["trials_done"].tolist() == [2, 3, 4, 5]
    assert after.iloc[:3].drop(columns="time").equals(before.drop(columns="time"))
    assert after["igd_plus"].notna().all() and after["hv_ratio"].notna().all()

    recomputed = resumed.recompute_progress()  # one reference point for every row
    ref = resumed.reference_point
    assert ref == pytest.approx((0.94, 0.05))  # fixed by the first batch (a, b): nadir + 10 % of the range (right_acc is max)
    exact_hv = hypervolume(FRONT, reference_point=ref, directions=DIRS)
    done = [[0.5, 0.6], [0.9, 0.1], [0.2, 0.9], [0.05, 0.95], [0.4, 0.8]]
    for k, n in enumerate([2, 3, 4, 5]):
        assert recomputed["hv_ratio"][k] == pytest.approx(hypervolume(done[:n], reference_point=ref, directions=DIRS) / exact_hv)
        assert recomputed["igd_plus"][k] == pytest.approx(igd_plus(done[:n], FRONT, DIRS))
    assert RunStore(tmp_path / "run").read_progress().equals(recomputed)


def test_attaching_a_front_to_a_run_with_progress_fills_the_old_rows(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run", reference_point=[1.5, -0.5])
    store.ingest([row("a", 0.5, 0.6)])
    store.write()
    assert store.read_progress()["hv_ratio"].isna().all()
    attach(store)
    assert store.read_progress()["hv_ratio"].notna().all()


def test_progress_written_before_the_indicator_columns_still_loads(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run", reference_point=[1.5, -0.5])
    store.ingest([row("a", 0.5, 0.6)])
    store.write()
    path = tmp_path / "run" / PROGRESS_FILE
    old = pq.read_table(path)
    pq.write_table(old.select([f.name for f in PROGRESS_BASE_FIELDS]), path)
    resumed = RunStore(tmp_path / "run")
    resumed.ingest([row("b", 0.2, 0.9)])
    resumed.write()
    progress = resumed.read_progress()
    assert progress["hypervolume_method"].isna().tolist() == [True, False]  # unknown, not guessed
    assert progress["hypervolume_method"][1] == "exact"
    assert progress["hypervolume"][0] == old.column("hypervolume")[0].as_py()


def test_an_exact_front_of_other_columns_or_non_finite_points_is_refused(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run")
    with pytest.raises(ConfigError, match="objective columns"):
        store.set_exact_front(FRONT, columns=["left_loss", "left_acc"], directions=["min", "max"])
    with pytest.raises(ConfigError, match="objective columns"):
        store.set_exact_front(FRONT, columns=["left_loss", "right_acc"], directions=["min", "min"])
    with pytest.raises(ConfigError, match="finite"):
        store.set_exact_front([[0.0, np.nan]], columns=["left_loss", "right_acc"], directions=["min", "max"])
    assert store.exact_front is None and not (tmp_path / "run" / EXACT_FRONT_FILE).exists()


def test_a_replaced_run_drops_the_old_exact_front(tmp_path: Path) -> None:
    attach(new_run(tmp_path / "run"))
    again = RunStore(tmp_path / "run").create(
        objectives=OBJECTIVES, tasks=("left", "right"), metric_columns=("left_loss", "right_acc", "left_acc"), overwrite=True
    )
    assert again.exact_front is None and RunStore(tmp_path / "run").exact_front is None


def test_many_objectives_get_a_labelled_estimate_in_progress_and_frontier(tmp_path: Path) -> None:
    m = 8
    objectives = tuple(Objective(f"t{i}", f"t{i}_loss", "min") for i in range(m))
    store = RunStore(tmp_path / "run").create(
        objectives=objectives,
        tasks=[o.name for o in objectives],
        metric_columns=[o.column for o in objectives],
        reference_point=[1.1] * m,
    )
    x = np.abs(np.random.default_rng(0).standard_normal((100, m)))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    store.ingest(
        [
            {"trial_id": f"p{i}", "status": "completed", "kind": "scalarization", **{f"t{j}_loss": float(v) for j, v in enumerate(p)}}
            for i, p in enumerate(x)
        ]
    )
    summary = store.write()
    assert summary["hypervolume_method"] == "monte_carlo" and summary["hypervolume_stderr"] > 0
    progress = store.read_progress()
    assert progress["hypervolume_method"].tolist() == ["monte_carlo"]
    assert progress["hypervolume"][0] == summary["hypervolume"]  # seeded: the same value every write
    label = json.loads(pq.read_schema(tmp_path / "run" / FRONTIER_FILE).metadata[b"paretosweep.hv_contribution"])
    assert label["method"] == "monte_carlo" and len(label["stderr"]) == 100
    assert (store.read_frontier()["hv_contribution"] >= 0).all()
    store.recompute_progress()
    assert store.read_progress()["hypervolume"][0] == summary["hypervolume"]


def test_a_known_continuous_front_hypervolume_is_the_ratios_denominator_and_survives_a_resume(tmp_path: Path) -> None:
    continuous = 0.9  # in objective units at the reference point below; the points' HV is less
    store = new_run(tmp_path / "run", reference_point=[1.5, -0.5])
    store.set_exact_front(
        FRONT[:, ::-1],
        columns=["right_acc", "left_loss"],
        directions=["max", "min"],
        hypervolume=continuous,
        reference_point=[-0.5, 1.5],  # in the front's column order
    )
    store.ingest([row("a", 0.5, 0.6)])
    store.write()
    hv = hypervolume([[0.5, 0.6]], reference_point=[1.5, -0.5], directions=DIRS)
    assert store.read_progress()["hv_ratio"][0] == pytest.approx(hv / continuous)
    assert hypervolume(FRONT, reference_point=[1.5, -0.5], directions=DIRS) != pytest.approx(continuous)

    resumed = RunStore(tmp_path / "run")
    resumed.ingest([row("b", 0.9, 0.1)])
    resumed.write()
    both = hypervolume([[0.5, 0.6], [0.9, 0.1]], reference_point=[1.5, -0.5], directions=DIRS)
    assert resumed.read_progress()["hv_ratio"].tolist() == pytest.approx([hv / continuous, both / continuous])


def test_a_known_hypervolume_needs_its_reference_point(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run", reference_point=[1.5, -0.5])
    with pytest.raises(ConfigError, match="reference_point"):
        store.set_exact_front(FRONT, columns=["left_loss", "right_acc"], directions=["min", "max"], hypervolume=0.9)
