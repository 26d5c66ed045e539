"""A trial whose worker dies is retried by Ray Tune, and its row says so: attempts and the node lost.

On the session's single-node local Ray (the two-node loopback cluster of ``tests/cluster`` would
take minutes more here): the test SIGKILLs the worker process of a running trial, which Ray
reports exactly as a lost node's actor (``RayActorError``), and Tune retries the trial
(``max_retries: 1``) from its last checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import paretosweep

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]


def _kill_first_worker(pid_dir: Path, killed: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        pids = sorted(pid_dir.glob("*")) if pid_dir.exists() else []
        if pids:
            pid = int(pids[0].name)
            stop.wait(0.3)  # mid-epoch (its evaluation sleeps 1 s)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.05)


def test_a_killed_worker_is_retried_and_recorded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pid_dir = tmp_path / "pids"
    spec = {
        "name": "retries",
        "problem": {"name": "tests.integration.worker_pid_problem:make_pid_quadratic", "params": {"pid_dir": str(pid_dir)}},
        "scalarizer": {"name": "linear"},
        "sampler": {"name": "explicit", "weights": [[0.5, 0.5]]},
        "budget": {"epochs": 3, "lr": 0.05},
        "concurrency": 1,
        "max_retries": 1,
        "storage": str(tmp_path / "run"),
    }
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_first_worker, args=(pid_dir, killed, stop), daemon=True)
    killer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="paretosweep.sweep._recorder"):
            summary = paretosweep.run(spec)
    finally:
        stop.set()
        killer.join(timeout=5)
    assert killed, "no worker was seen"
    trials = paretosweep.load_trials(tmp_path / "run")
    assert summary.completed == 1 and len(trials) == 1 and trials.status.iloc[0] == "completed"
    hparams = json.loads(trials.hparams.iloc[0])
    assert hparams["attempts"] == 2
    assert hparams["lost_nodes"] == [trials.node.iloc[0]]  # one node here: the trial finished where it was lost
    assert "lost its worker on node" in caplog.text and "retry 1 of 1" in caplog.text
