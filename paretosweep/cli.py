"""The ``paretosweep`` command line: each command is a few lines calling the Python API.

Exit codes: 0 done; 1 a sweep ran but no trial of it completed (the first trial's error is
printed); 2 bad input (spec, flags, run directory, cluster), refused before Ray starts where it can
be. ``paretosweep --debug COMMAND`` prints the full traceback of an error as well.
Every piece of user text printed through rich (errors, names, paths, ids) is escaped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from paretosweep._redact import redact
from paretosweep.cli_progress import OPTIONS, print_error
from paretosweep.errors import ParetoSweepError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Map the Pareto frontier of a multi-task model by sweeping loss weights on Ray Tune."
)
console = Console()
err_console = Console(stderr=True)

#: ``paretosweep run`` ran trials but none of them completed.
EXIT_NO_TRIAL_COMPLETED = 1
#: Bad input: the spec, a flag, the run directory, the cluster.
EXIT_BAD_INPUT = 2


@app.callback()
def options(
    debug: Annotated[bool, typer.Option("--debug", help="On an error, also print its full traceback.")] = False,
) -> None:
    """Map the Pareto frontier of a multi-task model by sweeping loss weights on Ray Tune."""
    OPTIONS.debug = debug


def _fail(error: Exception, *, code: int = EXIT_BAD_INPUT) -> None:
    print_error(err_console, error)
    raise typer.Exit(code=code)


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="YAML sweep spec, e.g. configs/quickstart.yaml")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and print the planned trials, run nothing.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an existing run directory.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing run directory.")] = False,
    storage: Annotated[str | None, typer.Option(help="Override the spec's run directory.")] = None,
    address: Annotated[str | None, typer.Option(help="Ray address (auto, ray://host:10001); default: start a local Ray.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Stream the trials' output (prints, logging) to the console.")] = False,
) -> None:
    """Run a sweep: plan, train every trial on Ray Tune, write the frontier to Parquet."""
    from paretosweep.cli_progress import SweepProgress, in_run, print_plan, print_summary
    from paretosweep.config import as_spec
    from paretosweep.imports import extend_import_path
    from paretosweep.planning import build_plan
    from paretosweep.preflight import preflight

    try:
        validated = as_spec(spec)
        if ":" in (validated.problem.name or validated.problem.trainable or ""):  # a module beside the spec or in the current directory
            extend_import_path(spec.resolve().parent, Path.cwd())
        overrides: dict[str, Any] = {k: v for k, v in {"storage": storage}.items() if v is not None}
        if address is not None:
            overrides["ray"] = validated.ray.model_copy(update={"address": address})
        validated = validated.model_copy(update=overrides)
        plan = build_plan(validated)
    except ParetoSweepError as error:
        _fail(error)
    if dry_run:
        try:  # what `run` would refuse before Ray starts (a live driver on the directory too); leaves nothing behind
            from paretosweep.results._lock import RunLease

            RunLease(validated.run_dir).check()
            preflight(validated, resume=resume, overwrite=overwrite, keep=False)
        except ParetoSweepError as error:
            _fail(error)
        print_plan(console, plan)
        return
    from paretosweep.sweep import run_sweep

    try:
        with SweepProgress(console, planned=plan.max_trials) as progress:
            summary = run_sweep(validated, resume=resume, overwrite=overwrite, on_progress=progress.update, plan=plan, verbose=verbose)
    except ParetoSweepError as error:
        _fail(error)
    print_summary(console, summary)
    if summary.completed == 0:
        first = f"the first error, of trial {summary.first_error}" if summary.first_error else "no error was recorded"
        trials = in_run(summary.run_dir, "trials.parquet")
        _fail(
            ParetoSweepError(
                f"No trial completed ({summary.failed} failed or diverged); {first}. Every trial's status and error are in {trials}."
            ),
            code=EXIT_NO_TRIAL_COMPLETED,
        )


@app.command()
def frontier(
    run_dir: Annotated[str, typer.Argument(help="Run directory (or pyarrow filesystem URI).")],
    completed_only: Annotated[
        bool, typer.Option("--completed-only", help="Only fully trained trials: leave out those the scheduler stopped early.")
    ] = False,
) -> None:
    """Print a run's frontier as a table (trials the scheduler stopped early are marked `stopped`)."""
    from paretosweep.cli_progress import frontier_table
    from paretosweep.results import RunStore, load_frontier

    try:
        store = RunStore(run_dir)
        store.open()
        front = load_frontier(run_dir, completed_only=True) if completed_only else store.read_frontier()
        console.print(frontier_table(front, store.objectives, store.tasks, splits=store.splits))
        _print_verification_gaps(run_dir, store)
    except ParetoSweepError as error:
        _fail(error)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _print_verification_gaps(run_dir: str, store: Any) -> None:
    """``sampler: conditioned``: the proposed, verified and gap (verified - proposed) objectives of each verified weight vector."""
    from rich.table import Table

    from paretosweep.results import read_stage_info, verification_gaps

    info = read_stage_info(run_dir)
    if info is None or not info.get("verify"):
        return
    columns = [o.column for o in store.objectives]
    tests = store.splits.test_columns if store.splits is not None else {}
    columns += [tests[c] for c in list(columns) if c in tests]
    table = Table("w", *(f"{c}\nproposed / verified / gap" for c in columns), title="Conditioned proposals vs verified trials")
    for weights, cells in verification_gaps(info, columns):
        table.add_row(", ".join(f"{w:.3f}" for w in weights), *(" / ".join(_number(x) for x in (p, v, g)) for _, p, v, g in cells))
    console.print(table)


@app.command()
def export(
    run_dir: Annotated[str, typer.Argument(help="Run directory.")],
    pick: Annotated[str, typer.Option(help="knee | utopia | extremes | all | best:<column>")] = "knee",
    kind: Annotated[str, typer.Option(help="Pick among: scalarization (the swept weight vectors) | method | all")] = "scalarization",
    format: Annotated[str, typer.Option("--format", help="json | yaml | csv")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")] = None,
    copy_checkpoint: Annotated[
        str | None,
        typer.Option(
            "--copy-checkpoint",
            metavar="DEST",
            help="Also copy the chosen point's checkpoint file (its lowest-seed trial's) to DEST: a file, or a folder "
            "(ending in /, or when several points are chosen) that gets <trial_id>.pt.",
        ),
    ] = None,
) -> None:
    """Export the chosen weight vector(s) with their objectives, checkpoints and the spec to reproduce them."""
    from paretosweep.exports import to_csv, to_json, to_yaml
    from paretosweep.queries import copy_chosen_checkpoints, export_run

    writers = {"json": to_json, "yaml": to_yaml, "csv": to_csv}
    if format not in writers:
        _fail(ParetoSweepError(f"`--format` should be one of {', '.join(writers)}; found `{format}`."))
    try:
        records = export_run(run_dir, pick=pick, kind=kind)
        copied = copy_chosen_checkpoints(run_dir, records, copy_checkpoint) if copy_checkpoint is not None else []
        text = writers[format](records)
    except ParetoSweepError as error:
        _fail(error)
    for trial_id, path in copied:  # on stderr: stdout may be the export itself
        err_console.print(escape(f"Copied the checkpoint of trial {trial_id} to {path}"), highlight=False)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text)
        console.print(escape(f"Wrote {output}"), highlight=False)


@app.command()
def problems() -> None:
    """List the built-in problems."""
    from paretosweep.problems import available_problems

    table = Table("problem", "description")
    for name, doc in sorted(available_problems().items()):
        table.add_row(escape(name), escape(doc))
    console.print(table)


@app.command()
def methods() -> None:
    """List the comparison methods (for the spec's `methods:` list)."""
    from paretosweep.methods import available_methods

    table = Table("method", "description")
    for name, doc in sorted(available_methods().items()):
        table.add_row(escape(name), escape(doc))
    console.print(table)


@app.command()
def compare(
    run_dir: Annotated[str, typer.Argument(help="Run directory holding method trials.")],
    per_trial: Annotated[bool, typer.Option("--per-trial", help="One row per method trial, not per method.")] = False,
) -> None:
    """Judge each comparison method against the swept frontier (dominance, epsilon, compute)."""
    from paretosweep.cli_progress import compare_table
    from paretosweep.queries import compare_run

    try:
        verdict = compare_run(run_dir, per_trial=per_trial)
    except ParetoSweepError as error:
        _fail(error)
    console.print(compare_table(verdict))


@app.command()
def hypervolume(
    runs: Annotated[list[str], typer.Argument(help="Run directories to compare (same objectives).")],
) -> None:
    """Each run's hypervolume at its own reference point and at one shared by all (per objective, the worst)."""
    from paretosweep.queries import compare_run_dirs

    try:
        shared, table = compare_run_dirs(runs)
    except ParetoSweepError as error:
        _fail(error)
    out = Table(
        Column("run", no_wrap=True),
        "frontier",
        "own reference point",
        "hypervolume (own)",
        "hypervolume (shared)",
        title=escape(f"shared reference point {[round(v, 6) for v in shared]}"),
    )
    for _, row in table.iterrows():
        out.add_row(
            escape(str(row["run"])),
            str(row["frontier_size"]),
            escape(str([round(v, 6) for v in row["reference_point"]])),
            f"{row['hypervolume']:.6g}",
            f"{row['hypervolume_shared']:.6g}",
        )
    console.print(out)


@app.command()
def dashboard(
    runs: Annotated[list[str], typer.Argument(help="One or two run directories (or pyarrow filesystem URIs).")],
    host: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it local.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8050,
    token: Annotated[
        str | None,
        typer.Option(
            help="Secret every request must carry (?token=, Bearer header); default $PARETOSWEEP_DASHBOARD_TOKEN. "
            "Required unless --host is loopback.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the frontier dashboard for the given runs (refreshes while a sweep runs)."""
    import os

    from paretosweep.dashboard import load_run, serve
    from paretosweep.dashboard._auth import check_bind, resolve_token

    secret = resolve_token(token, os.environ)
    try:  # before any run is read or any server starts
        check_bind(host, secret)
    except ParetoSweepError as error:
        _fail(error)
    for run_dir in runs:  # a clear message now, not a traceback later
        try:
            load_run(run_dir)
        except ParetoSweepError as error:
            err_console.print(f"[yellow]warning:[/] {escape(redact(str(error)))} The page will show it and retry.", highlight=False)
    opening = " (open it with ?token=<your token>)" if secret is not None else ""
    console.print(escape(redact(f"Dashboard on http://{host}:{port}/{opening} for {', '.join(runs)} (Ctrl-C stops it)")), highlight=False)
    serve(runs, host=host, port=port, token=secret)


@app.command()
def report(
    run_dir: Annotated[str, typer.Argument(help="Run directory.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path("report.html"),
) -> None:
    """Write one self-contained HTML report of a run (the dashboard's figures, no server)."""
    from paretosweep.dashboard import write_report

    try:
        written = write_report(run_dir, output)
    except ParetoSweepError as error:
        _fail(error)
    console.print(escape(f"Wrote {written}"), highlight=False)


from paretosweep.cli_cluster import register  # noqa: E402

register(app)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="paretosweep")


if __name__ == "__main__":  # pragma: no cover
    main()
