"""The trial panel shows a clicked trial's checkpoint, and a copyable line that loads it, in headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

import paretosweep
from paretosweep.results import RunStore, checkpoint_locations, retain_checkpoints
from tests.browser.conftest import dashboard, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.ray]  # tiny_run_dir runs a real sweep on a local Ray

# Pixel position of each frontier point, from the axes' own linear-to-pixel maps.
_FRONTIER_POINTS_JS = """() => {
    const gd = document.getElementById(JSON.stringify({run: 0, type: 'scatter'})).querySelector('.js-plotly-plot');
    const r = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const tr = gd._fullData.find(t => t.name.startsWith('Frontier ('));
    return Array.from(tr.x, (x, i) => ({id: tr.text[i], px: r.left + xa._offset + xa.l2p(x), py: r.top + ya._offset + ya.l2p(tr.y[i])}));
}"""
_COPY = """[id='{"run":0,"type":"checkpoint-copy"}']"""
_DRAWN_JS = """() => {
    const el = document.getElementById(JSON.stringify({run: 0, type: 'scatter'}));
    const gd = el && el.querySelector('.js-plotly-plot');
    return !!(gd && gd._fullData && gd._fullData.length && gd.querySelector('.main-svg'));
}"""


def _click_first_frontier_point(page: Any, url: str) -> str:
    page.goto(url)
    page.wait_for_function(_DRAWN_JS, timeout=60_000)
    point = page.evaluate(_FRONTIER_POINTS_JS)[0]
    page.mouse.click(point["px"], point["py"])
    page.locator(".trial-panel").get_by_role("heading", name=f"Trial {point['id']}").wait_for(timeout=20_000)
    return str(point["id"])


def test_the_panel_shows_the_checkpoint_and_copies_a_snippet_that_loads_it(tiny_run_dir: Path, browser: Any) -> None:
    with dashboard([tiny_run_dir]) as (url, _):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
            page = context.new_page()
            trial_id = _click_first_frontier_point(page, url)
            section = page.locator(".trial-panel .trial-checkpoint")
            location = checkpoint_locations(tiny_run_dir, [trial_id])[trial_id]["location"]
            assert location is not None and Path(location).is_file()
            assert section.locator("code").first.inner_text() == location
            snippet = section.locator("code").nth(1).inner_text()
            assert snippet == f'paretosweep.load_checkpoint("{tiny_run_dir}", "{trial_id}")'
            page.locator(_COPY).click()
            page.wait_for_function("async (s) => (await navigator.clipboard.readText()) === s", arg=snippet, timeout=10_000)
            saved = eval(snippet, {"paretosweep": paretosweep})  # the copied line, run as written
            again = torch.load(location, weights_only=False)["trainable"]
            assert saved["epoch"] == again["epoch"] == 1
            assert saved["model"].keys() == again["model"].keys()
            assert all(torch.equal(saved["model"][k], v) for k, v in again["model"].items())
            screenshot(page, "trial_panel_checkpoint")
        finally:
            context.close()


def test_the_panel_says_when_the_checkpoint_was_not_kept(tiny_run_dir: Path, tmp_path: Path, new_page: Any) -> None:
    pruned = tmp_path / "pruned"
    shutil.copytree(tiny_run_dir, pruned)
    assert retain_checkpoints(RunStore(str(pruned)).open(), "none") > 0  # the real retention step deletes them all
    with dashboard([pruned]) as (url, _):
        page = new_page()
        _click_first_frontier_point(page, url)
        section = page.locator(".trial-panel")
        text = " ".join(section.inner_text().split())
        assert "Not kept:" in text and "checkpoints: {keep: all}" in text
        assert section.locator(".trial-checkpoint").count() == 0
        screenshot(page, "trial_panel_checkpoint_not_kept")
