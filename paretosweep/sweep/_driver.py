"""run_sweep: plan → run directory → Ray (local or remote) → Ray Tune → Parquet."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paretosweep.config import OPTUNA_SAMPLER_NAMES, RESULT_DRIVEN_SAMPLERS, SweepSpec
from paretosweep.errors import RunDirectoryError
from paretosweep.planning import Plan, build_plan
from paretosweep.preflight import preflight, prepare_run_dir
from paretosweep.results import RunStore
from paretosweep.sweep._recorder import SweepRecorder, SweepStatus

if TYPE_CHECKING:
    import pandas as pd

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
    reference_point: tuple[float, ...] | None = None
    reference_rule: str | None = None
    clipped: int = 0
    #: ``trial_id: error`` of the first trial (by finish time) that failed or diverged, if any
    first_error: str | None = None


#: Ray's logger that prints "Token authentication is enabled for this Ray cluster..." on every new
#: local cluster (Ray 2.5x/2.6x). Raised to ERROR while paretosweep starts its own local Ray;
#: token authentication itself stays on (``RAY_AUTH_MODE=disabled`` turns it off, as in Ray).
RAY_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


@contextlib.contextmanager
def _quiet_token_banner() -> Iterator[None]:
    logger = logging.getLogger(RAY_TOKEN_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


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
        with _quiet_token_banner():
            ray.init(num_cpus=spec.ray.num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return True


def _stop_ray(started: bool) -> None:
    """Shut down the Ray this sweep started (never one it attached to)."""
    if started:
        import ray

        ray.shutdown()


def _concurrency(spec: SweepSpec) -> int:
    import ray

    if spec.concurrency:
        return spec.concurrency
    cpus = ray.cluster_resources().get("CPU", 1.0)
    return max(1, int(cpus // spec.resources.cpu))


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


#: Points of the problem's exact front kept in the run for ``igd_plus`` / ``hv_ratio`` (issue 4).
EXACT_FRONT_POINTS = 2000


def attach_exact_front(store: RunStore, spec: SweepSpec, *, n_points: int = EXACT_FRONT_POINTS) -> bool:
    """Hand the store the problem's exact front, when it has one for the run's objectives (issue 4).

    The store keeps it in ``exact_front.parquet``; returns whether a front was attached.
    """
    from paretosweep.problems import canonical_params_json, make_problem_cached

    problem = make_problem_cached(spec.problem.name, canonical_params_json(spec.problem.params))
    exact_front = getattr(problem, "exact_front", None)
    if exact_front is None:
        return False
    front = exact_front(n_points)
    if dict(zip(front.columns, front.directions, strict=True)) != {o.column: o.direction for o in store.objectives}:
        return False  # the spec optimises other metrics than the ones the exact front describes
    store.set_exact_front(
        front.points, columns=front.columns, directions=front.directions,
        hypervolume=front.hypervolume, reference_point=front.reference_point,
    )
    return True


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
    import ray
    from ray import tune

    from paretosweep.cluster import check_trial_fits
    from paretosweep.sweep._searcher import planned_search
    from paretosweep.sweep._trainable import run_trial

    started = time.monotonic()
    plan = plan or build_plan(spec)
    run_dir = spec.run_dir
    # Everything that can refuse the sweep runs before Ray starts and before the run directory is
    # touched: the probe removes what it created, prepare_run_dir creates it for good below.
    preflight(spec, resume=resume, overwrite=overwrite, keep=False, local_machine=not ray.is_initialized())
    ray_started = _start_ray(spec)
    try:
        check_trial_fits(spec)  # a trial no node can hold would stay pending forever
        prepare_run_dir(run_dir, resume=resume, overwrite=overwrite)
        store = open_store(plan, run_dir, resume=resume)
    except BaseException:
        _stop_ray(ray_started)
        raise
    attach_exact_front(store, spec)  # issue 4: igd_plus / hv_ratio in progress.parquet
    done_ids = store.trial_ids()
    todo = [t for t in plan.trials if t.trial_id not in done_ids]
    status = SweepStatus(planned=len(plan.trials), done=len(plan.trials) - len(todo))
    recorder = SweepRecorder(store, status, on_progress=on_progress)
    try:
        if todo or spec.sampler.name in RESULT_DRIVEN_SAMPLERS:
            trainable = tune.with_resources(
                tune.with_parameters(run_trial, spec=spec),
                {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
            )
            storage = run_dir if "://" in run_dir else str(Path(run_dir).resolve())
            search_alg, num_samples = planned_search(spec, todo)  # issue 7: packs per budget.pack_size
            if spec.sampler.name == "adaptive":  # issue 4: weights chosen from results as they arrive
                from paretosweep.sweep._adaptive_searcher import adaptive_search

                search_alg, num_samples = adaptive_search(spec, plan, todo, store.read_trials() if done_ids else None)
            elif spec.sampler.name in OPTUNA_SAMPLER_NAMES:  # issue 4: Optuna asks every weight vector
                from paretosweep.sweep._optuna_searcher import optuna_search

                search_alg, num_samples = optuna_search(spec, plan, todo, store.read_trials() if done_ids else None, study_dir=run_dir)
            if spec.sampler.name in RESULT_DRIVEN_SAMPLERS:  # issue 7: result-driven samplers hand out packs too
                from paretosweep.sweep._packing_searcher import packing_search

                search_alg, num_samples = packing_search(spec, search_alg, num_samples)
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(
                    search_alg=search_alg,
                    num_samples=num_samples,
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
        _stop_ray(ray_started)
    trials = store.read_trials()
    completed = int((trials["status"] == "completed").sum()) if len(trials) else 0
    result_driven = spec.sampler.name in RESULT_DRIVEN_SAMPLERS  # their stored trials are retold, not planned
    return SweepSummary(
        run_dir=run_dir,
        planned=len(plan.trials),
        ran=len(trials) - len(done_ids) if result_driven else len(todo),
        skipped=len(done_ids) if result_driven else len(plan.trials) - len(todo),
        completed=completed,
        failed=len(trials) - completed,
        frontier_size=status.frontier_size,
        hypervolume=status.hypervolume,
        wall_seconds=time.monotonic() - started,
        reference_point=store.reference_point,
        reference_rule=store.reference_rule,
        clipped=status.clipped,
        first_error=first_error(trials),
    )


def first_error(trials: pd.DataFrame) -> str | None:
    """``trial_id: error`` of the first trial, by finish time, that did not complete (None if all did)."""
    if not len(trials) or "status" not in trials:
        return None
    bad = trials[trials["status"] != "completed"]
    if not len(bad):
        return None
    if "finished_at" in bad:
        bad = bad.sort_values("finished_at", kind="stable", na_position="last")
    row = bad.iloc[0]
    error = row.get("error")
    message = str(error) if isinstance(error, str) and error else f"status {row['status']}, no error message recorded"
    return f"{row['trial_id']}: {message}"
