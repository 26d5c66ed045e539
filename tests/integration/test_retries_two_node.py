"""A worker node killed mid-sweep on the two-node loopback cluster: the retried trial's row names the node lost.

Uses the cluster of ``tests/cluster/test_two_node.py`` (head 127.0.0.2, worker 127.0.0.3, stopped by
handle), with the driver as ``paretosweep run --address`` in a process of its own.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

import paretosweep
from tests.cluster.test_two_node import HEAD_IP, WORKER_IP, Cluster, cluster, driver, sleepy, write_spec

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
__all__ = ["cluster"]  # the module-scoped fixture, imported


def test_the_trial_of_a_killed_worker_node_records_its_attempts_and_the_lost_node(cluster: Cluster, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    spec = write_spec(tmp_path / "sleepy.yaml", **sleepy(run_dir, epoch_seconds=4.0, max_retries=2))
    cluster.wait_idle()
    log = tmp_path / "driver.log"
    proc = driver(spec, cluster.gcs, log=log)
    try:
        deadline = time.monotonic() + 120
        while not cluster.trial_running_on(WORKER_IP):
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{cluster.describe()}\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        time.sleep(0.5)
        cluster.kill("worker")
        assert proc.wait(timeout=240) == 0, log.read_text()[-3000:]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    text = " ".join(log.read_text().split())
    assert f"lost its worker on node {WORKER_IP}" in text, text[-3000:]
    trials = paretosweep.load_trials(run_dir)
    assert len(trials) == 8 and set(trials.status) == {"completed"}
    hparams = [json.loads(h) for h in trials.hparams]
    retried = [h for h in hparams if h.get("lost_nodes")]
    assert retried and all(h["lost_nodes"] == [WORKER_IP] and h["attempts"] == 2 for h in retried)
    assert all(h["attempts"] == 1 for h in hparams if not h.get("lost_nodes"))
    assert set(trials.node[[bool(h.get("lost_nodes")) for h in hparams]]) == {HEAD_IP}
