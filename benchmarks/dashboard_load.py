"""Time to open a large run in the dashboard: load, build figures, first render in Chromium.

Writes a synthetic run with the real Parquet schema (through pyarrow, see
``tests/synthetic_run.py``), then measures:

* ``load_run`` (Parquet -> pandas, objectives from the metadata),
* building the infos and every figure, and the size of their JSON,
* serving the app (``paretosweep.dashboard.serve`` in a subprocess) and loading the page in
  headless Debian Chromium (Playwright): time until the frontier scatter is drawn, and until
  every view is drawn.

The table replaces the ``## dashboard_load`` section of ``benchmarks/RESULTS.md`` (other
sections are kept). Usage::

    python benchmarks/dashboard_load.py --trials 100000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from plotly.io.json import to_json_plotly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from synthetic_run import write_synthetic_run  # noqa: E402

from paretosweep.dashboard import _figures as F  # noqa: E402
from paretosweep.dashboard import _info as I  # noqa: E402
from paretosweep.dashboard import load_run  # noqa: E402

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
HEADING = "## dashboard_load"
_DRAWN = """(kind) => {
    const el = document.getElementById(JSON.stringify({run: 0, type: kind}));
    const gd = el && el.querySelector('.js-plotly-plot');
    return !!(gd && gd._fullData && gd._fullData.length && gd.querySelector('.main-svg'));
}"""


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(run: Path, port: int) -> subprocess.Popen[bytes]:
    """``serve([run])`` in a child process; returns once the page answers."""
    code = f"from paretosweep.dashboard import serve; serve([{str(run)!r}], port={port})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the dashboard did not answer within 120 s")


def build_figures(run_dir: Path) -> dict[str, float]:
    """Seconds to load the run and build each figure, and the figures' JSON size."""
    t0 = time.perf_counter()
    run = load_run(run_dir)
    t1 = time.perf_counter()
    points = I.points_info(run.trials, set(run.frontier["trial_id"]), run.objectives, run.tasks)
    table = I.table_info(points)
    t2 = time.perf_counter()
    cols = [o.column for o in run.objectives]
    figures = [
        F.frontier_scatter(I.scatter_info(points, cols[0], cols[1])),
        F.scatter_matrix(points),
        F.parallel_coordinates(table, color_column=cols[0]),
        F.progress_figure(I.progress_info(run.progress)),
    ]
    if len(run.tasks) == 3:
        figures.append(F.weight_ternary(points, color_column=cols[0]))
    t3 = time.perf_counter()
    size = sum(len(to_json_plotly(f)) for f in figures)
    return {"load_s": t1 - t0, "infos_s": t2 - t1, "figures_s": t3 - t2, "json_mb": size / 1e6, "frontier": float(len(run.frontier))}


TABS = {"splom": "Scatter matrix", "parcoords": "Parallel coordinates", "ternary": "Weights (ternary)"}


def page_load(port: int, views: list[str]) -> tuple[float, float]:
    """(seconds to the drawn frontier scatter, seconds until every view was drawn) in one fresh page.

    The progress tab is open on load; the other views are drawn by opening their tabs in turn.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function(_DRAWN, arg="scatter", timeout=300_000)
            first = time.perf_counter() - t0
            page.wait_for_function(_DRAWN, arg="progress", timeout=300_000)
            for kind in views:
                page.get_by_text(TABS[kind], exact=True).first.click()
                page.wait_for_function(_DRAWN, arg=kind, timeout=300_000)
            return first, time.perf_counter() - t0
        finally:
            browser.close()


def write_section(path: Path, body: str) -> None:
    """Replace (or append) the ``## dashboard_load`` section of the results file."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    section = f"{HEADING}\n\n{body.strip()}\n\n"
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[2_000, 100_000])
    parser.add_argument("--tasks", type=int, default=3, choices=(2, 3, 4))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()
    tasks = ("left", "right", "center", "extra")[: args.tasks]
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.trials:
            run = write_synthetic_run(
                Path(tmp) / f"run{n}",
                n_trials=n,
                tasks=tasks,
                n_method_trials=max(3, n // 300),
                n_failed=max(2, n // 2000),
                n_diverged=max(1, n // 5000),
                seed=0,
            )
            built = build_figures(run)
            port = free_port()
            t0 = time.perf_counter()
            server = start_server(run, port)
            started = time.perf_counter() - t0
            views = ["splom", "parcoords"] + (["ternary"] if args.tasks == 3 else [])
            try:
                cold = page_load(port, views)  # first page: the server builds and caches the infos
                loads = [page_load(port, views) for _ in range(args.repeats)]
            finally:
                server.terminate()
                server.wait(timeout=30)
            first = statistics.median(x[0] for x in loads)
            everything = statistics.median(x[1] for x in loads)
            rows.append((n, built, started, cold[0], first, everything))
            print(f"{n} trials: first render {first:.2f}s, all views {everything:.2f}s", flush=True)
    loads = (load_before, os.getloadavg()[0])
    write_section(args.results, _table(rows, args, loads))


def _table(
    rows: list[tuple[int, dict[str, float], float, float, float, float]],
    args: argparse.Namespace,
    loads: tuple[float, float],
) -> str:
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"`python benchmarks/dashboard_load.py --trials {' '.join(map(str, args.trials))} --tasks {args.tasks} "
        f"--repeats {args.repeats}` on {datetime.now(timezone.utc):%Y-%m-%d}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs shared with other developers' jobs (load average {loads[0]:.1f} at the start, "
        f"{loads[1]:.1f} at the end), Python {platform.python_version()}, {chromium} headless.",
        "",
        "Synthetic run with the real Parquet schema; one row per run size. *First render*: page load until the "
        "frontier scatter is drawn; *all views*: until the progress plot is drawn and then the scatter-matrix, parallel-coordinates"
        + (" and ternary" if args.tasks == 3 else "")
        + f" tabs, opened one after the other, are drawn (median of {args.repeats} fresh pages "
        "after a first, cold one). *Cold first render*: the first page after the server started. WebGL runs "
        "in software (SwiftShader, `--disable-gpu`), so a browser with a GPU draws the WebGL views faster. "
        "*Server start*: `serve()` in a subprocess until the page answers (includes reading the run).",
        "",
        "| trials | frontier | load_run (s) | infos (s) | figures (s) | figure JSON (MB) | server start (s) "
        "| cold first render (s) | first render (s) | all views (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, b, started, cold, first, everything in rows:
        lines.append(
            f"| {n:,} | {int(b['frontier']):,} | {b['load_s']:.2f} | {b['infos_s']:.2f} | {b['figures_s']:.2f} "
            f"| {b['json_mb']:.1f} | {started:.2f} | {cold:.2f} | {first:.2f} | {everything:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
