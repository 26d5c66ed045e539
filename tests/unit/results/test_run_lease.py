"""The run directory's lease: one holder, refused second drivers, stale leases taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from paretosweep.results._lock import LEASE_FILE, RunLease, RunLockedError

_HOLD = """
import sys, time
from paretosweep.results._lock import RunLease
lease = RunLease(sys.argv[1], heartbeat=0.2)
lease.acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_lease_in_the_same_process_is_refused_and_release_frees_it(tmp_path: Path) -> None:
    first = RunLease(str(tmp_path / "run"))
    first.acquire()
    lease = json.loads((tmp_path / "run" / LEASE_FILE).read_text())
    assert lease["pid"] == os.getpid() and lease["host"]
    with pytest.raises(RunLockedError, match=rf"in use by another paretosweep driver: pid {os.getpid()} on host"):
        RunLease(str(tmp_path / "run")).acquire()
    with pytest.raises(RunLockedError):
        RunLease(str(tmp_path / "run")).check()
    first.release()
    assert not (tmp_path / "run").exists()  # it created the directory, which stayed empty
    with RunLease(str(tmp_path / "run")):
        pass


def test_a_live_driver_in_another_process_is_named_and_a_killed_one_is_taken_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run = tmp_path / "run"
    proc = _holder(run)
    try:
        with pytest.raises(RunLockedError, match=rf"pid {proc.pid} on host .*kill {proc.pid}.*--resume"):
            RunLease(str(run)).acquire()
        time.sleep(0.5)
        beat = json.loads((run / LEASE_FILE).read_text())["heartbeat_at"]
        assert time.time() - beat < 1.0  # the heartbeat thread keeps it fresh
    finally:
        proc.kill()
        proc.wait()
    (run / "trials.parquet").write_bytes(b"x")  # a run is there: the lease file must stay for the message
    lease = RunLease(str(run))
    with caplog.at_level("WARNING"):
        stale = lease.acquire()
    try:
        assert stale is not None and stale.pid == proc.pid
        assert f"from a driver that is gone (pid {proc.pid}" in caplog.text
    finally:
        lease.release()
    assert (run / "trials.parquet").exists() and not (run / LEASE_FILE).exists()


def test_check_removes_a_lone_stale_lease(tmp_path: Path) -> None:
    run = tmp_path / "run"
    proc = _holder(run)
    proc.kill()
    proc.wait()
    assert sorted(os.listdir(run)) == [LEASE_FILE]
    stale = RunLease(str(run)).check()
    assert stale is not None and stale.pid == proc.pid and os.listdir(run) == []


def test_a_non_local_lease_expires_and_is_renewed() -> None:
    fs = pafs._MockFileSystem()
    lease = RunLease("bucket/run", filesystem=fs, ttl=0.6, heartbeat=0.1)
    lease.acquire()
    try:
        with pytest.raises(RunLockedError, match="expires"):
            RunLease("bucket/run", filesystem=fs, ttl=0.6).acquire()
        time.sleep(1.0)  # renewed by the heartbeat: still held
        with pytest.raises(RunLockedError):
            RunLease("bucket/run", filesystem=fs, ttl=0.6).check()
    finally:
        lease.release()
    assert fs.get_file_info(f"bucket/run/{LEASE_FILE}").type == pafs.FileType.NotFound
    # a lease whose holder stopped renewing expires and is taken over
    gone = RunLease("bucket/run", filesystem=fs, ttl=0.3, heartbeat=100)
    gone.acquire()
    gone._stop.set()
    time.sleep(0.5)
    other = RunLease("bucket/run", filesystem=fs, ttl=5)
    assert other.acquire() is not None
    gone.renew()
    assert gone.lost  # it sees the takeover at its next heartbeat
    other.release()
