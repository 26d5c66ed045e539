"""The shared warm start (``warm_start: {from: shared, epochs: E}``): one model trained for ``E``
epochs at equal weights before the sweep, every trial continuing from its checkpoint.

The shared model is trained once, as a Ray task with the trial resources, through the same
trainable and :class:`~paretosweep.TrialContext` as the trials (the spec's scalarizer at
``w = (1/m, ..., 1/m)``). Its checkpoint goes to ``warm_start/checkpoint.pt`` in the run
directory and what it cost to ``warm_start/info.json`` (``epochs``, ``train_seconds``, its
last metrics); a resumed run reuses both. A
trial then starts as a resumed one: ``ctx.checkpoint`` is the shared model's checkpoint, its
history holds the shared epochs, and it trains the ``budget.epochs - E`` epochs left (its
``train_seconds`` count those only: the shared compute is counted once, in ``info.json``).
Continuation from a common solution follows Ma, Du & Matusik (ICML 2020), "Efficient continuous
Pareto exploration in multi-task learning", with the common start at the centre of the simplex.

The nearest warm start (``warm_start: {from: nearest, epochs: E}``, with ``sampler: adaptive``) is
their continuation proper: a weight vector the adaptive sampler proposes from results (not its
initial design, not a re-test) starts from the checkpoint of the completed trial nearest to it in
weight space, by the L1 distance ``d(w, v) = sum_i |w_i - v_i|`` (twice the total variation
between the two weightings; among the trials with the same seed and learning rate when there are
any, the earliest completed on a tie). :class:`~paretosweep.sweep.SamplerSearcher` picks the
neighbour when it hands the trial to Tune and puts ``{"trial_id", "location", "distance"}`` into
the trial's config (``config["warm"]``); a trial with no completed neighbour yet trains from
scratch for the full ``budget.epochs``. The trial starts as a resumed one
(:func:`nearest_payload`): ``ctx.checkpoint`` is the neighbour's checkpoint (the built-in loop's
``model``, ``optimizer`` and ``generator`` states) with its ``epoch`` set to ``budget.epochs - E - 1``,
so a loop that resumes after its checkpoint's epoch trains exactly ``E`` epochs; its own counts
start at zero, so its ``epochs_done`` and ``history`` are the ``E`` epochs it trained (its
compute). Each row's ``hparams.warm_from`` says where it started: ``{"trial_id", "distance"}`` of
the neighbour, null for a trial trained from scratch (bookkeeping: the seeds of a weight vector
stay one configuration wherever each started).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow.fs as pafs
import torch

from paretosweep.config import SweepSpec
from paretosweep.errors import ParetoSweepError
from paretosweep.planning import TrialConfig
from paretosweep.results import CHECKPOINT_FILE
from paretosweep.results._fs import join, resolve
from paretosweep.trainables import Trainable

#: The run directory's folder of the shared warm start.
WARM_DIR = "warm_start"
INFO_FILE = "info.json"
#: The trial id of the shared training (in its messages and its context; it is no row of trials.parquet).
WARM_TRIAL_ID = "warm-shared"


def shared_checkpoint(spec: SweepSpec, trainable: Trainable | None) -> str:
    """Train the shared model (or find it, in a resumed run); returns its checkpoint's location.

    Raises:
        ParetoSweepError: the shared training failed, or reported no checkpoint to start from.
    """
    import ray

    assert spec.warm_start is not None
    fs, root = resolve(spec.run_dir)
    folder = join(fs, root, WARM_DIR)
    path, info = join(fs, folder, CHECKPOINT_FILE), join(fs, folder, INFO_FILE)
    if fs.get_file_info(path).type == pafs.FileType.File and fs.get_file_info(info).type == pafs.FileType.File:
        return _location(spec.run_dir, path)
    task = ray.remote(_train_shared).options(num_cpus=spec.resources.cpu, num_gpus=spec.resources.gpu)
    payload, summary = ray.get(task.remote(spec, trainable))
    if payload is None:
        raise ParetoSweepError(
            f"The shared warm start (`warm_start: {{from: shared, epochs: {spec.warm_start.epochs}}}`, equal weights) "
            f"failed: {summary['error']}. No trial ran; fix the trainable or drop `warm_start`."
        )
    fs.create_dir(folder, recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(payload)
    with fs.open_output_stream(info) as out:
        out.write(json.dumps(summary, indent=2, sort_keys=True).encode())
    return _location(spec.run_dir, path)


def read_info(run_dir: str) -> dict[str, Any] | None:
    """``warm_start/info.json`` of a run (the shared training's cost), or None without a shared warm start."""
    fs, root = resolve(run_dir)
    info = join(fs, join(fs, root, WARM_DIR), INFO_FILE)
    if fs.get_file_info(info).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(info) as stream:
        loaded: dict[str, Any] = json.loads(bytes(stream.read()).decode())
    return loaded


def warm_payload(location: str) -> dict[str, Any]:
    """The saved context payload a trial starts from: the shared model's checkpoint and its epochs,
    with the counts of the trial's own steps (effective weights) starting from zero."""
    fs, path = resolve(location)
    with fs.open_input_stream(path) as stream:
        saved = torch.load(io.BytesIO(stream.read()), map_location="cpu", weights_only=False)
    state = saved["context"]
    return {
        "trainable": saved["trainable"],
        "context": {
            "epochs_done": state["epochs_done"],
            "history": state["history"],
            "metrics": state["metrics"],
            "weight_sum": None,
            "final": None,
            "steps": 0,
        },
    }


@dataclass(frozen=True)
class Neighbour:
    """A completed trial a nearest warm start may start from: its weights and checkpoint file."""

    trial_id: str
    weights: tuple[float, ...]
    seed: int
    lr: float
    location: str


def l1_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """``sum_i |a_i - b_i|``: the distance in weight space that picks the nearest neighbour."""
    return float(np.abs(np.subtract(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))).sum())


def nearest_neighbours(weights: Sequence[float], seed: int, lr: float, candidates: Sequence[Neighbour]) -> list[tuple[Neighbour, float]]:
    """The candidates with their L1 distance to ``weights``, nearest first (the trials with ``seed`` and
    ``lr`` only, when there are any; ties keep the candidates' order, the earliest completed first)."""
    same = [c for c in candidates if c.seed == seed and c.lr == lr] or list(candidates)
    ranked = [(c, l1_distance(weights, c.weights)) for c in same]
    return sorted(ranked, key=lambda pair: pair[1])


def exists(location: str) -> bool:
    """Whether the checkpoint file ``location`` (a local path or a URI) is there."""
    fs, path = resolve(location)
    return bool(fs.get_file_info(path).type == pafs.FileType.File)


def nearest_payload(location: str, *, epochs: int, budget_epochs: int) -> dict[str, Any]:
    """The saved context payload a nearest-warm-started trial starts from: the neighbour's checkpoint
    object, its ``epoch`` (when it is a dict with one, as the built-in loop's) set to
    ``budget_epochs - epochs - 1`` so that the loop trains ``epochs`` more, and the trial's own
    counts (epochs, history, metrics, effective weights) at zero."""
    fs, path = resolve(location)
    with fs.open_input_stream(path) as stream:
        saved = torch.load(io.BytesIO(stream.read()), map_location="cpu", weights_only=False)
    start = saved["trainable"]
    if isinstance(start, Mapping) and "epoch" in start:
        start = {**start, "epoch": budget_epochs - epochs - 1}
    return {
        "trainable": start,
        "context": {"epochs_done": 0, "history": [], "metrics": {}, "weight_sum": None, "final": None, "steps": 0},
    }


def _location(run_dir: str, path: str) -> str:
    """``path`` inside the run's filesystem, named so that :func:`resolve` finds it again (a URI for a URI run)."""
    if "://" not in run_dir:
        return path
    return f"{run_dir.split('://', 1)[0]}://{path}"


def _train_shared(spec: SweepSpec, trainable: Trainable | None) -> tuple[bytes | None, dict[str, Any]]:
    """In a Ray worker: train the equal-weight model for ``warm_start.epochs``; its last checkpoint (None
    when it failed) and its cost (or ``{"error": ...}``)."""
    from paretosweep.sweep._trainable import _placement, _trainable_for
    from paretosweep.trial import make_context, run_in_context

    assert spec.warm_start is not None
    epochs = spec.warm_start.epochs
    shared_spec = spec.model_copy(update={"budget": spec.budget.model_copy(update={"epochs": epochs})})
    function, describe, name = _trainable_for(shared_spec, trainable)
    described = describe()
    m = len(described.tasks)
    trial = TrialConfig(WARM_TRIAL_ID, "scalarization", tuple([1.0 / m] * m), spec.seed, spec.budget.lr[0])
    last: list[Any] = []

    def keep_last(metrics: dict[str, float], checkpoint: Any) -> None:
        if checkpoint is not None:
            last[:] = [checkpoint]

    device, node, _ = _placement(spec)
    started = time.perf_counter()
    ctx = make_context(trial, shared_spec, described, device=device, sink=keep_last, name=name)
    outcome = run_in_context(function, ctx, name=name)
    if outcome.status != "completed" or not last:
        why = outcome.error or "it reported no checkpoint (`ctx.report(metrics, checkpoint=obj)`)"
        return None, {"error": f"{outcome.status}, {why}"}
    buffer = io.BytesIO()
    torch.save(last[0], buffer)
    summary = {
        "from": "shared",
        "epochs": outcome.epochs_done,
        "weights": list(trial.weights or ()),
        "train_seconds": time.perf_counter() - started,
        "metrics": outcome.metrics,
        "node": node,
    }
    return buffer.getvalue(), summary
