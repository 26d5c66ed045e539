"""Fixtures for driving the dashboard in headless Debian Chromium (Playwright).

``tiny_run_dir`` is the one place that decides where the browser tests' run comes from:
today a real tiny sweep (``paretosweep.api.run`` on the built-in ``synthetic`` problem,
3 tasks, 6 weight vectors, 2 epochs). ``synthetic_run_dir`` adds a run written with
pyarrow against the contract that also has comparison-method and failed trials (the
sweep cannot run methods yet). Each app runs in a child process on a free port of
127.0.0.1 and is stopped through its own ``Popen`` handle.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.synthetic_run import write_synthetic_run

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


def make_tiny_run(path: Path) -> Path:
    """The browser tests' run: a real tiny sweep (swap this body to change the source)."""
    from paretosweep import api

    spec = {
        "name": "tiny",
        "problem": {"name": "synthetic", "params": {"n_tasks": 3, "n_samples": 600}},
        "sampler": {"name": "das_dennis"},
        "budget": {"n_weights": 6, "epochs": 2},
        "storage": str(path),
    }
    api.run(spec)
    return path


@pytest.fixture(scope="session")
def tiny_run_dir(local_ray: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory made by a real tiny sweep (3 tasks)."""
    return make_tiny_run(tmp_path_factory.mktemp("tiny") / "run")


@pytest.fixture(scope="session")
def synthetic_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-task run written with pyarrow: 30 trials, 3 method trials, failed and diverged ones."""
    return write_synthetic_run(tmp_path_factory.mktemp("synthetic") / "lattice", n_trials=30)


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dashboard(paths: list[Path], *, refresh_ms: int | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Serve the dashboard for ``paths`` in a child process; yields (url, process)."""
    port = free_port()
    if refresh_ms is None:
        code = f"from paretosweep.dashboard import serve; serve({[str(p) for p in paths]!r}, port={port})"
    else:  # a faster refresh, through the same app factory
        code = (
            f"from paretosweep.dashboard import create_app; create_app({[str(p) for p in paths]!r}, "
            f"refresh_ms={refresh_ms}).run(host='127.0.0.1', port={port})"
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, proc)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dashboard exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the dashboard did not answer at {url} within 60 s")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per module: sync Playwright runs an event loop in this thread while
    it is open, which must not outlive the browser tests (later tests call asyncio.run)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM}: run `apt-get install -y chromium`.")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def new_page(browser: object) -> Iterator[Callable[[], object]]:
    """Open fresh pages (1400x1000, downloads allowed); all are closed after the test."""
    pages: list[object] = []

    def make() -> object:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)  # type: ignore[attr-defined]
        page = context.new_page()
        pages.append(context)
        return page

    yield make
    for context in pages:
        context.close()  # type: ignore[attr-defined]


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot to ``test-artifacts/dashboard/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
