"""The Python API: the same verbs as the CLI, as plain functions (nothing inside the package imports this face)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretosweep.config import SweepSpec, as_spec
from paretosweep.queries import compare_run as compare
from paretosweep.queries import compare_run_dirs as compare_runs
from paretosweep.queries import export_run as export

if TYPE_CHECKING:
    from paretosweep.planning import Plan
    from paretosweep.sweep import SweepStatus, SweepSummary

__all__ = ["as_spec", "compare", "compare_runs", "export", "plan", "run"]


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
    trainable: Callable[[Any], Any] | None = None,
    verbose: bool = False,
) -> SweepSummary:
    """Run a sweep (see :func:`paretosweep.sweep.run_sweep`); everything is validated first.

    ``trainable``: your training function ``train(ctx)`` (any function: in a module, in ``__main__``
    or a notebook; Ray pickles it to the workers). The spec then needs no ``problem`` block (its
    ``problem.config`` reaches the function as ``ctx.config``) and declares the tasks in ``tasks:``.
    ``verbose``: stream the trials' output (prints, logging, warnings) to this console.
    """
    from paretosweep.planning import build_plan
    from paretosweep.sweep import run_sweep
    from paretosweep.trainables import spec_with_trainable

    validated = as_spec(spec) if trainable is None else spec_with_trainable(spec, trainable)
    return run_sweep(
        validated,
        resume=resume,
        overwrite=overwrite,
        on_progress=on_progress,
        plan=build_plan(validated),
        trainable=trainable,
        verbose=verbose,
    )
