"""``paretosweep submit | status | logs | stop``: a sweep on a Ray cluster, through Ray's Jobs API.

``register(app)`` adds the four commands to the main ``paretosweep`` app. The address is the
head's dashboard (``http://HEAD:8265``); without ``--address`` it comes from
``RAY_API_SERVER_ADDRESS`` or ``RAY_ADDRESS``, as for ``ray job``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from paretosweep.cli_progress import print_error
from paretosweep.errors import ParetoSweepError

console = Console()
err_console = Console(stderr=True)

Address = Annotated[
    str | None,
    typer.Option(
        "--address",
        envvar=["RAY_API_SERVER_ADDRESS", "RAY_ADDRESS"],
        show_envvar=True,
        help="Jobs API of the Ray head (its dashboard), e.g. http://HEAD:8265.",
    ),
]
JobId = Annotated[str, typer.Argument(help="Job id printed by `paretosweep submit` (raysubmit_…).")]


def _fail(error: Exception) -> None:
    from paretosweep._redact import redact

    text = redact(str(error))
    print_error(err_console, error if text == str(error) else ParetoSweepError(text))
    raise typer.Exit(code=2)


def _storage_with_credentials(spec: Path, storage: str | None) -> str | None:
    """The run directory of this submission (``--storage``, else the spec's), if its URI carries credentials."""
    from paretosweep._redact import has_credentials

    if storage is None:
        import yaml

        try:
            storage = (yaml.safe_load(spec.read_text()) or {}).get("storage")
        except (OSError, yaml.YAMLError, AttributeError):
            return None
    return storage if isinstance(storage, str) and has_credentials(storage) else None


def submit(
    spec: Annotated[Path, typer.Argument(help="YAML sweep spec; validated here before it is sent.")],
    address: Address = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Override the spec's run directory: an absolute path every node shares, or a URI (s3://…). S3 credentials "
            "in the URI are sent in a file of the job's working directory, never in its entrypoint."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run directory (skip the trials it holds).")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run directory.")] = False,
    follow: Annotated[bool, typer.Option("--follow", help="Stream the job's log until it ends.")] = False,
    secret_env: Annotated[
        list[str] | None,
        typer.Option(
            "--secret-env",
            help="Send this environment variable of yours (e.g. a tracking token) to the job's processes, in a file of its "
            "working directory rather than its entrypoint or env_vars. Repeatable.",
        ),
    ] = None,
) -> None:
    """Submit a sweep to a Ray cluster as a job; prints the job id."""
    from paretosweep import cluster
    from paretosweep.imports import extend_import_path

    extend_import_path(spec.resolve().parent, Path.cwd())  # a `mymod:make_problem` beside the spec is found (and shipped)
    extra = [flag for flag, on in (("--resume", resume), ("--overwrite", overwrite)) if on]
    missing = [name for name in secret_env or () if name not in os.environ]
    if missing:
        _fail(ParetoSweepError(f"--secret-env names {missing}, which your environment does not set."))
    secrets = {name: os.environ[name] for name in secret_env or ()}
    try:
        job_id = cluster.submit(spec, address=address, storage=storage, extra_args=extra, secrets=secrets)
    except ParetoSweepError as error:
        _fail(error)
    sys.stdout.write(job_id + "\n")
    sys.stdout.flush()
    if (secret := _storage_with_credentials(spec, storage)) is not None:
        from paretosweep._redact import redact

        err_console.print(
            escape(
                f"The credentials of `{redact(secret)}` went to the job in a file of its working directory, not in its "
                "entrypoint, environment or log; anyone who can submit jobs to this cluster can still read that file. "
                "Prefer credentials configured on the nodes (an instance role, ~/.aws/credentials, a Kubernetes secret)."
            ),
            highlight=False,
        )
    where = f" --address {address}" if address else ""
    err_console.print(
        escape(f"Follow it: paretosweep logs {job_id}{where} --follow   ·   paretosweep status {job_id}{where}"), highlight=False
    )
    if follow:
        _stream(job_id, address)


def status(job_id: JobId, address: Address = None) -> None:
    """Print a job's status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED) and its message."""
    from paretosweep import cluster

    try:
        info = cluster.status(job_id, address=address)
    except ParetoSweepError as error:
        _fail(error)
    sys.stdout.write(info.status + "\n")
    if info.start_time:
        end = info.end_time or time.time()
        err_console.print(
            escape(f"{info.entrypoint}   ({end - info.start_time:.0f} s{'' if info.finished else ' so far'})"), highlight=False
        )
    if info.message:
        err_console.print(info.message.rstrip(), highlight=False, markup=False)


def logs(
    job_id: Annotated[str, typer.Argument(help="Job id from `paretosweep submit`, or a run directory with --trial.")],
    address: Address = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep streaming until the job ends.")] = False,
    trial: Annotated[str | None, typer.Option("--trial", help="Print this failed trial's traceback from the run directory given.")] = None,
) -> None:
    """Print a job's log (with --follow, stream it until the job ends), or with --trial a failed trial's traceback."""
    if trial is not None:
        from paretosweep.results import read_trial_log

        try:
            sys.stdout.write(read_trial_log(job_id, trial))
        except ParetoSweepError as error:
            _fail(error)
        return
    if follow:
        _stream(job_id, address)
        return
    from paretosweep import cluster

    try:
        for chunk in cluster.logs(job_id, address=address):
            sys.stdout.write(chunk)
    except ParetoSweepError as error:
        _fail(error)
    sys.stdout.flush()


def stop(job_id: JobId, address: Address = None) -> None:
    """Stop a running job (its trials stop; the run directory keeps what finished: --resume goes on)."""
    from paretosweep import cluster

    try:
        cluster.stop(job_id, address=address)
    except ParetoSweepError as error:
        _fail(error)
    console.print(escape(f"Asked Ray to stop job {job_id}."), highlight=False)


def _stream(job_id: str, address: str | None) -> None:
    from paretosweep import cluster

    try:
        for chunk in cluster.logs(job_id, address=address, follow=True):
            sys.stdout.write(chunk)
            sys.stdout.flush()
        info = cluster.status(job_id, address=address)
    except ParetoSweepError as error:
        _fail(error)
    except KeyboardInterrupt:  # stop following; the job goes on
        raise typer.Exit(code=130) from None
    err_console.print(escape(f"Job {job_id}: {info.status}"), highlight=False)
    if info.status != "SUCCEEDED":
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``submit``, ``status``, ``logs`` and ``stop`` to ``app`` as top-level commands."""
    for command in (submit, status, logs, stop):
        app.command()(command)
