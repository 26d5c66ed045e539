"""The Ray Tune function trainable: config → one trial → ``tune.report`` per epoch.

It runs in a Ray worker process. The validated spec arrives through ``tune.with_parameters``;
``param_space`` carries only the trial's ``{trial_id, kind, weights, seed, lr, method}``. The last
report carries the whole row (``paretosweep_row``) that the driver stores — so a trial that
raises inside training still ends with a normal report whose status is ``failed``, after
``spec.max_retries`` more attempts (each from the trial's last checkpoint, or from scratch with
the same seed before the first; the count is ``hparams.attempts``) and with its traceback.
A worker or node that dies is retried by Tune itself (``FailureConfig(max_failures=max_retries)``),
from the last checkpoint Tune stored. Every trial, the built-in problems' included, is a function
trainable ``train(ctx)`` on a :class:`paretosweep.TrialContext`; checkpoints reported with
``ctx.report(..., checkpoint=obj)`` go through Tune's checkpointing (:class:`RayCheckpoints`).
With a ``scheduler``, every epoch's report also carries the row the trial would be stored with if
the scheduler stopped it there (``paretosweep_row_so_far``, status ``stopped``): a trial Tune ends
never reaches its last report, so the driver stores that row instead (:func:`stopped_row`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from ray import tune

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem_cached
from paretosweep.results import CHECKPOINT_FILE
from paretosweep.sweep._warm_start import nearest_payload, warm_payload
from paretosweep.trainables import Trainable, resolve_trainable, trainable_problem
from paretosweep.trial import TrainableError, TrialOutcome, make_context, run_in_context, train_problem

T = TypeVar("T")

ROW_KEY = "paretosweep_row"
#: Row key of a failed trial's full traceback: the recorder writes it to ``logs/<trial_id>.log``, not to Parquet.
TRACEBACK_KEY = "traceback"
#: Result key of a running report (with a scheduler): the JSON row of the trial as if stopped at this epoch.
SO_FAR_KEY = "paretosweep_row_so_far"


def stopped_row(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The row of a trial that Tune ended at ``result`` (its last one), or None if it ended normally or never reported.

    Tune marks the result at which a scheduler stopped a trial with ``done``; such a result is a
    running report (no :data:`ROW_KEY`), and with a scheduler it holds :data:`SO_FAR_KEY`.
    """
    if not result or ROW_KEY in result or SO_FAR_KEY not in result or not result.get("done"):
        return None
    row: dict[str, Any] = json.loads(result[SO_FAR_KEY])
    return row


def _device(gpus: float) -> torch.device:
    """The device Ray assigned: Ray sets CUDA_VISIBLE_DEVICES, so the trial's GPU is ``cuda:0``."""
    if gpus > 0 and torch.cuda.is_available():
        return torch.device("cuda", 0)
    return torch.device("cpu")


def _short_error(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def outcome_row(
    trial: TrialConfig, outcome: TrialOutcome, *, started_at: float, epochs: int, node: str, device: str, hparams: dict[str, Any]
) -> dict[str, Any]:
    """The ``trials.parquet`` row of a finished trial (the storage contract's columns)."""
    return {
        **trial.row_fields(),
        "status": outcome.status,
        "scalarizer": hparams.get("scalarizer") if trial.kind == "scalarization" else None,
        "effective_weights_mean": outcome.effective_weights_mean,
        "effective_weights_final": outcome.effective_weights_final,
        "epochs": epochs,
        "hparams": json.dumps(hparams, sort_keys=True),
        "error": outcome.error,
        "epochs_done": outcome.epochs_done,
        "train_seconds": outcome.train_seconds,
        "started_at": started_at,
        "finished_at": time.time(),
        "node": node,
        "device": device,
        "history": json.dumps(outcome.history),
        **outcome.metrics,
        **outcome.test_metrics,  # test_<column>: the test split, reported only
    }


def trial_hparams(spec: SweepSpec, trial: TrialConfig) -> dict[str, Any]:
    """The hyper-parameters stored with a trial (scalarizer or method settings, optimiser)."""
    common: dict[str, Any] = {
        "optimizer": spec.budget.optimizer,
        "lr": trial.lr,
        "epochs": spec.budget.epochs,
        "steps_per_epoch": spec.budget.steps_per_epoch,
    }
    if spec.warm_start is not None:  # shared: the trial trained the epochs after the shared ones
        common["warm_start"] = spec.warm_start.model_dump(mode="json")
        if spec.warm_start.from_ == "nearest":  # run_trial names the neighbour it started from (None: from scratch)
            common["warm_from"] = None
    if trial.kind == "scalarization":
        return {**common, **spec.scalarizer.model_dump(mode="json"), "scalarizer": spec.scalarizer.name}
    return {**common, "method": trial.method, **trial.method_params}


def pack_id(trials: list[TrialConfig]) -> str:
    """A stable id of a pack: the same members give the same id."""
    import hashlib

    return "p-" + hashlib.sha1(json.dumps(sorted(t.trial_id for t in trials)).encode()).hexdigest()[:10]


def _placement(spec: SweepSpec) -> tuple[torch.device, str, str]:
    """Set this worker's torch threads; the trial's device, node address and device name."""
    import ray

    torch.set_num_threads(max(1, int(spec.resources.cpu)))
    device = _device(spec.resources.gpu)
    gpu_ids = ray.get_gpu_ids()
    device_name = f"cuda:{gpu_ids[0]}" if device.type == "cuda" and gpu_ids else str(device)
    return device, ray.util.get_node_ip_address(), device_name


def _with_retries(spec: SweepSpec, train: Callable[[Any], T], failed: Callable[[str], T]) -> tuple[T, int]:
    """``train(problem)`` up to ``1 + spec.max_retries`` times (each from a fresh model with the same
    seed); a crash of user or problem code is a result, not a sweep failure: ``failed(message)``.
    Returns the result and the number of attempts."""
    attempts = 0
    while True:
        attempts += 1
        try:
            assert spec.problem.name is not None
            problem = make_problem_cached(spec.problem.name, json.dumps(dict(spec.problem.params), sort_keys=True))
            return train(problem), attempts
        except Exception as error:
            if attempts <= spec.max_retries:
                continue
            tried = f" (failed {attempts} attempts)" if attempts > 1 else ""
            return failed(_short_error(error) + tried), attempts


def _report_running(metrics: dict[str, Any]) -> None:
    tune.report({**metrics, "trial_status": "running"})


def run_pack(config: dict[str, Any], spec: SweepSpec) -> None:
    """A packed trial (``config = {"pack": [trial, ...]}``): P weight vectors trained at once.

    The last report carries a JSON *list* of rows under ``ROW_KEY``, one per member, each with
    ``pack_id``, ``pack_size`` and ``pack_seconds`` (the pack's wall time) in its ``hparams``.
    A crash fails every member (after ``spec.max_retries`` retries of the whole pack).
    """
    from paretosweep.trial import train_packed

    trials = [TrialConfig.from_dict(c) for c in config["pack"]]
    started_at = time.time()
    device, node, device_name = _placement(spec)
    outcomes, attempts = _with_retries(
        spec,
        lambda problem: train_packed(problem, trials, spec, device=device, report=_report_running),
        lambda message: [TrialOutcome(status="failed", error=message) for _ in trials],
    )
    seconds = time.time() - started_at
    rows = []
    for trial, outcome in zip(trials, outcomes, strict=True):
        hparams = {
            **trial_hparams(spec, trial),
            "attempts": attempts,
            "pack_id": pack_id(trials),
            "pack_size": len(trials),
            "pack_seconds": seconds,
        }
        hparams.update(outcome.method_hparams)
        rows.append(
            outcome_row(trial, outcome, started_at=started_at, epochs=spec.budget.epochs, node=node, device=device_name, hparams=hparams)
        )
    statuses = {o.status for o in outcomes}
    status = "completed" if statuses == {"completed"} else "failed" if statuses == {"failed"} else "mixed"
    _report_member_checkpoints(trials, outcomes)
    tune.report({"trial_status": status, ROW_KEY: json.dumps(rows), "done_marker": True})


def _report_member_checkpoints(trials: list[TrialConfig], outcomes: list[TrialOutcome]) -> None:
    """Save each trained member's checkpoint as ``<trial_id>.pt`` in one directory handed to Tune."""
    saved = [(t, o.checkpoint) for t, o in zip(trials, outcomes, strict=True) if o.checkpoint is not None]
    if not saved:
        return
    with tempfile.TemporaryDirectory(prefix="paretosweep-ckpt-") as folder:
        for trial, checkpoint in saved:
            torch.save(checkpoint, Path(folder) / f"{trial.trial_id}.pt")
        tune.report({"trial_status": "running"}, checkpoint=tune.Checkpoint.from_directory(folder))


class RayCheckpoints:
    """``ctx.report``'s sink in a Ray worker: ``tune.report``, a checkpoint saved with ``torch.save``
    into a fresh directory handed to Tune (which copies it to the run's storage, local or a pyarrow
    URI, and keeps the newest). The last checkpoint's bytes stay here too, for a retry in this worker.
    ``so_far`` (set with a scheduler): the trial's row as if stopped now, sent with every report."""

    def __init__(self) -> None:
        self.last: bytes | None = None
        self.so_far: Callable[[], dict[str, Any]] | None = None

    def __call__(self, metrics: dict[str, float], checkpoint: Any) -> None:
        sent: dict[str, Any] = {**metrics, "trial_status": "running"}
        if self.so_far is not None:
            sent[SO_FAR_KEY] = json.dumps(self.so_far())
        if checkpoint is None:
            tune.report(sent)
            return
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        self.last = buffer.getvalue()
        with tempfile.TemporaryDirectory(prefix="paretosweep-ckpt-") as folder:
            (Path(folder) / CHECKPOINT_FILE).write_bytes(self.last)
            tune.report(sent, checkpoint=tune.Checkpoint.from_directory(folder))

    def restored(self) -> dict[str, Any] | None:
        """The checkpoint to continue from: this worker's last one (an in-process retry), else the one
        Tune restored the trial with (a worker or node that died, a resumed sweep), else None."""
        if self.last is not None:
            return load_payload(io.BytesIO(self.last))
        given = tune.get_checkpoint()
        if given is None:
            return None
        with given.as_directory() as folder:
            path = Path(folder) / CHECKPOINT_FILE
            return load_payload(path) if path.exists() else None


def load_payload(source: Any) -> dict[str, Any]:
    """A saved checkpoint (``torch.load`` of what ``ctx.report`` wrapped); any object the trainable saved."""
    loaded: dict[str, Any] = torch.load(source, map_location="cpu", weights_only=False)
    return loaded


def _trainable_for(spec: SweepSpec, trainable: Trainable | None) -> tuple[Trainable, Callable[[], Any], str]:
    """The function a trial runs, what describes its tasks, and its name for messages."""
    if spec.problem.name is not None:
        name = spec.problem.name
        return train_problem, lambda: make_problem_cached(name, json.dumps(dict(spec.problem.params), sort_keys=True)), name
    assert spec.problem.trainable is not None
    function = trainable if trainable is not None else resolve_trainable(spec.problem.trainable)
    return function, lambda: trainable_problem(spec), spec.problem.trainable


def _run_one(
    spec: SweepSpec,
    trial: TrialConfig,
    trainable: Trainable | None,
    device: torch.device,
    so_far: Callable[[TrialOutcome, int], dict[str, Any]] | None = None,
    warm: str | None = None,
    nearest: str | None = None,
) -> tuple[TrialOutcome, int]:
    """Run one trial's trainable, retrying a crash up to ``spec.max_retries`` times from its last checkpoint.

    A misuse of the context (:class:`TrainableError`) is not retried: the same code would fail the same way.
    ``so_far(outcome, attempts)``: the row of the trial stopped with ``outcome`` (sent with each report).
    ``warm``: the shared warm start's checkpoint, where a trial with none of its own starts;
    ``nearest``: the checkpoint of the neighbour a nearest warm start starts from (it trains ``warm_start.epochs``).
    """
    sink = RayCheckpoints()
    attempts, spent = 0, 0.0
    while True:
        attempts += 1
        started = time.perf_counter()
        try:
            function, describe, name = _trainable_for(spec, trainable)
            restored = sink.restored()
            if restored is None and warm is not None:
                restored = warm_payload(warm)
            elif restored is None and nearest is not None and spec.warm_start is not None:
                restored = nearest_payload(nearest, epochs=spec.warm_start.epochs, budget_epochs=spec.budget.epochs)
            ctx = make_context(trial, spec, describe(), device=device, sink=sink, name=name, restored=restored)
            if so_far is not None:
                sink.so_far = _stopped_here(ctx, so_far, attempts, spent, started)
            outcome = run_in_context(function, ctx, name=name)
            outcome.train_seconds += spent
            return outcome, attempts
        except Exception as error:
            spent += time.perf_counter() - started
            if attempts <= spec.max_retries and not isinstance(error, TrainableError):
                continue
            tried = f" (failed {attempts} attempts)" if attempts > 1 else ""
            outcome = TrialOutcome(status="failed", error=_short_error(error) + tried, traceback=traceback.format_exc())
            outcome.train_seconds = spent
            return outcome, attempts


def _stopped_here(
    ctx: Any, row_of: Callable[[TrialOutcome, int], dict[str, Any]], attempts: int, spent: float, started: float
) -> Callable[[], dict[str, Any]]:
    """The row of the trial if it stopped after the report being sent: its outcome so far, status ``stopped``."""

    def row() -> dict[str, Any]:
        mean, final = ctx.effective_weights()
        outcome = dataclasses.replace(
            ctx.outcome,
            status="stopped",
            effective_weights_mean=mean,
            effective_weights_final=final,
            train_seconds=spent + time.perf_counter() - started,
            history=list(ctx.outcome.history),
            metrics=dict(ctx.outcome.metrics),
            test_metrics=dict(ctx.outcome.test_metrics),
        )
        return row_of(outcome, attempts)

    return row


def run_trial(config: dict[str, Any], spec: SweepSpec, train_fn: Trainable | None = None, warm: str | None = None) -> None:
    """Ray Tune entry point (wrapped with ``tune.with_parameters(run_trial, spec=spec, train_fn=..., warm=...)``).

    ``config`` is ``{"trial": {...}}`` (one trial, one row), with ``"warm": {"trial_id", "location",
    "distance"}`` for a trial that starts from its nearest neighbour's checkpoint, or ``{"pack": [{...}, ...]}``
    (a packed trial, see :func:`run_pack`). ``train_fn`` is a function passed in Python
    (``paretosweep.run(spec, trainable=train)``); else the spec names it or the problem.
    """
    if "pack" in config:
        run_pack(config, spec)
        return
    trial = TrialConfig.from_dict(config["trial"])
    started_at = time.time()
    device, node, device_name = _placement(spec)
    hparams = trial_hparams(spec, trial)
    start = config.get("warm")
    if start is not None:
        hparams["warm_from"] = {"trial_id": start["trial_id"], "distance": start["distance"]}

    def so_far(outcome: TrialOutcome, attempts: int) -> dict[str, Any]:
        known = {**hparams, "attempts": attempts, **outcome.method_hparams}
        return outcome_row(trial, outcome, started_at=started_at, epochs=spec.budget.epochs, node=node, device=device_name, hparams=known)

    nearest = start["location"] if start is not None else None
    outcome, attempts = _run_one(spec, trial, train_fn, device, so_far if spec.scheduler is not None else None, warm=warm, nearest=nearest)
    hparams["attempts"] = attempts
    hparams.update(outcome.method_hparams)  # every option of the method, defaults included
    row = outcome_row(trial, outcome, started_at=started_at, epochs=spec.budget.epochs, node=node, device=device_name, hparams=hparams)
    if outcome.traceback:
        row[TRACEBACK_KEY] = outcome.traceback
    tune.report({"trial_status": outcome.status, ROW_KEY: json.dumps(row), "done_marker": True})
