"""The static report: one self-contained HTML file with the dashboard's figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from paretosweep.dashboard import load_run, write_report
from paretosweep.dashboard.report import report_figures
from paretosweep.errors import ResultSchemaError
from paretosweep.exports import export_records, point_trial_ids, to_json
from paretosweep.results import checkpoint_locations
from tests.synthetic_run import write_synthetic_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_run(tmp_path_factory.mktemp("report") / "run", n_trials=20)


def test_report_is_one_file_with_plotly_inlined_once(run_dir: Path, tmp_path: Path) -> None:
    out = write_report(run_dir, tmp_path / "sub" / "report.html")
    html = out.read_text()
    assert out == tmp_path / "sub" / "report.html"
    assert not re.search(r"<script[^>]+src=", html)  # nothing fetched from a CDN or server
    assert html.count("plotly.js v") >= 1 and len(html) > 3_000_000  # the library itself, once
    assert html.count('class="plotly-graph-div"') == len(report_figures(load_run(run_dir)))


def test_report_has_every_view_and_the_exact_export_json(run_dir: Path, tmp_path: Path) -> None:
    run = load_run(run_dir)
    headings = [h for h, _ in report_figures(run)]
    assert headings == [
        "Frontier: left_loss vs right_loss",
        "Frontier: left_loss vs center_loss",
        "Frontier: right_loss vs center_loss",
        "Scatter matrix",
        "Parallel coordinates",
        "Weights, coloured by left_loss",
        "Progress",
    ]
    html = write_report(run_dir, tmp_path / "r.html").read_text()
    for trial_id in run.frontier["trial_id"]:
        assert f"<td>{trial_id}</td>" in html
    embedded = re.search(r"<pre>(.*?)</pre>", html, re.S).group(1)
    import html as html_lib

    where = checkpoint_locations(run.source, point_trial_ids(run.frontier), trials=run.trials)
    expected = export_records(run.frontier, run.objectives, spec=run.spec, test_columns=run.test_columns, checkpoints=where)
    assert json.loads(html_lib.unescape(embedded)) == json.loads(to_json(expected))


def test_two_task_run_has_no_matrix_or_ternary(tmp_path: Path) -> None:
    run = load_run(write_synthetic_run(tmp_path / "two", n_trials=10, tasks=("left", "right")))
    assert [h for h, _ in report_figures(run)] == ["Frontier: left_loss vs right_loss", "Parallel coordinates", "Progress"]


def test_bad_run_raises_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ResultSchemaError, match="Found no directory"):
        write_report(tmp_path / "missing", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
