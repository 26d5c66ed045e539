"""The compute curve: HV of the frontier against the epochs trained, in finishing order, stopped trials marked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from paretosweep.dashboard import _curves as C
from paretosweep.dashboard import _info as I
from paretosweep.frontier import hypervolume
from paretosweep.results._progress import compute_curve, shared_warm_epochs
from tests.unit.dashboard._frames import OBJECTIVES, trial

REFERENCE = (1.0, 0.0)  # a_loss (min), b_acc (max)
METRICS = ("a_loss", "b_acc")


def rows() -> pd.DataFrame:
    """Four trials finishing in the order t2, t1 (stopped after 1 epoch), t4 (failed), t3; listed out of that order."""
    spec = [
        ("t1", 0.2, 0.5, "stopped", 1, 2),
        ("t2", 0.5, 0.6, "completed", 3, 1),
        ("t3", 0.1, 0.9, "completed", 3, 4),
        ("t4", 0.3, 0.3, "failed", 2, 3),
    ]
    out = []
    for tid, a, b, status, epochs, second in spec:
        row = trial(tid, a, b, weights=[0.5, 0.5], status="completed")
        row.update(status=status, epochs_done=epochs, finished_at=pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(seconds=second))
        row["weights"] = [second / 10, 1 - second / 10]  # distinct configurations
        if status == "failed":
            row.update(a_loss=np.nan, b_acc=np.nan)
        out.append(row)
    return pd.DataFrame(out)


def hv(points: list[tuple[float, float]]) -> float:
    return hypervolume(np.asarray(points), reference_point=REFERENCE, directions=("min", "max"))


def test_the_curve_follows_finishing_order_and_counts_every_epoch_trained() -> None:
    curve = compute_curve(rows(), OBJECTIVES, METRICS, REFERENCE)
    assert curve.trial_ids.tolist() == ["t2", "t1", "t4", "t3"]
    assert curve.status.tolist() == ["completed", "stopped", "failed", "completed"]
    np.testing.assert_array_equal(curve.epochs, [3, 4, 6, 9])  # the stopped trial's 1 epoch and the failed one's 2 count
    expected = [hv([(0.5, 0.6)]), hv([(0.5, 0.6), (0.2, 0.5)]), hv([(0.5, 0.6), (0.2, 0.5)]), hv([(0.1, 0.9)])]
    np.testing.assert_allclose(curve.hypervolume, expected)
    assert curve.hypervolume[1] > curve.hypervolume[0]  # a stopped trial's model is on the front
    assert compute_curve(rows(), OBJECTIVES, METRICS, None).hypervolume.tolist() == [0.0] * 4


def test_a_shared_warm_start_counts_once_and_long_runs_are_thinned() -> None:
    assert shared_warm_epochs({"warm_start": {"from": "shared", "epochs": 2}}) == 2
    assert shared_warm_epochs({"warm_start": {"from": "nearest", "epochs": 2}}) == 0 and shared_warm_epochs(None) == 0
    table = rows()
    table["epochs_done"] = table["epochs_done"] + 2  # each trial's epochs_done holds the 2 shared epochs
    curve = compute_curve(table, OBJECTIVES, METRICS, REFERENCE, shared_epochs=2)
    np.testing.assert_array_equal(curve.epochs, [5, 6, 8, 11])
    thin = compute_curve(table, OBJECTIVES, METRICS, REFERENCE, shared_epochs=2, max_points=2)
    assert thin.trial_ids.tolist() == ["t2", "t3"] and thin.epochs.tolist() == [5, 11]


def test_the_progress_figure_gets_a_compute_panel_with_stopped_trials_marked() -> None:
    progress = pd.DataFrame({"trials_done": [4], "compute_seconds": [4.0], "hypervolume": [0.5], "frontier_size": [2]})
    info = I.progress_info(progress)._replace(compute=compute_curve(rows(), OBJECTIVES, METRICS, REFERENCE, shared_epochs=0))
    fig = C.progress_figure(info)
    panel = [t for t in fig.data if t.xaxis == "x3"]
    line, done, stopped = panel
    assert line.line.shape == "hv" and list(line.x) == [0, 3, 4, 6, 9]
    assert list(stopped.x) == [4] and stopped.marker.symbol == C.STOPPED_SYMBOL and stopped.name == "stopped early"
    assert [row[0] for row in stopped.customdata] == ["t1"]
    assert list(done.x) == [3, 6, 9]
    assert fig.layout.xaxis3.title.text == "compute (epochs trained)"
    assert len(C.progress_figure(I.progress_info(progress)).data) == 2  # no trials: no compute panel


@pytest.mark.parametrize("shared", [0, 3])
def test_run_progress_info_reads_the_spec_and_the_trials(shared: int) -> None:
    class Run:
        trials = rows()
        progress = pd.DataFrame({"trials_done": [4], "compute_seconds": [4.0], "hypervolume": [0.5], "frontier_size": [2]})
        objectives, metric_columns, reference_point = OBJECTIVES, METRICS, REFERENCE
        spec = {"warm_start": {"from": "shared", "epochs": shared}} if shared else {}

    info = I.run_progress_info(Run())  # type: ignore[arg-type]
    assert info.compute is not None and info.compute.shared_epochs == shared
    assert json.dumps(info.compute.trial_ids.tolist()) == json.dumps(["t2", "t1", "t4", "t3"])
