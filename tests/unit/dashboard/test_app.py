"""The Dash app object, without a browser: one panel per run, only the given runs, local by default."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from paretosweep.dashboard import app as dashboard_app
from paretosweep.dashboard import create_app, serve
from tests.synthetic_run import write_synthetic_run


def _ids(component: object) -> list[object]:
    found = []
    stack = [component]
    while stack:
        node = stack.pop()
        if getattr(node, "id", None) is not None:
            found.append(node.id)
        children = getattr(node, "children", None)
        stack.extend(children if isinstance(children, list) else [children] if children is not None else [])
    return found


def test_one_panel_per_run_and_bad_runs_do_not_stop_the_app(tmp_path: Path) -> None:
    good = write_synthetic_run(tmp_path / "good", n_trials=8, n_method_trials=1, n_failed=1, n_diverged=1)
    app = create_app([good, tmp_path / "missing"])
    ids = _ids(app.layout())
    scatters = sorted(i["run"] for i in ids if isinstance(i, dict) and i["type"] == "scatter")
    assert scatters == [0, 1]


def test_serve_binds_localhost_by_default() -> None:
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve).parameters["port"].default == 8050


def test_only_the_given_runs_are_served(tmp_path: Path) -> None:
    good = write_synthetic_run(tmp_path / "good", n_trials=8, n_method_trials=1, n_failed=1, n_diverged=1)
    other = write_synthetic_run(tmp_path / "other", n_trials=8, n_method_trials=1, n_failed=1, n_diverged=1)
    client = create_app([good]).server.test_client()

    def page(url: str) -> str:  # the shell, less its per-request token
        return re.sub(r'"end_id":"[^"]*"', "", client.get(url).get_data(as_text=True))

    # Any URL gives the same page shell; the runs shown come from the layout alone.
    assert page(f"/{other}") == page("/") == page(f"/?run={other}")
    layout = json.dumps(client.get("/_dash-layout").get_json())
    assert str(good) in layout and str(other) not in layout
    assert client.get("/assets/../../../etc/passwd").status_code == 404


def test_refresh_interval_is_configurable(tmp_path: Path) -> None:
    good = write_synthetic_run(tmp_path / "good", n_trials=8, n_method_trials=1, n_failed=1, n_diverged=1)
    layout = create_app([good], refresh_ms=750).layout()
    tick = next(c for c in layout.children if getattr(c, "id", None) == "tick")
    assert tick.interval == 750 and dashboard_app.REFRESH_MS == 2_000


def test_create_app_needs_a_run() -> None:
    with pytest.raises(ValueError, match="at least one run"):
        create_app([])
