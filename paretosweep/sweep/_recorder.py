"""A Ray Tune callback, in the driver process, that is the only writer of a run's Parquet.

Every finished trial — completed, diverged, failed inside the trainable, lost with its worker, or
stopped at a rung by the scheduler (the row its last report carried, with its newest checkpoint) —
becomes exactly one row, ingested idempotently by trial id; a packed trial's rows arrive in one
result and are ingested together. Files are rewritten in batches, and once more at the end. A
rewrite costs time that grows with the run (the whole ``trials.parquet`` is written again, the
frontier's contributions recomputed), and it runs in the driver, on the cores the trials train
on; so a batch is written when ``flush_every`` rows wait *and* at least ``pace`` times the last
rewrite's duration has passed since it (the rewrites then take at most about ``1 / (pace + 1)``
of the driver's time however long the sweep), or when rows have waited ``flush_seconds``. Tune's
loop checks this between results too (``on_step_end``), so held-back rows do not wait for the next result.

Each row is durable the moment it arrives: ``RunStore.record`` writes it to the run's ``records/``
(one fsync'd file per trial) before ingesting it, so a driver killed between two batches loses no
finished trial; the batches compact the records into trials.parquet.

A trial whose worker or node died is retried by Ray Tune (``FailureConfig.max_failures``); each
such retry is logged with the node lost, and the trial's row counts it: ``hparams.attempts`` is
the attempts of the last worker plus one per lost worker, ``hparams.lost_nodes`` lists the node
(IP) of each lost worker.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ray.tune import Callback

from paretosweep.planning import TrialConfig
from paretosweep.results import RunStore, relative_checkpoint, write_trial_log
from paretosweep.sweep._trainable import ROW_KEY, TRACEBACK_KEY, stopped_row

logger = logging.getLogger(__name__)


@dataclass
class SweepStatus:
    """What the progress display shows."""

    planned: int
    done: int = 0
    failed: int = 0  # failed, diverged or lost
    stopped: int = 0  # stopped early by the scheduler (counted in ``done`` too)
    hypervolume: float | None = None
    frontier_size: int = 0
    hypervolume_method: str | None = None  # "exact", or "monte_carlo" (then see hypervolume_stderr)
    hypervolume_stderr: float | None = None
    hv_ratio: float | None = None  # only when the problem knows its exact front
    reference_point: tuple[float, ...] | None = None  # fixed once per run (None until the first completed batch)
    reference_rule: str | None = None
    clipped: int = 0  # completed points beyond the reference point (they add no hypervolume)


class SweepRecorder(Callback):
    """Stores every trial's final row and keeps the frontier and progress files current."""

    def __init__(
        self,
        store: RunStore,
        status: SweepStatus,
        *,
        on_progress: Callable[[SweepStatus], None] | None = None,
        flush_every: int = 8,
        flush_seconds: float = 5.0,
        pace: float = 20.0,
        max_retries: int | None = None,
    ) -> None:
        self.store = store
        self.status = status
        self.on_progress = on_progress
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self.pace = pace
        self.flushes = 0
        self._unflushed = 0
        self._last_flush = time.monotonic()
        self._last_flush_cost = 0.0
        self._recorded: set[str] = set()
        self.max_retries = max_retries
        self._nodes: dict[str, str] = {}  # Tune trial id -> node IP of its latest report
        self._lost: dict[str, list[dict[str, str]]] = {}  # Tune trial id -> {"node", "error"} per lost worker

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its callbacks into ``tuner.pkl``; a live progress display cannot be."""
        return {**self.__dict__, "on_progress": None}

    def _record(self, rows: list[dict[str, Any]]) -> None:
        """Ingest the rows not recorded yet (one result's: a trial's row, or a pack's), then maybe rewrite the files."""
        fresh = {row["trial_id"]: row for row in rows if row["trial_id"] not in self._recorded}
        if not fresh:
            return
        self._recorded.update(fresh)
        added = self.store.record(fresh.values())
        self.status.done += len(fresh)
        self.status.failed += sum(row["status"] not in ("completed", "stopped") for row in fresh.values())
        self.status.stopped += sum(row["status"] == "stopped" for row in fresh.values())
        self._unflushed += added
        if not self._flush_if_due() and self.on_progress is not None:
            self.on_progress(self.status)

    def _flush_if_due(self) -> bool:
        """Rewrite the files if a batch is due (see the module docstring); whether it did."""
        since = time.monotonic() - self._last_flush
        due = self._unflushed >= self.flush_every and since >= self.pace * self._last_flush_cost
        if self._unflushed and (due or since > self.flush_seconds):
            self.flush()
            return True
        return False

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        """Tune's loop, between results: rows held back by the pacing are written once due, not at the next result."""
        self._flush_if_due()

    def flush(self) -> None:
        """Rewrite trials/frontier Parquet and append a progress row."""
        started = time.monotonic()
        if self._unflushed:
            summary = self.store.write()
            summary = summary if isinstance(summary, dict) else {}
            self.status.hypervolume = summary.get("hypervolume")
            self.status.frontier_size = int(summary.get("frontier_size", 0))
            self.status.hypervolume_method = summary.get("hypervolume_method")
            self.status.hypervolume_stderr = summary.get("hypervolume_stderr")
            self.status.hv_ratio = summary.get("hv_ratio")
            self.status.clipped = int(summary.get("clipped") or 0)
            self.status.reference_point = self.store.reference_point
            self.status.reference_rule = self.store.reference_rule
            self.flushes += 1
        self._unflushed = 0
        self._last_flush = time.monotonic()
        self._last_flush_cost = self._last_flush - started
        if self.on_progress is not None:
            self.on_progress(self.status)

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any) -> None:
        """The trainable's last report carries the whole row (a list of rows for a packed trial)."""
        node = result.get("node_ip")
        if node:
            self._nodes[_tune_id(trial)] = str(node)
        if ROW_KEY in result:
            rows = json.loads(result[ROW_KEY])
            rows = rows if isinstance(rows, list) else [rows]
            self._count_lost(trial, rows)
            # Tune has stored this trial's checkpoints before its last report: `trial.checkpoint` is the newest
            checkpoint = getattr(trial, "checkpoint", None)
            fs, root = self.store.location
            for row in rows:
                row.setdefault("checkpoint", relative_checkpoint(checkpoint.path) if checkpoint is not None else None)
                log = row.pop(TRACEBACK_KEY, None)
                if log and row["trial_id"] not in self._recorded:
                    write_trial_log(fs, root, row["trial_id"], log)
            self._record(rows)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        """A trial the scheduler stopped: the row of its last report (status ``stopped``) and its newest checkpoint.

        Tune calls this once the checkpoint of that report is stored; a trial that ended normally
        was recorded from its last report already (``on_trial_result``).
        """
        config = trial.config.get("trial") if isinstance(trial.config, dict) else None
        row = stopped_row(getattr(trial, "last_result", None))
        if config is None or row is None or config["trial_id"] in self._recorded:
            return
        checkpoint = getattr(trial, "checkpoint", None)
        row["checkpoint"] = relative_checkpoint(checkpoint.path) if checkpoint is not None else None
        self._count_lost(trial, [row])
        self._record([row])

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        """Tune retries a trial whose worker or node died: log it, and remember the node for the trial's row."""
        location = getattr(getattr(trial, "temporary_state", None), "location", None)
        node = self._nodes.get(_tune_id(trial)) or _error_node(trial) or getattr(location, "hostname", None) or "unknown node"
        error = _error_line(trial)
        lost = self._lost.setdefault(_tune_id(trial), [])
        lost.append({"node": str(node), "error": error})
        of = f" of {self.max_retries}" if self.max_retries is not None else ""
        logger.warning(
            "Trial %s lost its worker on node %s (%s); Ray Tune retries it from its last checkpoint (retry %d%s).",
            _trial_name(trial),
            node,
            error,
            len(lost),
            of,
        )

    def _count_lost(self, trial: Any, rows: list[dict[str, Any]]) -> None:
        """Add the workers this trial lost to each row's ``hparams``: ``attempts`` and ``lost_nodes``."""
        lost = self._lost.get(_tune_id(trial))
        if not lost:
            return
        for row in rows:
            hparams = row.get("hparams")
            parsed = json.loads(hparams) if isinstance(hparams, str) else dict(hparams or {})
            parsed["attempts"] = int(parsed.get("attempts") or 1) + len(lost)
            parsed["lost_nodes"] = [entry["node"] for entry in lost]
            row["hparams"] = json.dumps(parsed)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        """A trial whose worker died (or whose trainable escaped our handler) is recorded as failed."""
        members = trial.config["pack"] if "pack" in trial.config else [trial.config["trial"]]
        error = trial.get_pickled_error() or trial.get_error()
        message = (
            f"{type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}"
            if error
            else "trial failed in Ray"
        )
        now = time.time()
        rows = [self._lost_row(TrialConfig.from_dict(member), message, now, trial) for member in members]
        lost = self._lost.get(_tune_id(trial), [])
        node = self._nodes.get(_tune_id(trial))
        for row in rows:  # the worker lost last (this failure) counts too
            row["hparams"] = json.dumps({"attempts": len(lost) + 1, "lost_nodes": [e["node"] for e in lost] + ([node] if node else [])})
        logger.warning("Trial %s failed in Ray after %d attempt(s): %s", _trial_name(trial), len(lost) + 1, message)
        self._record(rows)

    @staticmethod
    def _lost_row(config: TrialConfig, message: str, now: float, trial: Any) -> dict[str, Any]:
        return {
            **config.row_fields(),
            "status": "failed",
            "error": message,
            "started_at": now,
            "finished_at": now,
            "node": getattr(getattr(trial, "temporary_state", None), "location", None) and str(trial.temporary_state.location.hostname),
            "checkpoint": relative_checkpoint(trial.checkpoint.path) if getattr(trial, "checkpoint", None) is not None else None,
        }

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        """Final write."""
        self._unflushed = max(self._unflushed, 1)
        self.flush()


def _tune_id(trial: Any) -> str:
    """Tune's id of a trial ("" for a stand-in without one)."""
    return str(getattr(trial, "trial_id", ""))


def _trial_name(trial: Any) -> str:
    config = trial.config if isinstance(getattr(trial, "config", None), dict) else {}
    if "pack" in config:
        return "pack " + ", ".join(str(m["trial_id"]) for m in config["pack"])
    return str(config.get("trial", {}).get("trial_id", _tune_id(trial)))


def _error_text(trial: Any) -> str:
    """The trial's latest error: Tune's local error file first (written at the failure; the copy in
    the run's storage comes later), else the stored one."""
    try:
        path = trial.error_file
        if path:
            with open(path, encoding="utf-8", errors="replace") as handle:
                latest = handle.read().rsplit("Failure # ", 1)[-1]
            return latest.split("\n", 1)[1] if "\n" in latest else latest
    except (OSError, AttributeError):
        pass
    for getter in ("get_pickled_error", "get_error"):
        try:
            error = getattr(trial, getter)()
        except Exception:
            error = None
        if error:
            return f"{type(error).__name__}: {error}"
    return ""


def _error_line(trial: Any) -> str:
    """The first line of the trial's error (Ray's own, e.g. ``ActorDiedError: The actor died ...``)."""
    text = _error_text(trial).strip()
    return text.splitlines()[0] if text else "worker died"


def _error_node(trial: Any) -> str | None:
    """The node IP that Ray's error names (``ip: 10.0.0.7``), if it names one."""
    match = re.search(r"\bip: ([0-9a-fA-F.:]+)", _error_text(trial))
    return match.group(1) if match else None
