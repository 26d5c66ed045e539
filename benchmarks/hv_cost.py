"""What hypervolume costs with many objectives: exact (moocore) against the Monte Carlo estimate.

``python benchmarks/hv_cost.py [--timeout S] [--tasks 3 5 8 16] [--points 50 200 1000]``

Prints a markdown table, one row per (m, n): the seconds one exact ``moocore.hypervolume`` call
takes for ``n`` points uniform on the positive unit sphere in ``m`` objectives (all mutually
non-dominated: a worst case), reference point 1.1; the seconds and relative standard error of
:func:`paretosweep.frontier.hypervolume_monte_carlo` with its default draws on the same points;
and which one :func:`paretosweep.frontier.hypervolume_auto` picks (the rule in
``paretosweep/frontier/_hv_estimate.py`` was read off these numbers). Each exact call runs in a
child process killed after ``--timeout`` seconds, since moocore's C code cannot be interrupted;
once a size times out, larger ``n`` for that ``m`` are not tried.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paretosweep.frontier._hv_estimate import hypervolume_method, hypervolume_monte_carlo

_CHILD = """
import sys, time, numpy as np, moocore
m, n = int(sys.argv[1]), int(sys.argv[2])
x = np.abs(np.random.default_rng(0).standard_normal((n, m)))
x /= np.linalg.norm(x, axis=1, keepdims=True)
t = time.perf_counter(); moocore.hypervolume(x, ref=np.full(m, 1.1)); print(time.perf_counter() - t)
"""


def sphere_points(n_objectives: int, n_points: int) -> np.ndarray:
    """``[n, m]`` points uniform on the positive unit sphere (the child process draws the same)."""
    x = np.abs(np.random.default_rng(0).standard_normal((n_points, n_objectives)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_seconds(n_objectives: int, n_points: int, *, timeout: float) -> float | None:
    """Seconds one exact call takes (``None`` if it ran past ``timeout``)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(n_objectives), str(n_points)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout.strip())


def estimate_row(n_objectives: int, n_points: int) -> tuple[float, float]:
    """Seconds and relative standard error of the Monte Carlo estimate on the same points."""
    points = sphere_points(n_objectives, n_points)
    start = time.perf_counter()
    est = hypervolume_monte_carlo(points, reference_point=[1.1] * n_objectives, directions=["min"] * n_objectives)
    return time.perf_counter() - start, est.stderr / est.value


def main(argv: list[str] | None = None) -> None:
    """Print the cost table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--tasks", type=int, nargs="+", default=[3, 5, 8, 16])
    parser.add_argument("--points", type=int, nargs="+", default=[50, 200, 1000])
    args = parser.parse_args(argv)
    print(f"{platform.platform()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}\n")
    print("| m | n | exact (s) | estimate (s) | estimate rel. stderr | rule picks |")
    print("|---:|---:|---:|---:|---:|---|")
    for m in args.tasks:
        timed_out = False
        for n in sorted(args.points):
            exact = None if timed_out else exact_seconds(m, n, timeout=args.timeout)
            timed_out = exact is None
            shown = f"> {args.timeout:g}" if exact is None else f"{exact:.4f}"
            seconds, rel = estimate_row(m, n)
            print(f"| {m} | {n} | {shown} | {seconds:.3f} | {rel:.2%} | {hypervolume_method(n, m)} |", flush=True)


if __name__ == "__main__":
    main()
