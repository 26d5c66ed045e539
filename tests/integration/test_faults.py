"""Faults of real drivers: SIGKILL mid-sweep then resume, two drivers on one directory, damaged files.

Every driver is ``paretosweep run`` in a process (and process group) of its own with its own local
Ray; its descendants are polled while it runs, so the test can check that none outlives the run
(the processes of a killed driver's Ray included: the next driver ends them when it takes the
stale lease over). The trials sleep through their epochs (``tests.cluster.sleepy_problem``), so
their timing does not depend on how busy the two cores are.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq
import pytest
import yaml

import paretosweep
from paretosweep.results import RunStore
from paretosweep.results._readers import StaleRunFileWarning
from paretosweep.results._schema import META_GENERATION
from paretosweep.results._store import KILL_ENV

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
SLEEPY = "tests.cluster.sleepy_problem:make_sleepy_quadratic"
WEIGHTS = [[0.9, 0.1], [0.7, 0.3], [0.5, 0.5], [0.3, 0.7], [0.1, 0.9], [0.6, 0.4]]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"}}
    env.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    return env


def _spec(tmp_path: Path, *, epoch_seconds: float = 1.0, weights: list[list[float]] | None = None) -> Path:
    spec: dict[str, Any] = {
        "name": "faults",
        "problem": {"name": SLEEPY, "params": {"epoch_seconds": epoch_seconds, "steps_per_epoch": 5}},
        "scalarizer": {"name": "linear"},
        "sampler": {"name": "explicit", "weights": weights or WEIGHTS},
        "budget": {"epochs": 2, "lr": 0.05},
        "concurrency": 2,
        "ray": {"num_cpus": 2},
        "storage": str((tmp_path / "run").resolve()),
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


class Driver:
    """``paretosweep run SPEC ARGS`` in a session of its own; remembers every descendant it had."""

    def __init__(self, spec: Path, *args: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "paretosweep"), "run", str(spec), *args],
                env={**_env(), **(env or {})},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen: dict[int, float] = {}

    def poll_children(self) -> None:
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(child.pid, child.create_time())
        except psutil.Error:
            pass

    def wait_for(self, condition: Callable[[], bool], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.poll_children()
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def finish(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            self.poll_children()
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"driver still running after {timeout} s: {self.output()}")
            time.sleep(0.1)
        return int(self.proc.returncode)

    def kill(self) -> None:
        """SIGKILL the driver process alone (its Ray is left to fend for itself, as after a crash)."""
        self.poll_children()
        with _suppress():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def alive_children(self) -> list[str]:
        alive = []
        for pid, created in self.seen.items():
            try:
                process = psutil.Process(pid)
                if abs(process.create_time() - created) < 0.01 and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{pid} {process.name()}")
            except psutil.Error:
                continue
        return alive

    def cleanup(self) -> None:
        for pid, created in self.seen.items():
            with _suppress():
                process = psutil.Process(pid)
                if abs(process.create_time() - created) < 0.01:
                    process.kill()
        if self.proc.poll() is None:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], (ProcessLookupError, psutil.Error))  # type: ignore[arg-type]


def _records(run: Path) -> list[str]:
    return sorted(p.stem for p in (run / "records").glob("*.json")) if (run / "records").exists() else []


def _rows(run: Path) -> int:
    try:
        return pq.read_metadata(run / "trials.parquet").num_rows
    except (OSError, ValueError):
        return 0


def _gone_within(driver: Driver, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while driver.alive_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    return driver.alive_children()


def test_a_killed_driver_resumes_without_retraining_what_finished_and_leaves_no_process(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    run = tmp_path / "run"
    first = Driver(spec, log=tmp_path / "first.log")
    resumed: Driver | None = None
    try:
        first.wait_for(lambda: len(_records(run)) >= 1)
        first.kill()
        durable = _records(run)
        assert 1 <= len(durable) < len(WEIGHTS)
        finished = {r["trial_id"]: r["finished_at"] for r in RunStore(run, load=False).journal.read()}
        resumed = Driver(spec, "--resume", log=tmp_path / "resumed.log")
        assert resumed.finish() == 0, resumed.output()
        text = " ".join(resumed.output().split())
        assert f"({len(durable)} already done)" in text, text
        trials = paretosweep.load_trials(run)
        assert len(trials) == len(WEIGHTS) and trials.trial_id.is_unique and set(trials.status) == {"completed"}
        by_id = trials.set_index("trial_id")
        for trial_id, at in finished.items():  # the same row: not trained again
            assert abs(by_id.loc[trial_id, "finished_at"].timestamp() - at) < 1e-3
        assert sorted(paretosweep.load_frontier(run).trial_id) == sorted(paretosweep.load_frontier(run, completed_only=True).trial_id)
        assert not (run / ".paretosweep.lease").exists() and not list(run.glob(".*.tmp"))
        # no process of either driver outlives the resumed one: the killed driver's Ray leftovers were ended
        assert _gone_within(resumed, 10) == [], resumed.alive_children()
        assert _gone_within(first, 10) == [], first.alive_children()
    finally:
        first.cleanup()
        if resumed is not None:
            resumed.cleanup()


def test_a_second_driver_on_a_held_directory_is_refused_and_overwrite_deletes_nothing(tmp_path: Path) -> None:
    spec = _spec(tmp_path, epoch_seconds=1.5)
    run = tmp_path / "run"
    first = Driver(spec, log=tmp_path / "first.log")
    try:
        first.wait_for(lambda: (run / "trials.parquet").exists())
        for args in (("--resume",), ("--overwrite",), ()):
            second = subprocess.run(
                [str(BIN / "paretosweep"), "run", str(spec), *args],
                env=_env(),
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=180,
            )
            text = " ".join(second.stderr.split())
            assert second.returncode == 2, second.stdout + second.stderr
            assert f"is in use by another paretosweep driver: pid {first.proc.pid} on host" in text, text
            assert (run / "trials.parquet").exists()
        assert first.finish() == 0, first.output()
        trials = paretosweep.load_trials(run)
        assert len(trials) == len(WEIGHTS) and trials.trial_id.is_unique
    finally:
        first.cleanup()


def test_a_damaged_or_missing_trials_file_is_recovered_by_resume_without_training(tmp_path: Path) -> None:
    spec = _spec(tmp_path, epoch_seconds=0.2, weights=WEIGHTS[:3])
    run = tmp_path / "run"
    first = Driver(spec, log=tmp_path / "first.log")
    try:
        assert first.finish() == 0, first.output()
    finally:
        first.cleanup()
    front = sorted(paretosweep.load_frontier(run).trial_id)
    (run / "trials.parquet").write_bytes(b"not parquet" * 50)
    fix = subprocess.run([str(BIN / "paretosweep"), "frontier", str(run)], env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "--resume` recovers the run" in " ".join(fix.stderr.split()) and "delete it and re-run" not in fix.stderr
    for damage in ("corrupt", "missing"):
        if damage == "missing":
            (run / "trials.parquet").unlink()
        resumed = subprocess.run(
            [str(BIN / "paretosweep"), "run", str(spec), "--resume"], env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        text = " ".join((resumed.stdout + resumed.stderr).split())
        assert resumed.returncode == 0, text
        assert "Recovering" in text and "3 trial(s) recovered (3 from records" in text, text
        assert "(3 already done)" in text, text
        assert len(paretosweep.load_trials(run)) == 3 and sorted(paretosweep.load_frontier(run).trial_id) == front
    assert list(run.glob("trials.parquet.damaged-*"))


def test_a_kill_between_the_trials_and_frontier_renames_is_repaired_by_resume(tmp_path: Path) -> None:
    spec = _spec(tmp_path, epoch_seconds=0.3, weights=WEIGHTS[:4])
    run = tmp_path / "run"
    # generation 1 is the empty run written at creation; 2 is the first batch with trials in it
    first = Driver(spec, log=tmp_path / "first.log", env={KILL_ENV: "2"})
    try:
        assert first.finish() == -signal.SIGKILL, first.output()
    finally:
        first.cleanup()
    trials_gen = int(pq.read_schema(run / "trials.parquet").metadata[META_GENERATION])
    front_gen = int(pq.read_schema(run / "frontier.parquet").metadata[META_GENERATION])
    assert (trials_gen, front_gen) == (2, 1) and _rows(run) >= 1
    with pytest.warns(StaleRunFileWarning):
        assert len(paretosweep.load_frontier(run)) >= 1  # recomputed in memory, not the empty stale file
    resumed = Driver(spec, "--resume", log=tmp_path / "resumed.log")
    try:
        assert resumed.finish() == 0, resumed.output()
    finally:
        resumed.cleanup()
    gens = {int(pq.read_schema(run / n).metadata[META_GENERATION]) for n in ("trials.parquet", "frontier.parquet", "progress.parquet")}
    assert len(gens) == 1 and len(paretosweep.load_trials(run)) == 4
    assert sorted(paretosweep.load_frontier(run).trial_id) == sorted(paretosweep.load_frontier(run, completed_only=True).trial_id)
