"""infos -> figures: point counts, frontier trace membership, hover content, GL switch, selection."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from paretosweep.dashboard import _curves as C
from paretosweep.dashboard import _figures as F
from paretosweep.dashboard import _info as I
from paretosweep.dashboard._trial import trial_info
from paretosweep.results import Objective
from tests.unit.dashboard._frames import FRONTIER_IDS, OBJECTIVES, TASKS, trials


@pytest.fixture()
def points() -> I.PointsInfo:
    return I.points_info(trials(), FRONTIER_IDS, OBJECTIVES, TASKS)


def _trace(fig: go.Figure, prefix: str) -> go.BaseTraceType:
    return next(t for t in fig.data if t.name.startswith(prefix))


def test_scatter_has_every_completed_trial_and_the_frontier_trace(points: I.PointsInfo) -> None:
    fig = F.frontier_scatter(I.scatter_info(points, "a_loss", "b_acc"))
    assert [t.name for t in fig.data] == ["Trials (1)", "Frontier line", "Frontier (4)", "pcgrad (1)"]
    assert set(_trace(fig, "Frontier (").text) == FRONTIER_IDS
    marked = {t for tr in fig.data if tr.text is not None for t in tr.text}
    assert marked == {"t1", "t2", "t3", "t4", "m1"}
    line = _trace(fig, "Frontier line")
    assert list(line.x) == [0.1, 0.2, 0.25, 0.4] and line.mode == "lines"
    assert isinstance(fig.data[0], go.Scatter)


def test_scatter_axes_follow_the_pickers(points: I.PointsInfo) -> None:
    fig = F.frontier_scatter(I.scatter_info(points, "b_acc", "a_loss"))
    frontier = _trace(fig, "Frontier (")
    t3 = list(frontier.text).index("t3")
    assert (frontier.x[t3], frontier.y[t3]) == (0.9, 0.4)
    assert fig.layout.xaxis.title.text == "b_acc (higher is better)"
    assert fig.layout.yaxis.title.text == "a_loss (lower is better)"


def test_hover_shows_trial_id_weights_and_every_objective(points: I.PointsInfo) -> None:
    fig = F.frontier_scatter(I.scatter_info(points, "a_loss", "b_acc"))
    frontier = _trace(fig, "Frontier (")
    template = frontier.hovertemplate
    assert "%{text}" in template
    assert "weights: a=%{customdata[0]:.3f}, b=%{customdata[1]:.3f}" in template
    assert "a_loss=%{customdata[2]:.4g}" in template and "b_acc=%{customdata[3]:.4g}" in template
    t2 = list(frontier.text).index("t2")
    assert np.asarray(frontier.customdata)[t2] == pytest.approx([0.5, 0.5, 0.2, 0.7])
    method = _trace(fig, "pcgrad")
    assert "effective weights (mean): a=" in method.hovertemplate
    assert np.asarray(method.customdata)[0][:2] == pytest.approx([0.4, 0.6])


def test_methods_are_labelled_markers_with_their_own_symbol(points: I.PointsInfo) -> None:
    fig = F.frontier_scatter(I.scatter_info(points, "a_loss", "b_acc"))
    method = _trace(fig, "pcgrad")
    assert method.mode == "markers+text" and method.texttemplate == "pcgrad"
    assert method.marker.symbol == F.METHOD_SYMBOLS[0]
    assert list(method.marker.line.width) == [2.5]  # thick outline: on the frontier


def test_large_runs_switch_to_webgl() -> None:
    rng = np.random.default_rng(0)
    n = F.GL_THRESHOLD + 1
    values = rng.random((n, 2))
    group = I.PointGroup(
        "trials", "Trials", np.array([f"t{i}" for i in range(n)], dtype=object), values, rng.dirichlet([1, 1], n), np.zeros(n, bool)
    )
    empty = I.PointGroup("frontier", "Frontier", np.empty(0, object), np.empty((0, 2)), np.empty((0, 2)), np.empty(0, bool))
    points = I.PointsInfo(OBJECTIVES, TASKS, (group, empty))
    fig = F.frontier_scatter(I.scatter_info(points, "a_loss", "b_acc"))
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert len(fig.data[0].x) == n


def test_selection_sets_selectedpoints_per_trace(points: I.PointsInfo) -> None:
    info = I.scatter_info(points, "a_loss", "b_acc")
    fig = F.frontier_scatter(info, selected=["t4", "t2", "m1"])
    assert fig.data[0].selectedpoints == (0,)
    assert sorted(fig.data[2].text[i] for i in fig.data[2].selectedpoints) == ["m1", "t2"]
    ids = F.scatter_trace_ids(info)
    assert len(ids) == len(fig.data) and ids[1] is None
    assert F.frontier_scatter(info).data[0].selectedpoints is None


def test_scatter_matrix_has_one_dimension_per_objective(points: I.PointsInfo) -> None:
    fig = F.scatter_matrix(points)
    assert [t.name for t in fig.data] == ["Trials", "Frontier", "pcgrad"]
    assert [d.label for d in fig.data[1].dimensions] == ["a_loss", "b_acc"]
    assert len(fig.data[1].dimensions[0].values) == 4
    assert "a=%{customdata[0]:.3f}" in fig.data[1].hovertemplate
    assert len(F.group_trace_ids(points)) == len(fig.data)


def test_parallel_coordinates_axes_and_selection_colouring(points: I.PointsInfo) -> None:
    table = I.table_info(points)
    fig = F.parallel_coordinates(table, color_column="a_loss")
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == ["w[a]", "w[b]", "a_loss", "b_acc"]
    assert all(len(d.values) == 5 for d in dims) and tuple(dims[0].range) == (0.0, 1.0)
    assert fig.data[0].line.reversescale is True  # lower a_loss is better: drawn in the "good" colour
    line = F.parcoords_line(table, color_column="a_loss", selected=["t1"])
    chosen = [t for t, c in zip(table.trial_ids, line["color"]) if c == 1.0]
    assert chosen == ["t1"] and line["showscale"] is False


def test_ternary_for_three_tasks_and_a_clear_error_otherwise(points: I.PointsInfo) -> None:
    with pytest.raises(ValueError, match="needs 3 tasks"):
        F.weight_ternary(points, color_column="a_loss")
    objectives = (*OBJECTIVES, Objective("c", "c_loss", "min"))
    rows = trials().assign(c_loss=0.5)
    rows["weights"] = [None if w is None else [*w[:1], w[1] / 2, w[1] / 2] for w in rows["weights"]]
    rows["effective_weights_mean"] = rows["weights"].where(rows["kind"] != "method", [[0.2, 0.3, 0.5]] * len(rows))
    three = I.points_info(rows, FRONTIER_IDS, objectives, ("a", "b", "c"))
    fig = F.weight_ternary(three, color_column="b_acc")
    assert [type(t) for t in fig.data] == [go.Scatterternary] * 3
    front = fig.data[1]
    t1 = list(front.text).index("t1")
    assert (front.a[t1], front.b[t1], front.c[t1]) == pytest.approx((0.9, 0.05, 0.05))
    assert list(front.marker.color) == pytest.approx(list(three.groups[1].values[:, 1]))
    assert "w[a]" in fig.layout.ternary.aaxis.title.text


def test_progress_and_epoch_curves() -> None:
    progress = I.ProgressInfo(np.array([1.0, 2.0]), np.array([3.0, 7.0]), np.array([0.1, 0.3]), np.array([1.0, 2.0]))
    fig = C.progress_figure(progress)
    assert [list(t.x) for t in fig.data] == [[1.0, 2.0], [3.0, 7.0]]
    assert all(list(t.y) == [0.1, 0.3] for t in fig.data)
    info = trial_info(trials(), "t2", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=["a_loss", "b_acc"])
    curves = C.epoch_curves(info)
    assert [t.name for t in curves.data] == ["a_loss", "b_acc"] and list(curves.data[0].y) == [0.5, 0.2]


def test_empty_states_say_so() -> None:
    empty = I.ProgressInfo(*(np.empty(0) for _ in range(4)))
    assert "No progress rows yet" in C.progress_figure(empty).layout.annotations[0].text
    assert C.message_figure("No completed trial yet.").layout.annotations[0].text == "No completed trial yet."


def test_parallel_coordinates_of_a_huge_run_draw_a_labelled_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "PARCOORDS_LIMIT", 3)
    table = I.table_info(I.points_info(trials(), FRONTIER_IDS, OBJECTIVES, TASKS))
    fig = F.parallel_coordinates(table, color_column="a_loss")
    assert len(fig.data[0].dimensions[0].values) == 3 == len(fig.data[0].line.color)
    assert "3 of 5 trials drawn" in fig.layout.title.text


def test_a_flat_zero_hypervolume_is_explained() -> None:
    zero = I.ProgressInfo(np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.zeros(2), np.array([1.0, 2.0]))
    assert "no trial beats the reference point" in C.progress_figure(zero).layout.annotations[0].text
