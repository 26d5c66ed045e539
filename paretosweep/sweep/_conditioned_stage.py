"""The conditioned stage of ``sampler: conditioned``: one weight-conditioned training before the sweep,
its proposals, and the verification trials that continue from it.

Like the shared warm start (:mod:`paretosweep.sweep._warm_start`), the conditioned model is trained
once, as a Ray task with the trial resources, through a :class:`~paretosweep.TrialContext` (here a
:class:`~paretosweep.trial._conditioned.ConditionedContext`, which draws ``w ~ Dirichlet(alpha)``
per batch) for ``budget.epochs`` epochs, then evaluated on ``sampler.dense`` weight vectors. The run
directory's ``conditioned/`` folder then holds

* ``checkpoint.pt`` — the conditioned model (FiLM parameters included), in the built-in loop's format;
* ``proposals.parquet`` — one row of kind ``conditioned`` per dense weight vector (validation and
  test metrics), see :mod:`paretosweep.results._proposals`;
* ``info.json`` — its cost (``epochs``, ``sample_epochs``: training samples drawn, ``train_seconds``,
  ``eval_seconds``), the ``verify`` weight vectors chosen with their proposed values, and, after
  the sweep, each one's verified values and ``gap`` (verified minus proposed, per column).

The ``sampler.verify`` weight vectors are chosen by greedy hypervolume subset selection on the
proposals (:func:`paretosweep.sampling._conditioned.spread_weights`, validation metrics, the run's
reference point) and run as ordinary scalarization trials. With ``verify_from: conditioned`` each
continues from the conditioned checkpoint pinned at its own ``w`` for ``verify_epochs`` epochs (a
resumed trial, as with the warm start: its ``train_seconds`` count its own epochs; the conditioned
compute is counted once, in ``info.json``); with ``verify_from: scratch`` it trains a fresh model
for ``verify_epochs`` epochs. A resumed run reuses the stage's files.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow.fs as pafs
import torch

from paretosweep.config import SweepSpec
from paretosweep.errors import ParetoSweepError
from paretosweep.frontier import auto_reference_point
from paretosweep.planning import Plan, TrialConfig
from paretosweep.results import RunStore, read_stage_info, stage_file, write_proposals, write_stage_info
from paretosweep.sampling._conditioned import dense_design, spread_weights
from paretosweep.sampling._factory import verify_epochs
from paretosweep.trainables import Trainable

#: The conditioned training's trial id (its messages and context; no row of trials.parquet).
CONDITIONED_TRIAL_ID = "conditioned-stage"
STAGE_CHECKPOINT = "checkpoint.pt"
#: ``problem.name`` of a verification trial of a Problem-protocol spec (the problem, conditioned and pinned).
WRAPPER = "paretosweep.trial._conditioned:conditioned_problem"


@dataclass(frozen=True)
class Stage:
    """What the sweep's trials need from the stage: the spec they train under, where they start, their Tune entry."""

    trial_spec: SweepSpec
    warm: str | None
    entry: Callable[..., None]


def conditioned_stage(spec: SweepSpec, plan: Plan, store: RunStore, trainable: Trainable | None) -> Stage:
    """Train the conditioned model (or find it, in a resumed run), store its proposals, choose the weights to verify.

    Raises:
        ParetoSweepError: the conditioned training failed or reported no checkpoint.
    """
    import ray

    fs, checkpoint = stage_file(spec.run_dir, STAGE_CHECKPOINT)
    info = read_stage_info(spec.run_dir)
    if info is None or fs.get_file_info(checkpoint).type != pafs.FileType.File:
        m = len(plan.task_names)
        dense = dense_design(m, spec.sampler.dense, floor=spec.sampler.floor, seed=spec.seed)
        task = ray.remote(_train_conditioned).options(num_cpus=spec.resources.cpu, num_gpus=spec.resources.gpu)
        payload, proposals, info = ray.get(task.remote(spec, trainable, dense))
        if payload is None:
            raise ParetoSweepError(
                f"The conditioned training (`sampler: conditioned`) failed: {info['error']}. No verification trial ran; "
                "fix the trainable or choose another `sampler`."
            )
        write_proposals(spec.run_dir, _meta(store), _proposal_rows(spec, plan, proposals, info))
        fs.create_dir(checkpoint.rsplit("/", 1)[0], recursive=True)
        with fs.open_output_stream(checkpoint) as out:
            out.write(payload)
        info["verify"] = _choose(spec, plan, store, proposals)
        write_stage_info(spec.run_dir, info)
    return Stage(*_trial_setup(spec, _location(spec.run_dir, checkpoint)), run_verification_trial)


def _meta(store: RunStore) -> Any:
    from paretosweep.results import RunMeta

    return RunMeta(
        objectives=store.objectives,
        tasks=store.tasks,
        metric_columns=store.metric_columns,
        reference_point=store.reference_point,
        spec=store.spec,
        reference_rule=store.reference_rule,
        splits=store.splits,
    )


def _proposal_rows(spec: SweepSpec, plan: Plan, proposals: Sequence[Mapping[str, Any]], info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``proposals.parquet``: one per dense weight vector, the trials columns that apply."""
    s = spec.sampler
    hparams = json.dumps(
        {"alpha": s.alpha, "per_sample": s.per_sample, "cosmos": s.cosmos, "scalarizer": spec.scalarizer.name, "lr": spec.budget.lr[0]},
        sort_keys=True,
    )
    columns = set(plan.metric_columns)
    return [
        {
            "trial_id": f"c-{i:04d}",
            "status": "completed",
            "scalarizer": spec.scalarizer.name,
            "weights": list(p["weights"]),
            "seed": spec.seed,
            "lr": spec.budget.lr[0],
            "epochs": spec.budget.epochs,
            "epochs_done": info.get("epochs"),
            "hparams": hparams,
            "finished_at": info.get("finished_at"),
            "node": info.get("node"),
            **{k: v for k, v in p.items() if k in columns},
        }
        for i, p in enumerate(proposals)
    ]


def _choose(spec: SweepSpec, plan: Plan, store: RunStore, proposals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``sampler.verify`` weight vectors spread along the proposed front, with their proposed values."""
    columns = [o.column for o in plan.objectives]
    directions = [o.direction for o in plan.objectives]
    weights = np.asarray([p["weights"] for p in proposals], dtype=np.float64)
    values = np.asarray([[float(p.get(c, math.nan)) for c in columns] for p in proposals], dtype=np.float64)
    finite = np.isfinite(values).all(axis=1)
    reference = store.reference_point
    if reference is None:
        reference = tuple(auto_reference_point(values[finite], directions)) if finite.any() else tuple([0.0] * len(columns))
    picked = spread_weights(weights, values, spec.sampler.verify, directions=directions, reference_point=reference)
    report = [*plan.metric_columns]
    return [
        {
            "weights": [float(x) for x in weights[i]],
            "proposal_id": f"c-{int(i):04d}",
            "proposed": {c: float(proposals[int(i)][c]) for c in report if c in proposals[int(i)]},
        }
        for i in picked
    ]


def _trial_setup(spec: SweepSpec, checkpoint: str) -> tuple[SweepSpec, str | None]:
    """The spec the verification trials train under and the checkpoint they start from (None: from scratch)."""
    s, budget = spec.sampler, spec.budget
    epochs = verify_epochs(spec)
    if s.verify_from == "scratch":
        return spec.model_copy(update={"budget": budget.model_copy(update={"epochs": epochs})}), None
    longer = budget.model_copy(update={"epochs": budget.epochs + epochs})
    if spec.problem.name is None:  # a function trainable: it conditions its model with ctx.sample_weights itself
        return spec.model_copy(update={"budget": longer}), checkpoint
    wrapped = spec.problem.model_copy(
        update={
            "name": WRAPPER,
            "params": {"problem": spec.problem.name, "params": dict(spec.problem.params), "placement": spec.sampler.film},
        }
    )
    return spec.model_copy(update={"budget": longer, "problem": wrapped}), checkpoint


def _location(run_dir: str, path: str) -> str:
    return path if "://" not in run_dir else f"{run_dir.split('://', 1)[0]}://{path}"


def run_verification_trial(config: dict[str, Any], spec: SweepSpec, train_fn: Trainable | None = None, warm: str | None = None) -> None:
    """Ray Tune entry of a verification trial: :func:`~paretosweep.sweep._trainable.run_trial`, its start pinned at its ``w``.

    For a Problem-protocol spec the conditioned checkpoint is copied with the conditioner's
    ``fixed`` buffer set to the trial's weights (a per-trial file, deleted afterwards); a function
    trainable gets the checkpoint as it is (``ctx.sample_weights`` returns the trial's weights).
    """
    from paretosweep.results._fs import resolve
    from paretosweep.sweep._trainable import run_trial
    from paretosweep.trial._conditioned import CONDITION_MODULE

    weights = config.get("trial", {}).get("weights")
    if warm is None or spec.problem.name != WRAPPER or weights is None:
        run_trial(config, spec, train_fn, warm)
        return
    fs, path = resolve(warm)
    with fs.open_input_stream(path) as stream:
        saved = torch.load(io.BytesIO(stream.read()), map_location="cpu", weights_only=False)
    saved["trainable"]["model"][f"{CONDITION_MODULE}.fixed"] = torch.tensor(weights, dtype=torch.float32)
    handle, pinned = tempfile.mkstemp(prefix="paretosweep-pinned-", suffix=".pt")
    os.close(handle)
    try:
        torch.save(saved, pinned)
        run_trial(config, spec, train_fn, pinned)
    finally:
        os.unlink(pinned)


def _train_conditioned(
    spec: SweepSpec, trainable: Trainable | None, dense: np.ndarray
) -> tuple[bytes | None, list[dict[str, Any]], dict[str, Any]]:
    """In a Ray worker: the conditioned training and its proposals; its checkpoint (None when it failed),
    the proposals and its cost (or ``{"error": ...}``)."""
    from paretosweep.sweep._trainable import _placement, _trainable_for
    from paretosweep.trial import run_in_context
    from paretosweep.trial._conditioned import ConditionedProblem, conditioned_context, train_conditioned

    function, describe, name = _trainable_for(spec, trainable)
    described = describe()
    if spec.problem.name is not None:
        described, function = ConditionedProblem(described, placement=spec.sampler.film), train_conditioned
    m = len(described.tasks)
    trial = TrialConfig(CONDITIONED_TRIAL_ID, "scalarization", tuple([1.0 / m] * m), spec.seed, spec.budget.lr[0])
    last: list[Any] = []

    def keep_last(metrics: dict[str, float], checkpoint: Any) -> None:
        if checkpoint is not None:
            last[:] = [checkpoint]

    device, node, _ = _placement(spec)
    started = time.perf_counter()
    ctx = conditioned_context(trial, spec, described, device=device, sink=keep_last, name=name, dense_weights=dense)
    try:
        outcome = run_in_context(function, ctx, name=name)
    except Exception as error:  # a crash of the trainable is reported, not raised in the driver
        return None, [], {"error": f"{type(error).__name__}: {error}"}
    if outcome.status != "completed" or not last:
        why = outcome.error or "it reported no checkpoint (`ctx.report(metrics, checkpoint=obj)`)"
        return None, [], {"error": f"{outcome.status}, {why}"}
    if not ctx.proposals:
        return (
            None,
            [],
            {"error": "no proposals: a function trainable should end with ctx.evaluate_proposals(evaluate) when ctx.conditioned"},
        )
    total = time.perf_counter() - started
    buffer = io.BytesIO()
    torch.save(last[0], buffer)
    s = spec.sampler
    summary = {
        "sampler": "conditioned",
        "epochs": outcome.epochs_done,
        # training samples drawn over all epochs; unknown (None) unless every draw was ctx.sample_weights(batch_size)
        "sample_epochs": ctx.samples_trained if ctx.samples_counted else None,
        "train_seconds": outcome.train_seconds,
        "total_seconds": total,
        "alpha": s.alpha,
        "per_sample": s.per_sample,
        "cosmos": s.cosmos,
        "film": s.film,
        "dense": len(ctx.proposals),
        "verify_from": s.verify_from,
        "verify_epochs": verify_epochs(spec),
        "metrics": outcome.metrics,
        "node": node,
        "finished_at": time.time(),
    }
    return buffer.getvalue(), ctx.proposals, summary


def record_gaps(spec: SweepSpec, store: RunStore) -> list[dict[str, Any]] | None:
    """After the sweep: each verified weight vector's measured values (mean over its completed trials) and its gap.

    ``gap[c] = verified[c] - proposed[c]`` per metric column (validation and test); written back to
    ``conditioned/info.json`` and returned (None without a stage).
    """
    info = read_stage_info(spec.run_dir)
    if info is None or "verify" not in info:
        return None
    trials = store.read_trials()
    done = trials[(trials["kind"] == "scalarization") & (trials["status"] == "completed")] if len(trials) else trials
    for entry in info["verify"]:
        w = np.asarray(entry["weights"], dtype=np.float64)
        rows = [
            r
            for _, r in done.iterrows()
            if r["weights"] is not None and np.allclose(np.asarray(r["weights"], dtype=np.float64), w, atol=1e-9)
        ]
        verified = {c: float(np.mean([float(r[c]) for r in rows])) for c in entry["proposed"] if rows and c in done.columns}
        entry["trial_ids"] = [str(r["trial_id"]) for r in rows]
        entry["verified"] = verified
        entry["gap"] = {c: verified[c] - float(entry["proposed"][c]) for c in verified}
    write_stage_info(spec.run_dir, info)
    return list(info["verify"])
