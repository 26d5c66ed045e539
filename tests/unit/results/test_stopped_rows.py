"""Trials stopped early by the scheduler in the store: kept, on the frontier when non-dominated (marked),
left out by ``completed_only``, counted in progress and compute, never averaged with completed seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paretosweep
from paretosweep.frontier import configuration_front, crowding_distances, pareto_ranks, usable_rows
from tests.unit.results._rows import OBJECTIVES, new_run, row


def test_a_stopped_trial_is_stored_and_stays_on_the_frontier_when_nothing_dominates_it(tmp_path: Path) -> None:
    store = new_run(tmp_path, reference_point=[3.0, 0.0])
    store.ingest(
        [
            row("done-a", 1.0, 0.5),
            row("done-b", 2.0, 0.9),
            row("stopped-front", 0.5, 0.3, status="stopped", epochs_done=1, train_seconds=0.5),
            row("stopped-behind", 2.5, 0.4, status="stopped", epochs_done=2, train_seconds=0.5),
            row("broken", None, None, status="failed"),
        ]
    )
    store.write()
    front = store.read_frontier().set_index("trial_id")
    assert set(front.index) == {"done-a", "done-b", "stopped-front"}
    assert front.loc["stopped-front", "status"] == "stopped" and front.loc["stopped-front", "epochs_done"] == 1
    progress = store.read_progress().iloc[-1]
    assert (progress["trials_completed"], progress["trials_stopped"], progress["trials_failed"]) == (2, 2, 1)
    assert progress["compute_seconds"] == pytest.approx(1.5 * 3 + 0.5 * 2)  # stopped trials' compute counts

    only = paretosweep.load_frontier(tmp_path, completed_only=True)
    assert set(only["trial_id"]) == {"done-a", "done-b"} and set(only["status"]) == {"completed"}
    assert only.attrs["objectives"] == OBJECTIVES and (only["hv_contribution"] > 0).all()
    assert list(only.columns) == list(paretosweep.load_frontier(tmp_path).columns)
    assert set(paretosweep.load_frontier(tmp_path / "trials.parquet", completed_only=True)["trial_id"]) == {"done-a", "done-b"}


def test_a_configuration_is_the_mean_of_its_completed_seeds_its_stopped_ones_only_when_none_completed() -> None:
    w, v = [0.3, 0.7], [0.6, 0.4]
    frame = pd.DataFrame(
        [
            row("w-seed0", 1.0, 0.5, weights=w, seed=0),
            row("w-seed1", 3.0, 0.1, weights=w, seed=1, status="stopped"),  # not mixed into w's mean
            row("v-seed0", 2.0, 0.2, weights=v, seed=0, status="stopped"),
            row("v-seed1", 2.2, 0.3, weights=v, seed=1, status="stopped"),
        ]
    )
    finite = np.ones(len(frame), dtype=bool)
    assert usable_rows(frame, finite).tolist() == [True, False, True, True]
    assert usable_rows(frame, finite, statuses=("completed",)).tolist() == [True, False, False, False]
    front = configuration_front(frame, OBJECTIVES)
    means = {tuple(r.weights): (r.left_loss, r.n_seeds) for r in front.itertuples()}
    assert means[tuple(w)] == (1.0, 1)
    everything = configuration_front(frame, OBJECTIVES, statuses=("completed", "stopped"))
    assert len(everything) == len(front)
    assert list(configuration_front(frame, OBJECTIVES, statuses=("completed",))["trial_id"]) == ["w-seed0"]


def test_pareto_ranks_and_crowding_follow_nsga2() -> None:
    points = [[1.0, 0.9], [2.0, 0.95], [2.0, 0.8], [3.0, 0.7], [np.nan, 1.0]]
    assert pareto_ranks(points, directions=["min", "max"]).tolist() == [0, 0, 1, 2, 5]
    assert pareto_ranks([[1.0, 1.0], [1.0, 1.0]], directions=["min", "min"]).tolist() == [0, 0]  # duplicates share a rank
    crowd = crowding_distances([[0.0, 4.0], [1.0, 2.0], [2.0, 1.0], [4.0, 0.0]])
    assert np.isinf(crowd[[0, 3]]).all() and crowd[1:3] == pytest.approx([2 / 4 + 3 / 4, 3 / 4 + 2 / 4])
    assert np.isinf(crowding_distances([[0.0, 1.0], [1.0, 0.0]])).all()
    assert crowding_distances([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])[1] == pytest.approx(1.0)  # no range on one objective: adds 0
