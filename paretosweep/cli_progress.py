"""Rich rendering for the CLI: errors, the dry-run plan, the live progress bar, the run's summary, the frontier table.

User text (names, paths, ids, parameters, error messages) goes through ``rich.markup.escape``:
rich would read ``[nan, 1.0]`` as a markup tag and drop it. Errors and run directories go through
``_redact.redact`` too: a storage URI's credentials are never printed.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from paretosweep._redact import redact

if TYPE_CHECKING:
    import pandas as pd

    from paretosweep.planning import Plan
    from paretosweep.results import Objective, RunSplits
    from paretosweep.sweep import SweepStatus, SweepSummary


def _fmt_weights(weights: Sequence[float] | None) -> str:
    return "learnt" if weights is None else escape("[" + ", ".join(f"{w:.3f}" for w in weights) + "]")


@dataclass
class CliOptions:
    """The options given before the command (``paretosweep --debug run ...``), set by the app's callback."""

    debug: bool = False


#: This process's CLI options: the app's callback sets them on every invocation.
OPTIONS = CliOptions()


def print_error(console: Console, error: BaseException) -> None:
    """``error: <message>`` (escaped); after the full traceback, causes included, with ``--debug``."""
    if OPTIONS.debug:
        from rich.traceback import Traceback

        console.print(Traceback.from_exception(type(error), error, error.__traceback__))
    console.print(f"[bold red]error:[/] {escape(redact(str(error)))}", highlight=False, soft_wrap=True)


def in_run(run_dir: str, name: str) -> str:
    """Where the file ``name`` of the run directory ``run_dir`` lies, for the user (credentials masked).

    A local path is joined as a path; a filesystem URI keeps its ``scheme://`` and its query after
    the file name (``s3://b/run?endpoint_override=h`` gives ``s3://b/run/trials.parquet?endpoint_override=h``).
    """
    if "://" not in run_dir:
        return str(Path(run_dir) / name)
    location, question, query = run_dir.partition("?")
    return redact(f"{location.rstrip('/')}/{name}{question}{query}")


def print_summary(console: Console, summary: SweepSummary) -> None:
    """What ``run`` prints at the end: the counts, the hypervolume and its reference, where the files are."""
    hv = f"{summary.hypervolume:.6g}" if summary.hypervolume is not None else "n/a"
    console.print(
        f"Done in {summary.wall_seconds:.1f} s: {summary.completed} completed, {summary.failed} failed or diverged"
        + (f", {summary.stopped} stopped early by the scheduler" if summary.stopped else "")
        + f" ({summary.skipped} already done), {summary.frontier_size} frontier points, hypervolume {hv}."
    )
    if summary.scheduler_note:
        console.print(escape(f"Warning: {summary.scheduler_note}"), style="yellow", highlight=False)
    if summary.reference_point is not None:
        clipped = f"; {summary.clipped} point(s) beyond it add nothing" if summary.clipped else ""
        console.print(
            escape(
                f"Hypervolume reference point {[round(v, 6) for v in summary.reference_point]} "
                f"({summary.reference_rule}), fixed for the run{clipped}."
            ),
            highlight=False,
        )
    run = shlex.quote(redact(summary.run_dir))
    frontier = in_run(summary.run_dir, "frontier.parquet")
    console.print(escape(f"Frontier:  {frontier}   (paretosweep frontier {run})"), highlight=False)
    console.print(escape(f"Trials:    {in_run(summary.run_dir, 'trials.parquet')}"), highlight=False)
    console.print(escape(f"Dashboard: paretosweep dashboard {run}"), highlight=False)


def print_plan(console: Console, plan: Plan) -> None:
    """What ``run --dry-run`` prints: the resolved spec, notes on the design, and every planned trial."""
    spec = plan.spec
    sampler = spec.sampler.name if plan.design in (None, spec.sampler.name) else f"{spec.sampler.name} -> {plan.design}"
    console.print(
        f"[bold]{escape(spec.name)}[/]: " + escape(f"problem `{spec.problem.name}`, tasks {list(plan.task_names)}"), highlight=False
    )
    console.print(escape("objectives: " + ", ".join(f"{o.column} ({o.direction})" for o in plan.objectives)), highlight=False)
    console.print(
        escape(
            f"scalarizer `{spec.scalarizer.name}`, sampler `{sampler}` ({len(plan.weights)} weight vectors), "
            f"{spec.budget.seeds_per_weight} seed(s), lr {list(spec.budget.lr)}, {spec.budget.epochs} epochs; "
            f"resources per trial {spec.resources.cpu:g} CPU / {spec.resources.gpu:g} GPU; run dir `{redact(spec.run_dir)}`"
        ),
        highlight=False,
    )
    for note in plan.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if plan.sampler_note:
        console.print(escape(plan.sampler_note), highlight=False)
    later = plan.max_trials - len(plan.trials)  # chosen as the sweep runs (adaptive, Optuna, conditioned verification)
    title = f"{len(plan.trials)} planned trials" + (f"; up to {later} more chosen as the sweep runs" if later > 0 else "")
    table = Table("#", "trial_id", "kind", "weights / method", "seed", "lr", title=title)
    for i, t in enumerate(plan.trials):
        what = _fmt_weights(t.weights) if t.kind == "scalarization" else escape(f"{t.method} {t.method_params or ''}")
        table.add_row(str(i), escape(t.trial_id), t.kind, what, str(t.seed), f"{t.lr:g}")
    console.print(table)


class SweepProgress:
    """A rich progress bar: trials done / planned, failures, current hypervolume."""

    def __init__(self, console: Console, *, planned: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}  frontier {task.fields[front]}  HV {task.fields[hv]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("sweep", total=planned, failed=0, front=0, hv="-")

    def __enter__(self) -> SweepProgress:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def update(self, status: SweepStatus) -> None:
        """Redraw from a recorder status."""
        self._progress.update(self._task, completed=status.done, failed=status.failed, front=status.frontier_size, hv=hv_label(status))


def hv_label(status: SweepStatus) -> str:
    """The hypervolume as the bar shows it: a Monte Carlo estimate with its standard error, and the
    share of the exact front's hypervolume when the problem knows its front."""
    if status.hypervolume is None:
        return "-"
    label = f"{status.hypervolume:.4g}"
    if status.hypervolume_method == "monte_carlo":
        label = f"≈{label} ± {status.hypervolume_stderr or 0.0:.2g} (estimate)"
    if status.hv_ratio is not None:
        label += f" ({status.hv_ratio:.1%} of exact front)"
    return label


def frontier_table(front: pd.DataFrame, objectives: Sequence[Objective], tasks: Sequence[str], *, splits: RunSplits | None = None) -> Table:
    """The frontier as a table: trial, weights (task order), objectives, HV contribution.

    With a test split (``splits.test_columns``), each objective's test value follows it in its
    ``test_<column>`` column; the caption says which split chose the rows and which only reports.
    """
    tests = dict(splits.test_columns) if splits is not None else {}
    paired = [(o, tests.get(o.column)) for o in objectives]
    heads: list[str] = []
    for o, test in paired:
        heads += [escape(f"{o.column} ({o.direction})")] + ([escape(test)] if test else [])
    table = Table(
        Column("trial_id", no_wrap=True),
        "kind",
        escape(f"weights {list(tasks)}"),
        *heads,
        "HV contrib.",
        title=f"frontier: {len(front)} points",
        caption=escape(splits.summary()) if splits is not None else None,
    )
    order = front.sort_values(objectives[0].column) if len(front) else front
    for _, row in order.iterrows():
        weights = row["weights"]
        label = _fmt_weights(list(weights)) if weights is not None else escape(f"{row['method']}")
        values: list[str] = []
        for o, test in paired:
            values += [f"{row[o.column]:.5g}"] + ([f"{row.get(test, float('nan')):.5g}"] if test else [])
        kind = str(row["kind"]) + (f", stopped at epoch {row.get('epochs_done')}" if row.get("status") == "stopped" else "")
        table.add_row(escape(str(row["trial_id"])), escape(kind), label, *values, f"{row['hv_contribution']:.3g}")
    return table


def compare_table(verdict: pd.DataFrame) -> Table:
    """The verdict of ``paretosweep compare``: one row per method configuration (or per method trial)."""

    def weights(value: Any) -> str:
        if value is None or isinstance(value, float) or len(value) == 0:
            return "-"
        return " ".join(f"{w:.2f}" for w in value)

    def interval(row: Any) -> str:
        low, high = row.get("epsilon_ci_low"), row.get("epsilon_ci_high")
        if low is None or low != low:  # NaN: one seed, no interval
            return "-"
        return f"[{low:.3g}, {high:.3g}]"

    summary = "verdict" in verdict.columns
    head: list[Column | str] = [Column("method", no_wrap=True)]
    head += ["verdict", "seeds", "epsilon of the mean", "95% CI of epsilon"] if summary else ["dominated", "epsilon"]
    table = Table(
        *head,
        Column("dominated by", no_wrap=True),
        "its weights",
        "seconds (method / sweep)",
        "learnt weights",
        "nearest frontier weights",
        title="methods against the swept frontier of seed means (epsilon <= 0: the frontier dominates by |epsilon|)",
    )
    from paretosweep.comparison import method_labels

    labels = method_labels(verdict)
    for (_, row), label in zip(verdict.iterrows(), labels):
        by = row.get("dominating_trial_id")
        cells = [escape(label)]
        if summary:
            cells += [escape(str(row["verdict"])), str(row["n_seeds"]), f"{row['epsilon']:.3g}", interval(row)]
        else:
            cells += ["yes" if row.get("dominated_by_frontier") is True else "no", f"{row['epsilon']:.3g}"]
        table.add_row(
            *cells,
            escape(str(by)) if isinstance(by, str) else "-",
            weights(row.get("dominating_weights")),
            f"{row['method_seconds']:.1f} / {row['sweep_seconds']:.1f}",
            weights(row.get("learnt_weights")),
            weights(row.get("nearest_weights")),
        )
    return table
