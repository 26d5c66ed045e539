"""Questions asked of stored runs: which point to ship, how the methods fare, how runs compare.

Each reads the run directory (``paretosweep.results``) and hands the rows to the pure module that
answers (``frontier.pick`` + ``exports``, ``comparison``). The CLI and the Python API both call these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from paretosweep.errors import ResultSchemaError

if TYPE_CHECKING:
    import pandas as pd


def export_run(run_dir: str, *, pick: str = "knee", kind: str = "scalarization") -> list[dict[str, Any]]:
    """The frontier point(s) chosen by ``pick`` as export records (weights, objectives, spec).

    ``kind``: ``scalarization`` (default) picks among the swept weight vectors' frontier, so the
    answer is a weight vector; ``method`` among the comparison methods; ``all`` among both
    (frontier.parquet), where a method point returns its method and hyper-parameters. The pick
    reads the objectives (validation metrics); each record's ``test_objectives`` holds the same
    point's test-split values when the run has a test split (``paretosweep.splits``), and its
    ``checkpoints`` the saved file of each seed trial pooled into the point (full path or URI; None
    with the reason where the run's ``checkpoints.keep`` deleted it).
    """
    from paretosweep.exports import export_records, point_trial_ids
    from paretosweep.frontier import configuration_front
    from paretosweep.frontier import pick as pick_rows
    from paretosweep.results import RunStore, checkpoint_locations

    store = RunStore(run_dir).open()
    tests = store.splits.test_columns if store.splits is not None else {}
    reported = [tests[o.column] for o in store.objectives if o.column in tests]  # seed means too, never chosen on
    trials = store.read_trials()
    if kind == "all":
        front = store.read_frontier()
    else:
        front = configuration_front(trials, store.objectives, kind=kind, reported=reported)
    chosen = pick_rows(front, store.objectives, pick)
    where = checkpoint_locations(run_dir, point_trial_ids(chosen), trials=trials)
    return export_records(chosen, store.objectives, spec=store.spec, test_columns=tests, checkpoints=where)


def copy_chosen_checkpoints(run_dir: str, records: Sequence[Mapping[str, Any]], destination: str) -> list[tuple[str, str]]:
    """Copy the checkpoint file of each exported point's trial (its ``trial_id``, the lowest seed) to ``destination``.

    One record: ``destination`` is the file (or an existing folder, or a path ending in ``/``, which
    gets ``<trial_id>.pt``). Several records: ``destination`` is a folder, created if missing, that
    gets one ``<trial_id>.pt`` each. Returns ``(trial_id, copied path)`` per record.

    Raises:
        RunDirectoryError: a chosen trial kept no checkpoint (the message names ``checkpoints: {keep: all}``).
    """
    from paretosweep.errors import RunDirectoryError
    from paretosweep.results import copy_checkpoint

    ids = [str(r["trial_id"]) for r in records]
    target = destination if len(ids) <= 1 or destination.endswith(("/", os.sep)) else destination + "/"
    copied = []
    for trial_id in ids:
        try:
            copied.append((trial_id, copy_checkpoint(run_dir, trial_id, target)))
        except RunDirectoryError as error:
            raise RunDirectoryError(f"Cannot copy the chosen point's checkpoint: {error}") from None
    return copied


def compare_run(run_dir: str, *, per_trial: bool = False) -> pd.DataFrame:
    """Each comparison method against the run's swept frontier (see :func:`paretosweep.comparison.compare`).

    Raises:
        ResultSchemaError: the run holds no method trial.
    """
    from paretosweep.comparison import compare
    from paretosweep.results import RunStore

    store = RunStore(run_dir).open()
    trials = store.read_trials()
    if not (trials["kind"] == "method").any():
        raise ResultSchemaError(f"Run `{run_dir}` holds no method trials. Add a `methods:` list to the spec and run it with --resume.")
    return compare(trials, store.objectives, per_trial=per_trial)


def compare_run_dirs(run_dirs: Sequence[str]) -> tuple[list[float], pd.DataFrame]:
    """Several runs' frontiers at one shared reference point (see :func:`paretosweep.comparison.compare_runs`).

    Raises:
        ResultSchemaError: a run cannot be read, holds no reference point yet, or the runs do not
            share their objectives.
    """
    from paretosweep.comparison import compare_runs
    from paretosweep.results import RunStore

    stores = [RunStore(d).open() for d in run_dirs]
    first = stores[0].objectives
    points = []
    for run_dir, store in zip(run_dirs, stores, strict=True):
        if [(o.column, o.direction) for o in store.objectives] != [(o.column, o.direction) for o in first]:
            raise ResultSchemaError(
                f"Runs compared on one reference point must share their objectives. `{run_dirs[0]}` has "
                f"{[o.column for o in first]}, `{run_dir}` has {[o.column for o in store.objectives]}."
            )
        if store.reference_point is None:
            raise ResultSchemaError(f"Run `{run_dir}` has no reference point yet: no trial of it completed.")
        points.append(store.reference_point)
    shared, table = compare_runs(list(run_dirs), [s.read_frontier() for s in stores], points, first)
    table["reference_rule"] = [s.reference_rule for s in stores]
    return shared.tolist(), table
