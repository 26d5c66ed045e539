"""The conditioned model's proposals in the frontier scatter and the report: drawn, never among the trials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from paretosweep.dashboard import _figures as F
from paretosweep.dashboard import _info as I
from paretosweep.dashboard.report import write_report
from paretosweep.results import Objective, RunMeta, RunStore, write_proposals, write_stage_info
from tests.unit.dashboard._frames import FRONTIER_IDS, OBJECTIVES, TASKS, trials


def _proposals(n: int = 5) -> pd.DataFrame:
    w = np.linspace(0.05, 0.95, n)
    return pd.DataFrame(
        {
            "trial_id": [f"c-{i:04d}" for i in range(n)],
            "kind": ["conditioned"] * n,
            "weights": [[float(a), float(1 - a)] for a in w[::-1]],  # stored in another order than the curve's
            "a_loss": (1 - w[::-1]) ** 2,
            "b_acc": 1 - w[::-1] ** 2,
        }
    )


def test_the_scatter_draws_the_proposals_as_a_curve_in_weight_order_after_the_trials() -> None:
    points = I.points_info(trials(), FRONTIER_IDS, OBJECTIVES, TASKS)
    by_column = {o.column: o for o in OBJECTIVES}
    proposed = F.proposed_front(_proposals(), by_column["a_loss"], by_column["b_acc"], TASKS)
    assert proposed is not None and proposed.curve
    info = I.scatter_info(points, "a_loss", "b_acc")
    fig = F.frontier_scatter(info, proposed=proposed)
    names = [t.name for t in fig.data]
    assert names[:4] == ["Trials (1)", "Frontier line", "Frontier (4)", "pcgrad (1)"]
    assert names[4] == "Proposed front, conditioned model (5)"
    trace = fig.data[4]
    assert trace.mode == "lines+markers" and trace.text is None  # proposals carry no trial id: nothing to select
    first_weights = [row[0] for row in trace.customdata]
    assert first_weights == sorted(first_weights)
    assert np.allclose(trace.x, (1 - np.asarray(first_weights)) ** 2)
    ids = F.scatter_trace_ids(info, proposed=proposed)
    assert len(ids) == len(fig.data) and ids[-1] is None
    assert len(F.frontier_scatter(info).data) == 4  # without proposals: the figure as before


def test_no_proposals_no_trace_and_three_tasks_give_points_not_a_curve() -> None:
    a, b = OBJECTIVES[0], OBJECTIVES[1]
    assert F.proposed_front(None, a, b, TASKS) is None
    assert F.proposed_front(_proposals().iloc[:0], a, b, TASKS) is None
    three = _proposals().assign(weights=[[0.2, 0.3, 0.5]] * 5)
    proposed = F.proposed_front(three, a, b, ("x", "y", "z"))
    assert proposed is not None and not proposed.curve


def test_the_report_of_a_conditioned_run_draws_its_proposals_and_the_gaps(tmp_path: Path) -> None:
    run = tmp_path / "run"
    objectives = (Objective("a", "a_loss", "min"), Objective("b", "b_loss", "min"))
    store = RunStore(run).create(objectives=objectives, tasks=("a", "b"), metric_columns=("a_loss", "b_loss"))
    store.ingest([{"trial_id": "s-1", "status": "completed", "kind": "scalarization", "weights": [0.5, 0.5], "a_loss": 0.3, "b_loss": 0.4}])
    store.write()
    meta = RunMeta(objectives=objectives, tasks=("a", "b"), metric_columns=("a_loss", "b_loss"), reference_point=None)
    rows = [
        {"trial_id": f"c-{i}", "status": "completed", "weights": [w, 1 - w], "a_loss": 1 - w, "b_loss": w}
        for i, w in enumerate((0.2, 0.5, 0.8))
    ]
    write_proposals(run, meta, rows)
    write_stage_info(
        run,
        {
            "epochs": 2,
            "sample_epochs": 100,
            "train_seconds": 1.5,
            "dense": 3,
            "verify": [{"weights": [0.5, 0.5], "proposed": {"a_loss": 0.5}, "verified": {"a_loss": 0.3}, "gap": {"a_loss": -0.2}}],
        },
    )
    html = write_report(run, tmp_path / "report.html").read_text()
    assert "Proposed front, conditioned model (3)" in html
    assert "Conditioned proposals vs verified trials" in html and "0.5 / 0.3 / -0.2" in html
