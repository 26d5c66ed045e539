"""run_sweep: plan → run directory → Ray (local or remote) → Ray Tune → Parquet."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paretosweep.config import SweepSpec
from paretosweep.errors import RunDirectoryError
from paretosweep.planning import Plan, build_plan
from paretosweep.results import RunStore
from paretosweep.results._schema import TRIALS_FILE
from paretosweep.sweep._recorder import SweepRecorder, SweepStatus

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


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


def prepare_run_dir(run_dir: str, *, resume: bool, overwrite: bool) -> None:
    """Check the run directory before anything starts (local paths; URIs are checked by the store).

    Raises:
        RunDirectoryError: it holds a run and neither ``resume`` nor ``overwrite`` was given,
            it is not a directory, or it cannot be written.
    """
    if "://" in run_dir:
        return
    path = Path(run_dir)
    if resume and overwrite:
        raise RunDirectoryError("Give either --resume or --overwrite, not both.")
    if path.exists() and not path.is_dir():
        raise RunDirectoryError(f"Run directory `{path}` exists and is not a directory. Set `storage` to a directory path.")
    has_run = (path / TRIALS_FILE).exists()
    if path.exists() and any(path.iterdir()):
        if overwrite:
            if not has_run and not (path / "_tune").exists():
                raise RunDirectoryError(f"Refusing to --overwrite `{path}`: it is not empty and holds no paretosweep run.")
            shutil.rmtree(path)
        elif not resume:
            raise RunDirectoryError(
                f"Run directory `{path}` already exists. Pass --resume to continue it, --overwrite to replace it, "
                "or set `storage` to a new path."
            )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise RunDirectoryError(f"Cannot write to run directory `{path}` ({error.strerror}). Set `storage` to a writable path.") from None


def _start_ray(spec: SweepSpec) -> bool:
    """Connect to ``ray.address`` or start a local Ray; True if this call started it."""
    import ray

    if ray.is_initialized():
        return False
    if spec.ray.address:
        from paretosweep.cluster import ClusterUnreachableError, check_driver_address

        check_driver_address(spec.ray.address)  # unreachable: a clear error within seconds, not a hang
        try:
            ray.init(address=spec.ray.address, log_to_driver=False)
        except ConnectionError as error:
            raise ClusterUnreachableError(f"Cannot connect to the Ray cluster at `{spec.ray.address}`: {error}") from None
    else:
        ray.init(num_cpus=spec.ray.num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return True


def _concurrency(spec: SweepSpec) -> int:
    import ray

    if spec.concurrency:
        return spec.concurrency
    cpus = ray.cluster_resources().get("CPU", 1.0)
    return max(1, int(cpus // spec.resources.cpu))


def open_store(plan: Plan, run_dir: str, *, resume: bool) -> RunStore:
    """The run's store: reopened with its rows when resuming, else created."""
    store = RunStore(run_dir)
    if resume and store.exists():
        store.open()
        return store
    store.create(
        objectives=plan.objectives,
        tasks=plan.task_names,
        metric_columns=plan.metric_columns,
        reference_point=plan.reference_point,
        spec=plan.spec.model_dump(mode="json"),
    )
    return store


def run_sweep(
    spec: SweepSpec,
    *,
    resume: bool = False,
    overwrite: bool = False,
    on_progress: Callable[[SweepStatus], None] | None = None,
    plan: Plan | None = None,
) -> SweepSummary:
    """Run every planned trial not already stored, and keep the frontier in the run directory.

    Args:
        spec: a validated spec (see :func:`paretosweep.load_config`).
        resume: continue an existing run directory, skipping trials it already holds.
        overwrite: delete an existing run directory first.
        on_progress: called with a :class:`SweepStatus` as trials finish.
        plan: a plan already built from ``spec`` (else built here).
    """
    from ray import tune

    from paretosweep.cluster import check_trial_fits
    from paretosweep.sweep._searcher import PlannedSearcher
    from paretosweep.sweep._trainable import run_trial

    started = time.monotonic()
    plan = plan or build_plan(spec)
    run_dir = spec.run_dir
    prepare_run_dir(run_dir, resume=resume, overwrite=overwrite)
    store = open_store(plan, run_dir, resume=resume)
    done_ids = store.trial_ids()
    todo = [t for t in plan.trials if t.trial_id not in done_ids]
    status = SweepStatus(planned=len(plan.trials), done=len(plan.trials) - len(todo))
    recorder = SweepRecorder(store, status, on_progress=on_progress)
    ray_started = _start_ray(spec) if todo else False
    try:
        if todo:
            check_trial_fits(spec)  # a trial no node can hold would stay pending forever
            trainable = tune.with_resources(
                tune.with_parameters(run_trial, spec=spec),
                {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
            )
            storage = run_dir if "://" in run_dir else str(Path(run_dir).resolve())
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(
                    search_alg=PlannedSearcher([t.to_dict() for t in todo]),
                    num_samples=len(todo),
                    max_concurrent_trials=_concurrency(spec),
                    reuse_actors=True,
                ),
                run_config=tune.RunConfig(
                    name=f"tune-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}",
                    storage_path=f"{storage.rstrip('/')}/_tune",
                    callbacks=[recorder],
                    failure_config=tune.FailureConfig(max_failures=spec.max_retries, fail_fast=False),
                    verbose=0,
                ),
            )
            tuner.fit()
    finally:
        recorder.flush()
        if ray_started:
            import ray

            ray.shutdown()
    trials = store.read_trials()
    completed = int((trials["status"] == "completed").sum()) if len(trials) else 0
    return SweepSummary(
        run_dir=run_dir,
        planned=len(plan.trials),
        ran=len(todo),
        skipped=len(plan.trials) - len(todo),
        completed=completed,
        failed=len(trials) - completed,
        frontier_size=status.frontier_size,
        hypervolume=status.hypervolume,
        wall_seconds=time.monotonic() - started,
    )
