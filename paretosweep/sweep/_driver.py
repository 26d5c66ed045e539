"""run_sweep: plan → run directory → Ray (local or remote) → Ray Tune → Parquet."""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretosweep.config import SweepSpec
from paretosweep.errors import RunDirectoryError
from paretosweep.planning import Plan, build_plan
from paretosweep.preflight import preflight, prepare_run_dir
from paretosweep.results import RunStore, retain_checkpoints
from paretosweep.sampling import make_sampler
from paretosweep.sweep._ray import concurrency, ray_for
from paretosweep.sweep._recorder import SweepRecorder, SweepStatus
from paretosweep.sweep._warm_start import shared_checkpoint
from paretosweep.trainables import Trainable, resolve_trainable

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# every epoch of a trial checkpoints and Tune keeps one per trial: its "excessive snapshot" warning would fire constantly
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


@dataclass(frozen=True)
class SweepSummary:
    """Where a finished sweep left its results, and what it found."""

    run_dir: str
    planned: int
    ran: int
    skipped: int
    completed: int
    failed: int
    frontier_size: int
    hypervolume: float | None
    wall_seconds: float
    reference_point: tuple[float, ...] | None = None
    reference_rule: str | None = None
    clipped: int = 0
    #: ``trial_id: error`` of the first trial (by finish time) that failed or diverged, if any
    first_error: str | None = None
    #: trials the scheduler stopped early (status ``stopped``; not counted in ``failed``)
    stopped: int = 0
    #: what the user should know about the scheduler's run (e.g. a trainable that reported once), else None
    scheduler_note: str | None = None


def open_store(plan: Plan, run_dir: str, *, resume: bool) -> RunStore:
    """The run's store: reopened with its rows when resuming, else created.

    Raises:
        RunDirectoryError: resuming a run whose files lack some of the plan's metric columns
            (e.g. written before its problem had a test split: no ``test_*`` columns).
    """
    store = RunStore(run_dir)
    if resume and store.exists():
        store.open()
        missing = [c for c in plan.metric_columns if c not in store.metric_columns]
        if missing:
            raise RunDirectoryError(
                f"Cannot resume `{run_dir}`: its trials.parquet has no columns {missing}, which this problem reports "
                "now (a run written before its problem had a test split has no `test_*` columns). Start over with "
                "--overwrite (or a new `storage`), or resume with the paretosweep version that wrote the run."
            )
        return store
    store.create(
        objectives=plan.objectives,
        tasks=plan.task_names,
        metric_columns=plan.metric_columns,
        reference_point=plan.reference_point,
        reference_rule=plan.reference_rule,
        spec=plan.spec.model_dump(mode="json"),
        splits=plan.splits,
    )
    return store


#: Points of the problem's exact front kept in the run for ``igd_plus`` / ``hv_ratio``.
EXACT_FRONT_POINTS = 2000


def attach_exact_front(store: RunStore, spec: SweepSpec, *, n_points: int = EXACT_FRONT_POINTS) -> bool:
    """Hand the store the problem's exact front, when it has one for the run's objectives.

    The store keeps it in ``exact_front.parquet``; returns whether a front was attached.
    """
    from paretosweep.problems import canonical_params_json, make_problem_cached

    if spec.problem.name is None:
        return False  # a function trainable: no problem object that could know its front
    problem = make_problem_cached(spec.problem.name, canonical_params_json(spec.problem.params))
    exact_front = getattr(problem, "exact_front", None)
    if exact_front is None:
        return False
    front = exact_front(n_points)
    if dict(zip(front.columns, front.directions, strict=True)) != {o.column: o.direction for o in store.objectives}:
        return False  # the spec optimises other metrics than the ones the exact front describes
    store.set_exact_front(
        front.points,
        columns=front.columns,
        directions=front.directions,
        hypervolume=front.hypervolume,
        reference_point=front.reference_point,
    )
    return True


def run_sweep(
    spec: SweepSpec,
    *,
    resume: bool = False,
    overwrite: bool = False,
    on_progress: Callable[[SweepStatus], None] | None = None,
    plan: Plan | None = None,
    trainable: Trainable | None = None,
    verbose: bool = False,
) -> SweepSummary:
    """Run the sweep's trials not already stored, and keep the frontier in the run directory.

    Args:
        spec: a validated spec (see :func:`paretosweep.load_config`).
        resume: continue an existing run directory, skipping trials it already holds.
        overwrite: delete an existing run directory first.
        on_progress: called with a :class:`SweepStatus` as trials finish.
        plan: a plan already built from ``spec`` (else built here).
        trainable: the function ``train(ctx)`` of a spec with ``problem.trainable`` passed in Python
            (else imported from ``problem.trainable`` here, before Ray starts).
        verbose: stream the trials' output (prints, logging) to this process's console.
    """
    import ray

    started = time.monotonic()
    plan = plan or build_plan(spec)
    if trainable is None and spec.problem.trainable is not None:
        trainable = resolve_trainable(spec.problem.trainable)  # an import that fails is refused before Ray starts
    # What can refuse the sweep runs before Ray starts and before the run directory is touched.
    preflight(spec, resume=resume, overwrite=overwrite, keep=False, local_machine=not ray.is_initialized())
    with ray_for(spec, log_to_driver=verbose):
        prepare_run_dir(spec.run_dir, resume=resume, overwrite=overwrite)
        store = open_store(plan, spec.run_dir, resume=resume)
        attach_exact_front(store, spec)
        done = store.trial_ids()
        status = SweepStatus(planned=plan.max_trials, done=len(done))
        recorder = SweepRecorder(store, status, on_progress=on_progress)
        try:
            if any(t.trial_id not in done for t in plan.trials) or plan.max_trials > len(plan.trials):
                warm = shared_checkpoint(spec, trainable) if spec.warm_start is not None else None
                tuner(spec, plan, store, recorder, trainable=trainable, warm=warm).fit()
        finally:
            recorder.flush()
        retain_checkpoints(store, spec.checkpoints.keep)
    trials = store.read_trials()
    completed = int((trials["status"] == "completed").sum()) if len(trials) else 0
    stopped = int((trials["status"] == "stopped").sum()) if len(trials) else 0
    note = scheduler_note(spec, trials)
    return SweepSummary(
        run_dir=spec.run_dir,
        planned=plan.max_trials,
        ran=len(trials) - len(done),
        skipped=len(done),
        completed=completed,
        failed=len(trials) - completed - stopped,
        frontier_size=status.frontier_size,
        hypervolume=status.hypervolume,
        wall_seconds=time.monotonic() - started,
        reference_point=store.reference_point,
        reference_rule=store.reference_rule,
        clipped=status.clipped,
        first_error=first_error(trials),
        stopped=stopped,
        scheduler_note=note,
    )


def scheduler_note(spec: SweepSpec, trials: pd.DataFrame) -> str | None:
    """The scheduler's warning for this run's rows (logged too), e.g. trials that reported fewer epochs than it assumes."""
    if spec.scheduler is None or not len(trials):
        return None
    from paretosweep.sweep._pareto_asha import report_count_note, rung_epochs

    s = spec.scheduler
    rungs = rung_epochs(s.grace_epochs, s.reduction_factor, spec.budget.epochs)
    note = report_count_note(trials.to_dict("records"), epochs=spec.budget.epochs, rungs=rungs)
    if note is not None:
        logger.warning(note)
    return note


def tuner(
    spec: SweepSpec, plan: Plan, store: RunStore, recorder: SweepRecorder, *, trainable: Trainable | None = None, warm: str | None = None
) -> Any:
    """The Ray Tune ``Tuner`` of the sweep, its results going to ``recorder`` (and the spec's tracking callbacks);
    ``warm``: the shared warm start's checkpoint, where every trial starts."""
    from ray import tune

    from paretosweep.sweep._callbacks import tracking_callbacks
    from paretosweep.sweep._pareto_asha import scheduler_for
    from paretosweep.sweep._trainable import run_trial

    rows = store.read_trials().to_dict("records") if len(store) else []
    search_alg, num_samples = searcher_for(spec, plan, rows, study_dir=spec.run_dir)
    objectives = [(o.column, o.direction) for o in plan.objectives]
    storage = spec.run_dir if "://" in spec.run_dir else str(Path(spec.run_dir).resolve())
    return tune.Tuner(
        tune.with_resources(
            tune.with_parameters(run_trial, spec=spec, train_fn=trainable, warm=warm),
            {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
        ),
        tune_config=tune.TuneConfig(
            search_alg=search_alg,
            scheduler=scheduler_for(spec.scheduler, objectives, max_epochs=spec.budget.epochs, stored=rows),
            num_samples=num_samples,
            max_concurrent_trials=concurrency(spec),
            reuse_actors=True,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}",
            storage_path=f"{storage.rstrip('/')}/_tune",
            callbacks=[recorder, *tracking_callbacks(spec)],
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),  # a trial's newest checkpoint, for retries and the run
            failure_config=tune.FailureConfig(max_failures=spec.max_retries, fail_fast=False),
            verbose=0,
        ),
    )


def trial_dirname(trial: Any) -> str:
    """A trial's directory under ``_tune/<experiment>/``: its trial id (a packed trial's: its pack id)."""
    config = trial.config
    if "pack" in config:
        from paretosweep.planning import TrialConfig
        from paretosweep.sweep._trainable import pack_id

        return pack_id([TrialConfig.from_dict(c) for c in config["pack"]])
    return str(config["trial"]["trial_id"])


def searcher_for(
    spec: SweepSpec, plan: Plan, stored_rows: Sequence[Mapping[str, Any]] = (), *, study_dir: str | None = None
) -> tuple[Any, int]:
    """The sweep's Tune searcher and ``num_samples`` (an upper bound; the searcher ends the sweep).

    The spec's sampler behind a :class:`~paretosweep.sweep.SamplerSearcher` (comparison methods
    first, stored trials told instead of run), packed per ``budget.pack_size``.
    """
    from paretosweep.sweep._packing_searcher import packing_search
    from paretosweep.sweep._sampler_searcher import SamplerSearcher, WeightTrials

    objectives = [(o.column, o.direction) for o in plan.objectives]
    stored = {str(row["trial_id"]): _plain(row) for row in stored_rows}
    sampler = make_sampler(
        spec,
        objectives,
        metric_columns=plan.metric_columns,
        study_dir=study_dir,
        stored=[r for r in stored.values() if r.get("kind") == "scalarization"],
    )
    methods = [t for t in plan.trials if t.kind == "method"]
    searcher = SamplerSearcher(sampler, WeightTrials(spec), objectives, first=methods, stored=stored)
    return packing_search(spec, searcher, plan.max_trials)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row with NaN floats as None (as a trainable reports them)."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def first_error(trials: pd.DataFrame) -> str | None:
    """``trial_id: error`` of the first trial, by finish time, that failed or diverged (None if none did; stopped ones are fine)."""
    if not len(trials) or "status" not in trials:
        return None
    bad = trials[~trials["status"].isin(("completed", "stopped"))]
    if not len(bad):
        return None
    if "finished_at" in bad:
        bad = bad.sort_values("finished_at", kind="stable", na_position="last")
    row = bad.iloc[0]
    error = row.get("error")
    message = str(error) if isinstance(error, str) and error else f"status {row['status']}, no error message recorded"
    return f"{row['trial_id']}: {message}"
