"""The progress tab in a real browser: the compute curve (HV against epochs trained), stopped trials marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paretosweep.results import TRIALS_FILE
from tests.browser.conftest import dashboard, screenshot
from tests.synthetic_run import write_synthetic_run

pytestmark = [pytest.mark.slow]

_COMPUTE_JS = """() => {
    const el = document.getElementById(JSON.stringify({run: 0, type: 'progress'}));
    const gd = el && el.querySelector('.js-plotly-plot');
    if (!gd || !gd._fullData || !gd.querySelector('.main-svg')) { return null; }
    const panel = gd._fullData.filter(t => t.xaxis === 'x3');
    if (!panel.length) { return null; }
    return {title: gd._fullLayout.xaxis3.title.text,
            traces: panel.map(t => ({name: t.name, x: Array.from(t.x), symbol: t.marker && t.marker.symbol,
                                     ids: t.customdata ? Array.from(t.customdata, c => c[0]) : null}))};
}"""


def with_stopped_trials(run: Path, n: int) -> list[str]:
    """Mark ``n`` completed scalarization trials as stopped after 1 epoch (trials.parquet rewritten, metadata kept)."""
    path = run / TRIALS_FILE
    table = pq.read_table(path)
    frame = table.to_pandas()
    picked = frame.index[(frame["status"] == "completed") & (frame["kind"] == "scalarization")][:n]
    frame.loc[picked, "status"] = "stopped"
    frame.loc[picked, "epochs_done"] = 1
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)
    return frame.loc[picked, "trial_id"].tolist()


def test_the_progress_tab_draws_hv_against_compute_with_stopped_trials_marked(tmp_path: Path, new_page: Any) -> None:
    run = write_synthetic_run(tmp_path / "lattice", n_trials=24)
    stopped = with_stopped_trials(run, 3)
    trials = pq.read_table(run / TRIALS_FILE).to_pandas().sort_values("finished_at", kind="stable")
    cumulative = dict(zip(trials["trial_id"], np.cumsum(trials["epochs_done"].to_numpy()), strict=True))
    with dashboard([run]) as (url, _):
        page = new_page()
        page.goto(url)
        page.get_by_text("Progress", exact=True).click()
        page.wait_for_function(_COMPUTE_JS, timeout=60_000)
        drawn = page.evaluate(_COMPUTE_JS)
        screenshot(page, "progress_compute_curve")
    assert drawn["title"] == "compute (epochs trained)"
    by_name = {t["name"]: t for t in drawn["traces"]}
    marked = by_name["stopped early"]
    assert sorted(marked["ids"]) == sorted(stopped) and marked["symbol"] == "x"
    assert marked["x"] == pytest.approx([float(cumulative[i]) for i in marked["ids"]])
    assert by_name["hypervolume vs compute"]["x"][-1] == pytest.approx(float(trials["epochs_done"].sum()))
    assert len(by_name["trial finished"]["x"]) == len(trials) - len(stopped)
