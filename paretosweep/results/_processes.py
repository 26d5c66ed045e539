"""The processes a driver started (a local Ray's raylet, GCS, agents, workers): listed, and ended.

A driver killed with SIGKILL cannot stop its local Ray; most of Ray's processes notice and exit,
but some (Ray's dashboard and runtime-env agents) outlive it as orphans. The run's lease records
the driver's descendants at each heartbeat, so the next driver of the run ends the ones still
alive when it takes the stale lease over (same host only); a driver that exits normally ends
whatever it started that outlived its Ray's shutdown.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

logger = logging.getLogger(__name__)

#: (pid, create_time) of a process: the pair names one process even if the pid is reused later.
ProcessKey = tuple[int, float]


def descendants(pid: int | None = None) -> list[ProcessKey]:
    """Every live descendant of ``pid`` (default: this process), as (pid, create time)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ray
        return []
    try:
        children = psutil.Process(os.getpid() if pid is None else pid).children(recursive=True)
    except psutil.Error:
        return []
    keys = []
    for child in children:
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                keys.append((child.pid, child.create_time()))
        except psutil.Error:
            continue
    return keys


def end_processes(keys: Sequence[ProcessKey], *, grace: float = 3.0) -> list[str]:
    """SIGTERM the processes of ``keys`` that are still alive (same pid *and* create time), SIGKILL
    those left after ``grace`` seconds; returns a description of each one ended."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return []
    alive = []
    for pid, created in keys:
        try:
            process = psutil.Process(int(pid))
            if abs(process.create_time() - float(created)) < 0.01 and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            continue
    ended = []
    for process in alive:
        try:
            ended.append(f"{process.pid} ({process.name()})")
            process.terminate()
        except psutil.Error:
            continue
    _, left = psutil.wait_procs(alive, timeout=grace)
    for process in left:
        try:
            process.kill()
        except psutil.Error:
            continue
    if left:
        psutil.wait_procs(left, timeout=grace)
    return ended


def end_leftovers(before: Sequence[ProcessKey], *, wait: float = 5.0) -> list[str]:
    """End this process's descendants that were not alive in ``before`` and outlive ``wait`` seconds."""
    known = set(before)
    deadline = time.monotonic() + wait
    new = [k for k in descendants() if k not in known]
    while new and time.monotonic() < deadline:
        time.sleep(0.2)
        new = [k for k in descendants() if k not in known]
    ended = end_processes(new)
    if ended:
        logger.warning("Ended %d process(es) the sweep started that outlived its Ray: %s.", len(ended), ", ".join(ended))
    return ended
