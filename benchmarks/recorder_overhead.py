"""What durable per-trial records cost the driver, against the recorder's pacing budget.

``python benchmarks/recorder_overhead.py [--rates 20 5] [--seconds 20] [--dir PATH]``

Feeds finished-trial rows to a real :class:`paretosweep.sweep._recorder.SweepRecorder` over a real
:class:`paretosweep.results.RunStore` on disk, at a fixed arrival rate (rows per second, each one
the final row of a 2-task trial with a 5-epoch history), for ``--seconds`` of wall time, as Ray
Tune's loop would: the recorder's work for each row is timed, and the process sleeps until the
next arrival. Two arms per rate: ``records`` (the recorder as shipped: each row written to
``records/`` and fsync'd, then ingested) and ``no records`` (the journal's write switched off,
the recorder before durable records). The pacing (``pace=20``) keeps rewrites of the Parquet files
to about ``1 / (pace + 1)`` ≈ 4.8 % of the driver's time; the table says how much the records add.

Columns: ``records ms`` (mean time the driver's loop spends handing one row to the journal: it
is encoded and queued; the journal's thread writes it: tmp file, fsync, rename, directory fsync),
``drain ms`` (how long the journal's thread still needed, after the last row, until every record
was on disk: the durability lag at the end), ``rewrites %`` and ``records %`` (share of wall time spent in Parquet rewrites and in
records), ``recorder %`` (all the recorder's work: ingest, records, rewrites), ``flushes``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paretosweep.results import Objective, RunStore
from paretosweep.results._journal import TrialJournal
from paretosweep.sweep._recorder import SweepRecorder, SweepStatus

OBJECTIVES = (Objective("a", "a_loss", "min"), Objective("b", "b_loss", "min"))


def _row(i: int) -> dict[str, Any]:
    w = (i % 97 + 1) / 98
    now = time.time()
    history = [{"epoch": e, "a_loss": w / (e + 1), "b_loss": (1 - w) / (e + 1)} for e in range(5)]
    return {
        "trial_id": f"s-{i:06d}",
        "status": "completed",
        "kind": "scalarization",
        "scalarizer": "linear",
        "weights": [w, 1 - w],
        "seed": 0,
        "lr": 0.01,
        "epochs": 5,
        "hparams": json.dumps({"optimizer": "adam", "attempts": 1}),
        "epochs_done": 5,
        "train_seconds": 1.0,
        "started_at": now - 1.0,
        "finished_at": now,
        "node": "127.0.0.1",
        "device": "cpu",
        "history": json.dumps(history),
        "a_loss": w**2,
        "b_loss": (1 - w) ** 2,
    }


class _Timed(TrialJournal):
    """The journal, timing each append (or skipping the write for the ``no records`` arm)."""

    def __init__(self, inner: TrialJournal, *, write: bool) -> None:
        self.__dict__.update(inner.__dict__)
        self.write = write
        self.seconds = 0.0
        self.count = 0

    def append(self, rows: Any, *, wait: bool = False) -> int:
        rows = list(rows)
        started = time.perf_counter()
        n = super().append(rows, wait=wait) if self.write else len(rows)
        self.seconds += time.perf_counter() - started
        self.count += n
        return n


def run_arm(directory: Path, rate: float, seconds: float, *, records: bool) -> dict[str, float]:
    shutil.rmtree(directory, ignore_errors=True)
    store = RunStore(directory).create(objectives=OBJECTIVES, tasks=("a", "b"), metric_columns=("a_loss", "b_loss"))
    journal = _Timed(store.journal, write=records)
    store.journal = journal
    recorder = SweepRecorder(store, SweepStatus(planned=10**9))
    flush_time = 0.0
    original_flush = recorder.flush

    def timed_flush() -> None:
        nonlocal flush_time
        started = time.perf_counter()
        original_flush()
        flush_time += time.perf_counter() - started

    recorder.flush = timed_flush  # type: ignore[method-assign]
    busy = 0.0
    n = int(rate * seconds)
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        began = time.perf_counter()
        recorder._record([_row(i)])
        recorder.on_step_end(i, [])
        busy += time.perf_counter() - began
    wall = time.perf_counter() - start
    drained = time.perf_counter()
    journal.close()  # what the writer thread still had queued at the end
    lag = time.perf_counter() - drained
    return {
        "rows": n,
        "records_ms": 1000 * journal.seconds / max(1, journal.count) if records else 0.0,
        "rewrites_pct": 100 * flush_time / wall,
        "records_pct": 100 * journal.seconds / wall if records else 0.0,
        "recorder_pct": 100 * busy / wall,
        "flushes": recorder.flushes,
        "lag_ms": 1000 * lag,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 5.0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--dir", type=Path, default=None, help="where the run directories go (default: a temporary one)")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="recorder-bench-"))
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}; run dir {base}")
    print("| rows/s | arm | rows | records ms | drain ms | rewrites % | records % | recorder % | flushes |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for rate in args.rates:
        for records in (True, False):
            result = run_arm(base / f"run-{rate:g}-{int(records)}", rate, args.seconds, records=records)
            arm = "records" if records else "no records"
            print(
                f"| {rate:g} | {arm} | {result['rows']:.0f} | {result['records_ms']:.2f} | {result['lag_ms']:.1f} | "
                f"{result['rewrites_pct']:.2f} | "
                f"{result['records_pct']:.2f} | {result['recorder_pct']:.2f} | {result['flushes']:.0f} |",
                flush=True,
            )
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
