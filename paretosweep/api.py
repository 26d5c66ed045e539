"""The Python API: the same verbs as the CLI, as plain functions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretosweep.config import SweepSpec, load_config, parse_spec

if TYPE_CHECKING:
    import pandas as pd

    from paretosweep.planning import Plan
    from paretosweep.sweep import SweepSummary
    from paretosweep.sweep._recorder import SweepStatus


def as_spec(spec: SweepSpec | str | Path | dict[str, Any]) -> SweepSpec:
    """A validated spec from a spec object, a YAML path or a mapping."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_config(spec)


def plan(spec: SweepSpec | str | Path | dict[str, Any]) -> Plan:
    """Validate ``spec`` against its problem and list the trials it would run (``--dry-run``)."""
    from paretosweep.planning import build_plan

    return build_plan(as_spec(spec))


def run(
    spec: SweepSpec | str | Path | dict[str, Any],
    *,
    resume: bool = False,
    overwrite: bool = False,
    on_progress: Callable[[SweepStatus], None] | None = None,
) -> SweepSummary:
    """Run a sweep (see :func:`paretosweep.sweep.run_sweep`); everything is validated first."""
    from paretosweep.planning import build_plan
    from paretosweep.sweep import run_sweep

    validated = as_spec(spec)
    return run_sweep(validated, resume=resume, overwrite=overwrite, on_progress=on_progress, plan=build_plan(validated))


def export(run_dir: str, *, pick: str = "knee", kind: str = "scalarization") -> list[dict[str, Any]]:
    """The frontier point(s) chosen by ``pick`` as export records (weights, objectives, spec).

    ``kind``: ``scalarization`` (default) picks among the swept weight vectors' frontier, so the
    answer is a weight vector; ``method`` among the comparison methods; ``all`` among both
    (frontier.parquet), where a method point returns its method and hyper-parameters. The pick
    reads the objectives (validation metrics); each record's ``test_objectives`` holds the same
    point's test-split values when the run has a test split (``paretosweep.splits``).
    """
    from paretosweep.exports import export_records
    from paretosweep.frontier import configuration_front
    from paretosweep.frontier import pick as pick_rows
    from paretosweep.results import RunStore

    store = RunStore(run_dir)
    store.open()
    tests = store.splits.test_columns if store.splits is not None else {}
    reported = [tests[o.column] for o in store.objectives if o.column in tests]  # seed means too, never chosen on
    if kind == "all":
        front = store.read_frontier()
    else:
        front = configuration_front(store.read_trials(), store.objectives, kind=kind, reported=reported)
    chosen: pd.DataFrame = pick_rows(front, store.objectives, pick)
    return export_records(chosen, store.objectives, spec=store.spec, test_columns=tests)


def compare(run_dir: str, *, per_trial: bool = False) -> pd.DataFrame:
    """Each comparison method against the run's swept frontier (see :func:`paretosweep.comparison.compare`)."""
    from paretosweep.comparison import compare as compare_trials
    from paretosweep.results import RunStore

    store = RunStore(run_dir)
    store.open()
    trials = store.read_trials()
    if not (trials["kind"] == "method").any():
        from paretosweep.errors import ResultSchemaError

        raise ResultSchemaError(f"Run `{run_dir}` holds no method trials. Add a `methods:` list to the spec and run it with --resume.")
    return compare_trials(trials, store.objectives, per_trial=per_trial)


def compare_runs(run_dirs: list[str]) -> tuple[list[float], pd.DataFrame]:
    """Several runs' frontiers at one shared reference point (see :func:`paretosweep.comparison.compare_runs`).

    Raises:
        ResultSchemaError: a run cannot be read, holds no reference point yet, or the runs do not
            share their objectives.
    """
    from paretosweep.comparison import compare_runs as compare_fronts
    from paretosweep.errors import ResultSchemaError
    from paretosweep.results import RunStore

    stores = [RunStore(d).open() for d in run_dirs]
    first = stores[0].objectives
    for run_dir, store in zip(run_dirs, stores, strict=True):
        if [(o.column, o.direction) for o in store.objectives] != [(o.column, o.direction) for o in first]:
            raise ResultSchemaError(
                f"Runs compared on one reference point must share their objectives. `{run_dirs[0]}` has "
                f"{[o.column for o in first]}, `{run_dir}` has {[o.column for o in store.objectives]}."
            )
        if store.reference_point is None:
            raise ResultSchemaError(f"Run `{run_dir}` has no reference point yet: no trial of it completed.")
    shared, table = compare_fronts(
        list(run_dirs), [s.read_frontier() for s in stores], [s.reference_point for s in stores], first  # type: ignore[misc]
    )
    table["reference_rule"] = [s.reference_rule for s in stores]
    return shared.tolist(), table
