"""The token-protected dashboard in a real browser: ``paretosweep dashboard`` with $PARETOSWEEP_DASHBOARD_TOKEN.

The real CLI serves a pyarrow-written run on a free port of 127.0.0.1 (stopped through its
own ``Popen`` handle). Chromium without the token gets the 401; with ``?token=`` it is
redirected to the bare URL, and the page's Dash callbacks (the frontier scatter, an export
download) pass on the cookie alone. Neither the console nor the request log shows the token.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from paretosweep.dashboard._auth import TOKEN_ENV
from tests.browser.conftest import free_port, screenshot

pytestmark = [pytest.mark.slow]

TOKEN = "browser-test-token-Zq81"
_DRAWN_JS = """() => {
    const el = document.getElementById(JSON.stringify({run: 0, type: 'scatter'}));
    const gd = el && el.querySelector('.js-plotly-plot');
    return !!(gd && gd._fullData && gd._fullData.length && gd.querySelector('.main-svg'));
}"""
_FRONTIER_JS = """() => {
    const gd = document.getElementById(JSON.stringify({run: 0, type: 'scatter'})).querySelector('.js-plotly-plot');
    const tr = gd._fullData.find(t => t.name.startsWith('Frontier ('));
    return tr ? tr.x.length : 0;
}"""


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@contextmanager
def cli_dashboard(run: Path, logs: Path) -> Iterator[str]:
    """``python -m paretosweep dashboard RUN`` with the token in the environment; yields the URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with (logs / "stdout.txt").open("w") as out, (logs / "stderr.txt").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "paretosweep", "dashboard", str(run), "--port", str(port)],
            stdout=out,
            stderr=err,
            env={**os.environ, TOKEN_ENV: TOKEN, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, f"the dashboard exited early: {(logs / 'stderr.txt').read_text()}"
                try:
                    _status(url)
                    break
                except OSError:  # not listening yet
                    assert time.monotonic() < deadline, f"the dashboard did not answer at {url} within 60 s"
                    time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_the_dashboard_needs_its_token_then_works_on_the_cookie(synthetic_run_dir: Path, new_page: Any, tmp_path: Path) -> None:
    with cli_dashboard(synthetic_run_dir, tmp_path) as url:
        assert _status(url) == 401
        assert _status(url, {"Authorization": f"Bearer {TOKEN}"}) == 200
        assert _status(f"{url}_dash-layout", {"Authorization": "Bearer wrong"}) == 401

        page = new_page()
        refused = page.goto(url)
        assert refused is not None and refused.status == 401
        assert "needs its token" in page.content()
        assert page.goto(f"{url}?token=wrong").status == 401

        page.goto(f"{url}?token={TOKEN}")
        assert page.url == url  # redirected: the token left the address bar
        page.wait_for_function(_DRAWN_JS, timeout=60_000)  # Dash callbacks passed on the cookie
        assert page.evaluate(_FRONTIER_JS) > 0
        cookie = next(c for c in page.context.cookies() if c["name"] == "paretosweep_dashboard_auth")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
        with page.expect_download() as download:
            page.get_by_text("Export JSON").click()
        assert Path(download.value.path()).read_text().startswith("[")
        screenshot(page, "dashboard_with_token")

        other = new_page()  # a fresh browser context has no cookie
        assert other.goto(url).status == 401
    printed = (tmp_path / "stdout.txt").read_text() + (tmp_path / "stderr.txt").read_text()
    assert "?token=<your token>" in printed  # how to open it, said generically
    assert "token=***" in printed  # the request log saw the ?token= request, masked
    assert TOKEN not in printed
