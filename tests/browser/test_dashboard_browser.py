"""The dashboard in a real browser: headless Debian Chromium driven by Playwright.

Each test starts the app in a child process on 127.0.0.1, reads plotted data back from the
Plotly graph divs, clicks and drags with the real mouse at pixel positions computed from
the axes, and saves screenshots to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from paretosweep import api
from paretosweep.exports import to_json
from paretosweep.results import TRIALS_FILE
from tests.browser.conftest import dashboard, screenshot
from tests.synthetic_run import write_synthetic_run

pytestmark = [pytest.mark.slow]

# Pixel position of every point of a trace, from the axes' own linear-to-pixel maps.
_POINTS_JS = """([kind, name]) => {
    const gd = document.getElementById(JSON.stringify({run: 0, type: kind})).querySelector('.js-plotly-plot');
    const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const tr = gd._fullData.find(t => t.name.startsWith(name));
    return Array.from(tr.x, (x, i) => ({id: tr.text[i], x: x, y: tr.y[i],
        px: r.left + xa._offset + xa.l2p(x), py: r.top + ya._offset + ya.l2p(tr.y[i])}));
}"""
_TRACES_JS = """(kind) => {
    const el = document.getElementById(JSON.stringify({run: 0, type: kind}));
    const gd = el && el.querySelector('.js-plotly-plot');
    if (!gd || !gd._fullData) { return null; }
    return gd._fullData.map(t => ({name: t.name, text: t.text ? Array.from(t.text) : null,
        selected: t.selectedpoints ? Array.from(t.selectedpoints) : null,
        y: t.y ? Array.from(t.y) : null, ytitle: gd._fullLayout.yaxis && gd._fullLayout.yaxis.title.text}));
}"""
_SCATTER = """[id='{"run":0,"type":"scatter"}']"""
_PARCOORDS = """[id='{"run":0,"type":"parcoords"}']"""
_DRAWN_JS = """(kind) => {
    const el = document.getElementById(JSON.stringify({run: 0, type: kind}));
    const gd = el && el.querySelector('.js-plotly-plot');
    return !!(gd && gd._fullData && gd._fullData.length && gd.querySelector('.main-svg'));
}"""


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function(_DRAWN_JS, arg="scatter", timeout=60_000)


def _frontier(run: Path) -> pd.DataFrame:
    return pq.read_table(run / "frontier.parquet").to_pandas()


@pytest.mark.ray  # tiny_run_dir runs a real sweep on a local Ray
def test_page_loads_with_every_frontier_point(tiny_run_dir: Path, new_page: Any) -> None:
    trials = pq.read_table(tiny_run_dir / TRIALS_FILE).to_pandas()
    with dashboard([tiny_run_dir]) as (url, _):
        page = new_page()
        _open(page, url)
        traces = page.evaluate(_TRACES_JS, "scatter")
        frontier = next(t for t in traces if t["name"].startswith("Frontier ("))
        assert sorted(frontier["text"]) == sorted(_frontier(tiny_run_dir)["trial_id"])
        plotted = {i for t in traces if t["text"] for i in t["text"]}
        assert plotted == set(trials.loc[trials["status"] == "completed", "trial_id"])
        summary = page.locator(".run-summary").inner_text()
        assert f"{len(trials)} trials" in summary and f"{len(_frontier(tiny_run_dir))} on the frontier" in summary
        screenshot(page, "tiny_run_loaded")


@pytest.mark.ray  # tiny_run_dir runs a real sweep on a local Ray
def test_hover_and_click_show_the_weights(tiny_run_dir: Path, new_page: Any) -> None:
    front = _frontier(tiny_run_dir).set_index("trial_id")
    with dashboard([tiny_run_dir]) as (url, _):
        page = new_page()
        _open(page, url)
        point = page.evaluate(_POINTS_JS, ["scatter", "Frontier ("])[0]
        weights = [f"{w:.3f}" for w in front.loc[point["id"], "weights"]]
        page.mouse.move(point["px"], point["py"])
        hover_layer = _SCATTER + " .hoverlayer"
        page.wait_for_function(f"() => (document.querySelector({hover_layer!r}) || {{}}).textContent.includes('weights')")
        hover = page.locator(hover_layer).text_content() or ""
        assert point["id"] in hover and all(w in hover for w in weights)
        trial = pq.read_table(tiny_run_dir / TRIALS_FILE).to_pandas().set_index("trial_id").loc[point["id"]]
        assert f"t0_loss={trial['t0_loss']:.4g} (test {trial['test_t0_loss']:.4g})" in hover  # test beside validation
        page.mouse.click(point["px"], point["py"])
        panel = page.locator(".trial-panel")
        panel.get_by_role("heading", name=f"Trial {point['id']}").wait_for(timeout=20_000)
        cells = panel.locator(".trial-weights td").all_inner_texts()
        shown = [float(v) for v in cells[1::2]]
        assert shown == pytest.approx(list(front.loc[point["id"], "weights"]), rel=1e-5)
        assert panel.locator(".trial-metrics th").all_inner_texts() == ["metric", "validation", "test"]
        metrics = panel.locator(".trial-metrics td").all_inner_texts()
        rows = {metrics[k]: (float(metrics[k + 1]), float(metrics[k + 2])) for k in range(0, len(metrics), 3)}
        assert rows["t1_loss"] == pytest.approx((trial["t1_loss"], trial["test_t1_loss"]), rel=1e-5)
        page.wait_for_function(_DRAWN_JS, arg="curves")
        page.wait_for_timeout(300)  # let the layout settle before the screenshot
        screenshot(page, "trial_panel_after_click")


@pytest.mark.ray  # tiny_run_dir runs a real sweep on a local Ray
def test_export_downloads_the_frontier_as_paretosweep_export_writes_it(tiny_run_dir: Path, new_page: Any) -> None:
    with dashboard([tiny_run_dir]) as (url, _):
        page = new_page()
        _open(page, url)
        with page.expect_download() as download:
            page.get_by_text("Export JSON").click()
        text = Path(download.value.path()).read_text()
        assert download.value.suggested_filename == "run-frontier.json"
        assert text == to_json(api.export(str(tiny_run_dir), pick="all"))  # byte for byte
        front = _frontier(tiny_run_dir).set_index("trial_id")
        records = json.loads(text)
        assert [r["trial_id"] for r in records] == list(front.index)
        for r in records:
            assert r["weights"] == list(front.loc[r["trial_id"], "weights"])
            assert r["objectives"] == {c: front.loc[r["trial_id"], c] for c in r["objectives"]}
            assert r["test_objectives"] == {c: front.loc[r["trial_id"], f"test_{c}"] for c in r["objectives"]}
        with page.expect_download() as download:
            page.get_by_text("Export CSV").click()
        table = pd.read_csv(io.StringIO(Path(download.value.path()).read_text()))
        assert list(table["trial_id"]) == list(front.index)
        for column in ("t0_loss", "t1_loss", "t2_loss", "test_t0_loss", "test_t1_loss", "test_t2_loss"):
            assert table[column].tolist() == front[column].tolist()  # exact round trip


def test_box_selection_filters_every_view_and_exports_the_selection(synthetic_run_dir: Path, new_page: Any) -> None:
    with dashboard([synthetic_run_dir]) as (url, _):
        page = new_page()
        _open(page, url)
        points = page.evaluate(_POINTS_JS, ["scatter", "Frontier ("])
        xs, ys = sorted(p["px"] for p in points), sorted(p["py"] for p in points)
        box = (xs[0] - 3, ys[0] - 3, (xs[0] + xs[-1]) / 2, (ys[0] + ys[-1]) / 2)
        expected_front = {p["id"] for p in points if box[0] <= p["px"] <= box[2] and box[1] <= p["py"] <= box[3]}
        assert expected_front, "the box should hold some frontier points"
        page.mouse.move(box[0], box[1])
        page.mouse.down()
        page.mouse.move(box[2], box[3], steps=8)
        page.mouse.up()
        page.get_by_text("trials selected").wait_for(timeout=20_000)
        traces = page.evaluate(_TRACES_JS, "scatter")
        frontier = next(t for t in traces if t["name"].startswith("Frontier ("))
        assert {frontier["text"][i] for i in frontier["selected"]} == expected_front
        page.get_by_text("Scatter matrix", exact=True).click()
        page.wait_for_function(_DRAWN_JS, arg="splom")
        splom = page.evaluate(_TRACES_JS, "splom")
        in_splom = {t["text"][i] for t in splom for i in (t["selected"] or [])}
        selected_text = page.get_by_text("trials selected").inner_text()
        assert expected_front <= in_splom and f"{len(in_splom)} trials selected" in selected_text
        screenshot(page, "box_selection_splom")
        with page.expect_download() as download:
            page.get_by_text("Export JSON").click()
        records = json.loads(Path(download.value.path()).read_text())
        assert {r["trial_id"] for r in records} == in_splom
        assert download.value.suggested_filename == "lattice-selection.json"


def test_parallel_coordinates_brushing_selects_trials(synthetic_run_dir: Path, new_page: Any) -> None:
    trials = pq.read_table(synthetic_run_dir / TRIALS_FILE).to_pandas()
    with dashboard([synthetic_run_dir]) as (url, _):
        page = new_page()
        _open(page, url)
        page.get_by_text("Parallel coordinates", exact=True).click()
        page.wait_for_function(_DRAWN_JS, arg="parcoords")
        page.wait_for_timeout(500)
        # Brush the top half of the w[left] axis (the first one): weights in about [0.5, 1].
        page.locator(_PARCOORDS).scroll_into_view_if_needed()
        axis = page.evaluate(
            """(sel) => {
            const r = document.querySelector(sel + ' .axis-brush .background').getBoundingClientRect();
            return {x: r.left + r.width / 2, top: r.top, bottom: r.bottom};
        }""",
            _PARCOORDS,
        )
        x, mid = axis["x"], (axis["top"] + axis["bottom"]) / 2
        page.mouse.move(x, axis["top"] + 1)
        page.mouse.down()
        page.mouse.move(x, mid, steps=8)
        page.mouse.up()
        page.get_by_text("in the parallel coordinates").wait_for(timeout=20_000)
        done = trials[trials["status"] == "completed"]
        left = [w[0] for w in done["weights"].where(done["kind"] != "method", done["effective_weights_mean"])]
        high = sum(w > 0.55 for w in left)
        low = sum(w < 0.45 for w in left)
        n = int(page.get_by_text("in the parallel coordinates").inner_text().split()[0])
        assert high <= n <= len(left) - low  # the brush is about [0.5, 1]
        page.get_by_text("Progress", exact=True).click()
        screenshot(page, "parcoords_brush")


@pytest.mark.ray  # tiny_run_dir runs a real sweep on a local Ray
def test_switching_objectives_redraws(tiny_run_dir: Path, new_page: Any) -> None:
    front = _frontier(tiny_run_dir).set_index("trial_id")
    with dashboard([tiny_run_dir]) as (url, _):
        page = new_page()
        _open(page, url)
        assert page.evaluate(_TRACES_JS, "scatter")[0]["ytitle"].startswith("t1_loss")
        page.locator('[id=\'{"run":0,"type":"y"}\']').click()
        page.get_by_role("option", name="t2_loss").click()
        page.wait_for_function(
            """() => {
            const gd = document.getElementById(JSON.stringify({run: 0, type: 'scatter'})).querySelector('.js-plotly-plot');
            return gd._fullLayout.yaxis.title.text.startsWith('t2_loss'); }""",
            timeout=20_000,
        )
        frontier = next(t for t in page.evaluate(_TRACES_JS, "scatter") if t["name"].startswith("Frontier ("))
        assert frontier["y"] == pytest.approx([front.loc[i, "t2_loss"] for i in frontier["text"]])
        screenshot(page, "switched_objective")


@pytest.mark.ray  # tiny_run_dir runs a real sweep on a local Ray
def test_two_runs_side_by_side_with_method_markers(tiny_run_dir: Path, synthetic_run_dir: Path, new_page: Any) -> None:
    with dashboard([tiny_run_dir, synthetic_run_dir]) as (url, _):
        page = new_page()
        _open(page, url)
        page.wait_for_function(_DRAWN_JS.replace("run: 0", "run: 1"), arg="scatter")
        assert page.locator(".run-panel").count() == 2
        names = page.evaluate("""() => {
            const gd = document.getElementById(JSON.stringify({run: 1, type: 'scatter'})).querySelector('.js-plotly-plot');
            return gd._fullData.map(t => [t.name, t.mode]); }""")
        assert {"mgda (1)", "pcgrad (1)", "uncertainty (1)"} <= {n for n, _ in names}
        assert all(m == "markers+text" for n, m in names if n.split()[0] in ("mgda", "pcgrad", "uncertainty"))
        left, right = page.locator(".run-panel").all()
        assert left.bounding_box()["x"] < right.bounding_box()["x"]  # side by side
        screenshot(page, "two_runs_side_by_side")


def test_refresh_picks_up_new_trials(tmp_path: Path, new_page: Any) -> None:
    run = write_synthetic_run(tmp_path / "growing", n_trials=12, n_method_trials=1, n_failed=1, n_diverged=1)
    with dashboard([run], refresh_ms=500) as (url, _):
        page = new_page()
        _open(page, url)
        assert "12 trials" in page.locator(".run-summary").inner_text()
        write_synthetic_run(run, n_trials=20, n_method_trials=1, n_failed=1, n_diverged=1)
        page.get_by_text("20 trials", exact=False).wait_for(timeout=20_000)
        page.wait_for_function("""() => {
            const gd = document.getElementById(JSON.stringify({run: 0, type: 'scatter'})).querySelector('.js-plotly-plot');
            return gd._fullData.reduce((n, t) => n + (t.text && t.name !== 'Frontier line' ? t.text.length : 0), 0) >= 18; }""")


def test_bad_runs_show_a_clear_message_in_the_page_and_on_stderr(tmp_path: Path, new_page: Any) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / TRIALS_FILE).write_bytes(b"PAR1 definitely not parquet")
    empty = tmp_path / "empty"
    empty.mkdir()
    with dashboard([corrupt, empty]) as (url, proc):
        page = new_page()
        page.goto(url)
        errors = page.locator(".run-error")
        errors.first.get_by_text("corrupt").wait_for(timeout=20_000)
        errors.nth(1).get_by_text("trials.parquet").wait_for(timeout=20_000)
        assert "Traceback" not in page.content()
        screenshot(page, "bad_runs")
    stderr = proc.stderr.read() if proc.stderr else ""
    assert f"cannot read run {corrupt}" in stderr and f"cannot read run {empty}" in stderr
    assert "Traceback" not in stderr


@pytest.mark.ray  # tiny_run_dir runs a real sweep on a local Ray
def test_served_paths_come_only_from_the_command_line(tiny_run_dir: Path, tmp_path: Path, new_page: Any) -> None:
    other = tmp_path / "other"
    shutil.copytree(tiny_run_dir, other, ignore=shutil.ignore_patterns("_tune"))
    with dashboard([tiny_run_dir]) as (url, _):
        page = new_page()
        for address in (f"{url}?run={other}", f"{url}{str(other).lstrip('/')}"):
            response = page.goto(address)
            assert response is not None and response.ok  # Dash's page shell, whatever the path
            page.wait_for_function(_DRAWN_JS, arg="scatter")
            assert page.locator(".run-panel").count() == 1
            assert page.locator(".run-panel h2").get_attribute("title") == str(tiny_run_dir)
