"""The dashboard shows each objective's test-split value beside it (hover, trial panel, summary, report)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dash import html

from paretosweep.dashboard import _curves as C
from paretosweep.dashboard import _figures as F
from paretosweep.dashboard import _info as I
from paretosweep.dashboard._data import load_run
from paretosweep.dashboard._layout import summary_text, trial_panel
from paretosweep.dashboard._trial import trial_info
from paretosweep.dashboard.report import write_report
from paretosweep.results import RunSplits, RunStore
from tests.unit.dashboard._frames import FRONTIER_IDS, OBJECTIVES, TASKS, trial, trials

TESTS = {"a_loss": "test_a_loss", "b_acc": "test_b_acc"}


def _with_test() -> object:
    frame = trials()
    return frame.assign(test_a_loss=frame["a_loss"] + 0.05, test_b_acc=frame["b_acc"] - 0.1)


def test_points_carry_test_values_and_the_hover_shows_them_beside_each_objective() -> None:
    points = I.points_info(_with_test(), FRONTIER_IDS, OBJECTIVES, TASKS, test_columns=TESTS)
    frontier = next(g for g in points.groups if g.role == "frontier")
    t2 = list(frontier.trial_ids).index("t2")
    assert frontier.values[t2] == pytest.approx([0.2, 0.7]) and frontier.test_values[t2] == pytest.approx([0.25, 0.6])
    fig = F.frontier_scatter(I.scatter_info(points, "a_loss", "b_acc"))
    trace = next(t for t in fig.data if t.name.startswith("Frontier ("))
    assert "a_loss=%{customdata[2]:.4g} (test %{customdata[4]:.4g})" in trace.hovertemplate
    assert "b_acc=%{customdata[3]:.4g} (test %{customdata[5]:.4g})" in trace.hovertemplate
    assert np.asarray(trace.customdata)[t2] == pytest.approx([0.5, 0.5, 0.2, 0.7, 0.25, 0.6])
    assert list(trace.x) == list(frontier.values[:, 0]) and list(trace.y) == list(frontier.values[:, 1])  # plotted: validation


def test_one_split_points_have_no_test_values_and_the_hover_no_test_line() -> None:
    points = I.points_info(trials(), FRONTIER_IDS, OBJECTIVES, TASKS)
    assert all(g.test_values is None for g in points.groups)
    fig = F.frontier_scatter(I.scatter_info(points, "a_loss", "b_acc"))
    assert all("test" not in (t.hovertemplate or "") for t in fig.data)


def test_trial_panel_puts_the_test_value_beside_each_validation_metric() -> None:
    info = trial_info(_with_test(), "t2", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=["a_loss", "b_acc"], test_columns=TESTS)
    assert dict(info.metrics) == {"a_loss": 0.2, "b_acc": 0.7}
    assert dict(info.test_metrics) == pytest.approx({"a_loss": 0.25, "b_acc": 0.6})
    panel = trial_panel(info, C.epoch_curves(info), 0)
    metrics = next(c for c in _walk(panel) if isinstance(c, html.Table) and c.className == "trial-metrics")
    rows = [[cell.children for cell in tr.children] for tr in metrics.children]
    assert rows == [["metric", "validation", "test"], ["a_loss", "0.2", "0.25"], ["b_acc", "0.7", "0.6"]]


def test_load_run_reads_the_splits_and_keeps_test_columns_out_of_the_metrics(tmp_path: Path) -> None:
    splits = RunSplits("validation", "test", TESTS, "validation chooses")
    store = RunStore(tmp_path).create(
        objectives=OBJECTIVES, tasks=TASKS, metric_columns=("a_loss", "b_acc", *TESTS.values()), splits=splits
    )
    store.ingest([{**trial("t1", 0.1, 0.5, weights=[0.9, 0.1]), "test_a_loss": 0.15, "test_b_acc": 0.45}])
    store.write()
    run = load_run(tmp_path)
    assert run.splits == splits and run.test_columns == TESTS
    assert run.metric_columns == ("a_loss", "b_acc")
    assert "chosen on the validation split; test_* values: the test split, reported only" in summary_text(run)
    page = write_report(tmp_path, tmp_path / "report.html").read_text()
    assert "<th>test a_loss</th>" in page and "<td>0.15</td>" in page and "&quot;test_objectives&quot;" in page


def _walk(component: object):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        yield from _walk(child)
