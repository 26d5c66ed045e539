"""run_sweep: plan → run directory (its lease taken) → Ray (local or remote) → Ray Tune → Parquet.

One driver holds a run directory at a time (``paretosweep.results._lock``): the lease is checked
before anything else and taken before Ray starts, so a second driver — a plain run, ``--resume`` or
``--overwrite`` — is refused while the first one lives, and ``--overwrite`` clears the directory
only under the lease. A resume ingests the finished trials that only ``records/`` holds, rewrites a
frontier or progress file left behind by a crash, and recovers a run whose trials.parquet is
damaged or missing (``RunStore.recover``; it says what it recovered and from where). A Ray this
driver started is shut down with it, and any process it started that outlives that is ended.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.fs as pafs

from paretosweep._redact import redact
from paretosweep.config import SweepSpec
from paretosweep.errors import ResultSchemaError, RunDirectoryError
from paretosweep.planning import Plan, build_plan
from paretosweep.preflight import preflight, prepare_run_dir
from paretosweep.results import FRONTIER_FILE, RunStore, resolve, retain_checkpoints
from paretosweep.results._journal import RECORDS_DIR
from paretosweep.results._lock import RunLease
from paretosweep.results._meta import RunMeta
from paretosweep.results._processes import descendants, end_leftovers
from paretosweep.results._recovery import TUNE_DIR
from paretosweep.sampling import make_sampler
from paretosweep.sweep._conditioned_stage import Stage, conditioned_stage, record_gaps
from paretosweep.sweep._credentials import move_storage_credentials
from paretosweep.sweep._ray import concurrency, ray_for
from paretosweep.sweep._recorder import SweepRecorder, SweepStatus
from paretosweep.sweep._trainable import ROW_KEY
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


@contextlib.contextmanager
def ends_leftovers(enabled: bool) -> Iterator[None]:
    """On exit, end the processes started inside the block that outlive it (a local Ray's stragglers)."""
    before = descendants() if enabled else []
    try:
        yield
    finally:
        if enabled:
            end_leftovers(before)


def _has_remains(run_dir: str) -> bool:
    """Whether a run directory without trials.parquet still holds something a run can be recovered from."""
    fs, path = resolve(run_dir)
    names = (RECORDS_DIR, TUNE_DIR, FRONTIER_FILE)
    return any(fs.get_file_info(f"{path.rstrip('/')}/{name}").type != pafs.FileType.NotFound for name in names)


def run_description(plan: Plan) -> dict[str, Any]:
    """What a run's metadata holds, from its plan: the arguments of ``RunStore.create`` (and ``RunMeta.of``)."""
    return {
        "objectives": plan.objectives,
        "tasks": plan.task_names,
        "metric_columns": plan.metric_columns,
        "reference_point": plan.reference_point,
        "reference_rule": plan.reference_rule,
        "spec": plan.spec.model_dump(mode="json"),
        "splits": plan.splits,
    }


def recover_store(plan: Plan, run_dir: str, reason: str) -> RunStore:
    """Rebuild a run whose trials.parquet is damaged or missing (``RunStore.recover``), saying what was recovered."""
    store = RunStore(run_dir, load=False)
    found = store.recover(RunMeta.of(**run_description(plan)), row_key=ROW_KEY)
    lost = f"; {len(found.unrecoverable)} trial(s) of the stored frontier were found nowhere" if found.unrecoverable else ""
    aside = f"; damaged file(s) kept as {', '.join(f'`{p}`' for p in found.moved_aside)}" if found.moved_aside else ""
    logger.warning(
        "Recovering `%s` (%s): %s%s%s. Trials not recovered are trained again.",
        redact(run_dir),
        redact(reason),
        found.summary(),
        lost,
        aside,
    )
    return store


def open_store(plan: Plan, run_dir: str, *, resume: bool) -> RunStore:
    """The run's store: reopened with its rows when resuming (recovered if damaged or missing), else created.

    A resume ingests the finished trials only ``records/`` holds and rewrites stale derived files;
    with trials.parquet missing it recovers the run from ``records/``, Tune's results and the
    frontier (and starts the run afresh only when the directory holds none of them).

    Raises:
        RunDirectoryError: resuming a run whose files lack some of the plan's metric columns
            (e.g. written before its problem had a test split: no ``test_*`` columns).
    """
    if resume:
        try:
            store = RunStore(run_dir)
        except ResultSchemaError as error:
            return recover_store(plan, run_dir, f"a file cannot be read: {error}")
        if not store.exists() and _has_remains(run_dir):
            return recover_store(plan, run_dir, "trials.parquet is missing")
    else:
        store = RunStore(run_dir)
    if resume and store.exists():
        store.open()
        missing = [c for c in plan.metric_columns if c not in store.metric_columns]
        if missing:
            raise RunDirectoryError(
                f"Cannot resume `{redact(run_dir)}`: its trials.parquet has no columns {missing}, which this problem reports "
                "now (a run written before its problem had a test split has no `test_*` columns). Start over with "
                "--overwrite (or a new `storage`), or resume with the paretosweep version that wrote the run."
            )
        added = store.ingest_records()
        stale = store.stale_files()
        if added:
            logger.warning(
                "%d finished trial(s) of `%s` were only in records/ (the last driver stopped before writing them to "
                "trials.parquet): stored now, not trained again.",
                added,
                redact(run_dir),
            )
        if stale:
            logger.warning("%s of `%s` lagged behind trials.parquet: rewritten from it.", " and ".join(stale), redact(run_dir))
        if added or stale:
            store.write()
        return store
    if resume:
        logger.info("`%s` holds no run yet: starting it.", redact(run_dir))
    store.create(**run_description(plan))
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
    # credentials in a storage URI go to the environment first: no lease, log, Tune path or stored spec sees them
    clean = move_storage_credentials(spec, attached=ray.is_initialized() or bool(spec.ray.address))
    plan = replace(plan, spec=clean) if plan is not None and clean is not spec else plan or build_plan(clean)
    spec = clean
    if trainable is None and spec.problem.trainable is not None:
        trainable = resolve_trainable(spec.problem.trainable)  # an import that fails is refused before Ray starts
    # What can refuse the sweep runs before Ray starts and before the run directory is touched.
    RunLease(spec.run_dir).check()  # a live driver on the directory is named before anything else is said of it
    preflight(spec, resume=resume, overwrite=overwrite, keep=False, local_machine=not ray.is_initialized())
    # lease first (released last), then Ray: a second driver is refused before its Ray starts
    with RunLease(spec.run_dir) as lease, ends_leftovers(not ray.is_initialized()), ray_for(spec, log_to_driver=verbose):
        lease.renew()  # the lease names the local Ray's processes at once, for a driver that takes it over
        prepare_run_dir(spec.run_dir, overwrite=overwrite)
        store = open_store(plan, spec.run_dir, resume=resume)
        attach_exact_front(store, spec)
        done = store.trial_ids()
        status = SweepStatus(planned=plan.max_trials, done=len(done))
        recorder = SweepRecorder(store, status, on_progress=on_progress, max_retries=spec.max_retries)
        try:
            if any(t.trial_id not in done for t in plan.trials) or plan.max_trials > len(plan.trials):
                shared = spec.warm_start is not None and spec.warm_start.from_ == "shared"
                warm = shared_checkpoint(spec, trainable) if shared else None
                stage = conditioned_stage(spec, plan, store, trainable) if spec.sampler.name == "conditioned" else None
                tuner(spec, plan, store, recorder, trainable=trainable, warm=stage.warm if stage else warm, stage=stage).fit()
        finally:
            recorder.flush()
            store.journal.close()  # every record on disk, and its writer thread ended, before the driver goes on
        if spec.sampler.name == "conditioned":
            record_gaps(spec, store)
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
    spec: SweepSpec,
    plan: Plan,
    store: RunStore,
    recorder: SweepRecorder,
    *,
    trainable: Trainable | None = None,
    warm: str | None = None,
    stage: Stage | None = None,
) -> Any:
    """The Ray Tune ``Tuner`` of the sweep, its results going to ``recorder`` (and the spec's tracking callbacks);
    ``warm``: the shared warm start's checkpoint, where every trial starts; ``stage``: the conditioned stage,
    whose verification trials train under its spec, through its entry."""
    from ray import tune

    from paretosweep.sweep._callbacks import tracking_callbacks
    from paretosweep.sweep._pareto_asha import scheduler_for
    from paretosweep.sweep._trainable import run_trial

    rows = store.read_trials().to_dict("records") if len(store) else []
    storage = spec.run_dir if "://" in spec.run_dir else str(Path(spec.run_dir).resolve())
    name = f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    search_alg, num_samples = searcher_for(
        spec, plan, rows, study_dir=spec.run_dir, checkpoint_root=f"{storage.rstrip('/')}/_tune/{name}", run_dir=storage
    )
    objectives = [(o.column, o.direction) for o in plan.objectives]
    return tune.Tuner(
        tune.with_resources(
            tune.with_parameters(
                stage.entry if stage else run_trial, spec=stage.trial_spec if stage else spec, train_fn=trainable, warm=warm
            ),
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
            name=name,
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
    spec: SweepSpec,
    plan: Plan,
    stored_rows: Sequence[Mapping[str, Any]] = (),
    *,
    study_dir: str | None = None,
    checkpoint_root: str | None = None,
    run_dir: str | None = None,
) -> tuple[Any, int]:
    """The sweep's Tune searcher and ``num_samples`` (an upper bound; the searcher ends the sweep).

    The spec's sampler behind a :class:`~paretosweep.sweep.SamplerSearcher` (comparison methods
    first, stored trials told instead of run), packed per ``budget.pack_size``. With
    ``warm_start: {from: nearest}``, ``checkpoint_root`` (Tune's experiment folder) and ``run_dir``
    say where the completed trials' checkpoints are.
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
    nearest = spec.warm_start is not None and spec.warm_start.from_ == "nearest"
    searcher = SamplerSearcher(
        sampler,
        WeightTrials(spec),
        objectives,
        first=methods,
        stored=stored,
        warm_epochs=spec.warm_start.epochs if nearest and spec.warm_start is not None else None,
        checkpoint_root=checkpoint_root,
        run_dir=run_dir,
    )
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
