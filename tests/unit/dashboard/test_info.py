"""records -> infos: which trial lands in which group, the front line, brushing, the trial panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paretosweep.dashboard import _info as I
from paretosweep.dashboard._trial import trial_info
from paretosweep.frontier import non_dominated_mask
from tests.unit.dashboard._frames import FRONTIER_IDS, OBJECTIVES, TASKS, trials


@pytest.fixture()
def points() -> I.PointsInfo:
    return I.points_info(trials(), FRONTIER_IDS, OBJECTIVES, TASKS)


def _group(points: I.PointsInfo, label: str) -> I.PointGroup:
    return next(g for g in points.groups if g.label == label)


def test_the_fixture_frontier_is_the_non_dominated_set() -> None:
    done = trials()[trials()["status"] == "completed"]
    mask = non_dominated_mask(done[["a_loss", "b_acc"]].to_numpy(), directions=["min", "max"])
    assert set(done["trial_id"][mask]) == FRONTIER_IDS


def test_groups_split_completed_trials_and_skip_failed_ones(points: I.PointsInfo) -> None:
    assert [g.label for g in points.groups] == ["Trials", "Frontier", "pcgrad"]
    assert list(_group(points, "Trials").trial_ids) == ["t4"]
    assert set(_group(points, "Frontier").trial_ids) == FRONTIER_IDS
    assert list(_group(points, "pcgrad").trial_ids) == ["m1"]
    plotted = {t for g in points.groups for t in g.trial_ids}
    assert "f1" not in plotted and plotted == {"t1", "t2", "t3", "t4", "m1"}


def test_group_arrays_line_up_with_the_rows(points: I.PointsInfo) -> None:
    front = _group(points, "Frontier")
    t2 = list(front.trial_ids).index("t2")
    assert front.values[t2].tolist() == [0.2, 0.7]
    assert front.weights[t2].tolist() == [0.5, 0.5]
    method = _group(points, "pcgrad")
    assert method.weights[0].tolist() == [0.4, 0.6]  # a method's mean effective weights
    assert method.on_frontier.tolist() == [True]


def test_front_line_is_the_2d_front_sorted_by_x(points: I.PointsInfo) -> None:
    info = I.scatter_info(points, "a_loss", "b_acc")
    assert info.front_x.tolist() == [0.1, 0.2, 0.25, 0.4]
    assert info.front_y.tolist() == [0.5, 0.7, 0.8, 0.9]


def test_front_line_of_a_projection_drops_points_dominated_in_2d(points: I.PointsInfo) -> None:
    # Plotting b_acc against itself: only the best b_acc remains non-dominated.
    info = I.scatter_info(points, "b_acc", "b_acc")
    assert info.front_x.tolist() == [0.9]


def test_unknown_objective_column_is_a_clear_error(points: I.PointsInfo) -> None:
    with pytest.raises(KeyError, match="`c_loss` is not an objective"):
        I.scatter_info(points, "c_loss", "a_loss")


def test_table_has_each_trial_once_with_its_role(points: I.PointsInfo) -> None:
    table = I.table_info(points)
    assert sorted(table.trial_ids) == ["m1", "t1", "t2", "t3", "t4"]
    roles = dict(zip(table.trial_ids, table.role.tolist()))
    assert roles == {"t4": 0, "t1": 1, "t2": 1, "t3": 1, "m1": 2}
    assert I.parcoords_columns(table) == ["w[a]", "w[b]", "a_loss", "b_acc"]


def test_ids_in_ranges_intersects_axes_and_unions_intervals(points: I.PointsInfo) -> None:
    table = I.table_info(points)
    assert sorted(I.ids_in_ranges(table, {2: [[0.0, 0.2]]})) == ["t1", "t2"]
    assert sorted(I.ids_in_ranges(table, {2: [[0.0, 0.2]], 0: [[0.6, 1.0]]})) == ["t1"]
    assert sorted(I.ids_in_ranges(table, {3: [[0.5, 0.5], [0.85, 1.0]]})) == ["t1", "t3"]
    assert sorted(I.ids_in_ranges(table, {})) == ["m1", "t1", "t2", "t3", "t4"]


def test_selected_positions() -> None:
    ids = np.array(["x", "y", "z"], dtype=object)
    assert I.selected_positions(ids, None) is None
    assert I.selected_positions(ids, []) == []
    assert I.selected_positions(ids, ["z", "x", "nope"]) == [0, 2]


def test_summary_and_progress() -> None:
    summary = I.summary_info("run", trials(), pd.DataFrame({"trial_id": sorted(FRONTIER_IDS)}))
    assert summary.n_trials == 6 and summary.n_frontier == 4 and summary.n_methods == 1
    assert dict(summary.by_status) == {"completed": 5, "failed": 1}
    progress = pd.DataFrame({"trials_done": [2, 1], "compute_seconds": [4.0, 2.0], "hypervolume": [0.5, 0.2], "frontier_size": [2, 1]})
    info = I.progress_info(progress)
    assert info.trials_done.tolist() == [1, 2] and info.hypervolume.tolist() == [0.2, 0.5]


def test_builders_do_not_mutate_their_input() -> None:
    frame = trials()
    before = frame.copy(deep=True)
    points = I.points_info(frame, FRONTIER_IDS, OBJECTIVES, TASKS)
    I.table_info(points)
    trial_info(frame, "t1", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=["a_loss"])
    pd.testing.assert_frame_equal(frame, before)


def test_a_run_without_completed_trials_gives_empty_groups() -> None:
    frame = trials()
    frame = frame[frame["status"] == "failed"]
    points = I.points_info(frame, frozenset(), OBJECTIVES, TASKS)
    assert all(len(g.trial_ids) == 0 for g in points.groups)
    assert len(I.scatter_info(points, "a_loss", "b_acc").front_x) == 0
    assert len(I.table_info(points).trial_ids) == 0


def test_thin_table_keeps_frontier_and_methods_then_spreads_the_rest() -> None:
    n = 1000
    role = np.zeros(n, dtype=np.int8)
    role[[5, 500, 999]] = [1, 2, 1]
    ids = np.array([f"t{i}" for i in range(n)], dtype=object)
    table = I.TableInfo(OBJECTIVES, TASKS, ids, np.random.default_rng(0).random((n, 2)), np.full((n, 2), 0.5), role)
    assert I.thin_table(table, n) is table
    thin = I.thin_table(table, 100)
    assert len(thin.trial_ids) == 100 and {"t5", "t500", "t999"} <= set(thin.trial_ids)
    order = [int(t[1:]) for t in thin.trial_ids]
    assert order == sorted(order) and len(set(order)) == 100
    assert len(I.thin_table(table, 2).trial_ids) == 2  # more special rows than room: thinned too


def test_two_configurations_of_one_method_are_two_groups() -> None:
    from tests.unit.dashboard._frames import trial

    base = trials()
    extra = pd.DataFrame([trial("m2", 0.35, 0.6, weights=[0.3, 0.7], kind="method", method="pcgrad")])
    extra["hparams"] = '{"alpha": 0.5}'
    points = I.points_info(pd.concat([base, extra], ignore_index=True), FRONTIER_IDS, OBJECTIVES, TASKS)
    assert [g.label for g in points.groups] == ["Trials", "Frontier", "pcgrad alpha=0.5", "pcgrad alpha=1.5"]
    assert list(_group(points, "pcgrad alpha=0.5").trial_ids) == ["m2"]
