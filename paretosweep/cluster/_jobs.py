"""Submit, follow and stop sweeps on a Ray cluster through Ray's Jobs API (``ray[default]``).

A submitted sweep is the job ``python -m paretosweep.cluster._job_entry run <spec> --address auto``
(``paretosweep run``, see :mod:`paretosweep.cluster._job_entry`), run by Ray on the head node. Its
runtime environment carries what the cluster cannot have already:

- ``working_dir``: a temporary folder holding the spec file, its ``storage`` set to the run
  directory without credentials (never the caller's project: a big working directory is slow to
  upload, and the cluster has paretosweep installed); a single-file problem module (``mod.py``),
  which Ray puts on every worker's path; and, when the storage URI carried S3 credentials, the
  job's secrets file, which the entrypoint and every worker load (``worker_process_setup_hook``);
- ``py_modules``: the user's problem package, when ``problem.name`` is an import path whose
  module is a local folder (not an installed package).

Neither the storage URI's credentials nor the storage override are in the entrypoint, which
Ray shows in ``paretosweep status``, the dashboard and the job's log; everything printed from
the job (status, message, log) goes through :func:`paretosweep._redact.redact` as well.

The spec is validated here, against its problem, before anything is sent, so a bad spec fails
on the laptop. The run directory must be one the cluster can write: an absolute path on storage
shared by the nodes, or a pyarrow filesystem URI (``s3://``, ``gs://``, ...).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import queue
import shlex
import shutil
import sys
import sysconfig
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretosweep._redact import redact, split_credentials
from paretosweep.cluster._address import ClusterError, JobNotFoundError, _address_env_cleared, check_jobs_api, jobs_api_url
from paretosweep.cluster._job_secrets import SECRETS_FILE, SETUP_HOOK
from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

#: Metadata key of a submitted job: the spec file name (lets `status` say what a job is).
META_SPEC = "paretosweep.spec"


@dataclass(frozen=True)
class JobStatus:
    """What ``paretosweep status`` prints."""

    job_id: str
    status: str  # PENDING | RUNNING | STOPPED | SUCCEEDED | FAILED
    message: str | None
    entrypoint: str | None
    start_time: float | None  # seconds since the epoch
    end_time: float | None

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.status in {"STOPPED", "SUCCEEDED", "FAILED"}


def client(address: str | None) -> JobSubmissionClient:
    """A Jobs API client for ``address`` — after checking, within seconds, that something answers there.

    Raises:
        ClusterUnreachableError: nothing answers at the address.
        ClusterError: no address, or Ray refused the connection (authentication, version).
    """
    url = jobs_api_url(address)
    check_jobs_api(url)
    from ray.job_submission import JobSubmissionClient

    try:
        with _address_env_cleared():
            return JobSubmissionClient(url)
    except Exception as error:  # AuthenticationError, version mismatch, a server that is not Ray's
        raise ClusterError(f"The Ray Jobs API at {url} refused the connection: {error}") from None


def validate_for_cluster(spec_path: str | os.PathLike[str], *, storage: str | None = None) -> SweepSpec:
    """Load, override and plan the spec here; check that its run directory suits a cluster job.

    Raises:
        ConfigError: a bad spec (field path and fix in the message), or ``storage`` unset or relative.
    """
    from paretosweep.config import as_spec
    from paretosweep.planning import build_plan

    spec = as_spec(Path(spec_path))
    if storage is not None:
        spec = spec.model_copy(update={"storage": storage})
    build_plan(spec)  # every check that needs the problem, here rather than on the cluster
    run_dir = spec.storage
    if run_dir is None or ("://" not in run_dir and not os.path.isabs(run_dir)):
        found = f"`{redact(run_dir)}`, a relative path" if run_dir else f"not set (so `runs/{spec.name}`, a relative path)"
        raise ConfigError(
            f"`storage` is {found}: a submitted sweep runs in a temporary directory on the Ray head, where a "
            "relative run directory would be lost. Set `storage` (or `--storage`) to an absolute path on storage "
            "every node shares (e.g. /runs/my-sweep) or to a URI (s3://bucket/runs/my-sweep, gs://…)."
        )
    return spec


def local_problem_modules(problem_name: str) -> list[str]:
    """The local file or folder to ship for an import-path problem (``[]`` for built-ins and installed packages).

    For ``pkg.sub:make`` the top-level package folder ``pkg/`` is shipped; for ``mod:make`` the
    single file ``mod.py``. Modules under site-packages or the standard library are expected to be
    installed on the cluster as well, and are not shipped.
    """
    if ":" not in problem_name:
        return []
    top = problem_name.partition(":")[0].split(".")[0]
    if top == "paretosweep" or top in sys.stdlib_module_names:
        return []
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return []
    if found is None:
        return []
    if found.submodule_search_locations:  # a package (regular or namespace): ship its folder
        location = Path(next(iter(found.submodule_search_locations))).resolve()
    elif found.origin and found.origin not in {"built-in", "frozen"}:
        location = Path(found.origin).resolve()
    else:
        return []
    if location.suffix not in {"", ".py"}:  # an extension module: it must be installed on the cluster
        return []
    paths = sysconfig.get_paths()
    installed = {Path(paths[key]).resolve() for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    if any(parent in installed for parent in location.parents):
        return []
    return [str(location)]


def submit(
    spec_path: str | os.PathLike[str],
    *,
    address: str | None = None,
    storage: str | None = None,
    extra_args: Sequence[str] = (),
    submission_id: str | None = None,
    secrets: Mapping[str, str] | None = None,
) -> str:
    """Validate ``spec_path`` here, then submit it as a Ray job; returns the job id.

    Args:
        spec_path: the YAML spec.
        address: the Jobs API address, ``http://HEAD:8265`` (default: RAY_API_SERVER_ADDRESS, then RAY_ADDRESS).
        storage: override the spec's run directory (absolute path shared by the nodes, or a URI).
        extra_args: more ``paretosweep run`` options, e.g. ``("--resume",)``.
        submission_id: the job id to use (Ray makes one up otherwise).
        secrets: more environment variables for the job's processes (e.g. a tracking server's token),
            sent like the storage credentials: in a file of the job's working directory, not in its
            entrypoint, ``env_vars`` or log.

    Raises:
        ConfigError: the spec is invalid, or its run directory is not absolute.
        ClusterUnreachableError: nothing answers at ``address``.
        ClusterError: the cluster refused the job.
    """
    path = Path(spec_path)
    spec = validate_for_cluster(path, storage=storage)
    clean_storage, storage_secrets = split_credentials(spec.storage or "")
    secrets = {**storage_secrets, **(secrets or {})}
    spec = spec.model_copy(update={"storage": clean_storage})
    jobs = client(address)
    _check_fits(jobs, spec)
    entry = ["python", "-m", "paretosweep.cluster._job_entry", "run", path.name, "--address", "auto", *extra_args]
    with tempfile.TemporaryDirectory(prefix="paretosweep-job-") as folder:
        _write_job_spec(path, Path(folder) / path.name, clean_storage)
        runtime_env: dict[str, Any] = {"working_dir": folder, "env_vars": {"PYTHONUNBUFFERED": "1"}}
        if secrets:
            secrets_path = Path(folder) / SECRETS_FILE
            secrets_path.touch(mode=0o600)
            secrets_path.write_text(json.dumps(secrets))
            runtime_env["worker_process_setup_hook"] = SETUP_HOOK
        modules = []
        for module in local_problem_modules(spec.problem.name or spec.problem.trainable or ""):
            if Path(module).is_file():  # Ray's py_modules takes folders only: a lone `mod.py` goes in the working dir
                shutil.copyfile(module, Path(folder) / Path(module).name)
            else:
                modules.append(module)
        if modules:
            runtime_env["py_modules"] = modules
        try:
            return jobs.submit_job(
                entrypoint=shlex.join(entry),
                runtime_env=runtime_env,
                submission_id=submission_id,
                metadata={META_SPEC: path.name},
            )
        except Exception as error:
            raise ClusterError(f"The cluster refused the job for `{path}`: {redact(str(error))}") from None


def _write_job_spec(source: Path, target: Path, storage: str) -> None:
    """Copy the spec to ``target`` with ``storage`` set (the run directory, without credentials)."""
    import yaml

    data = yaml.safe_load(source.read_text()) or {}
    if data.get("storage") == storage:
        shutil.copyfile(source, target)
        return
    data["storage"] = storage
    target.write_text(yaml.safe_dump(data, sort_keys=False))


def status(job_id: str, *, address: str | None = None) -> JobStatus:
    """The job's status, its message (the error of a failed job) and its times.

    Raises:
        JobNotFoundError: no job with this id on the cluster.
    """
    jobs = client(address)
    info = _call(jobs.get_job_info, job_id, address=jobs.get_address())
    return JobStatus(
        job_id=job_id,
        status=str(getattr(info.status, "value", info.status)),
        message=redact(info.message) if info.message else info.message,
        entrypoint=redact(info.entrypoint) if info.entrypoint else info.entrypoint,
        start_time=info.start_time / 1000 if info.start_time else None,
        end_time=info.end_time / 1000 if info.end_time else None,
    )


def logs(job_id: str, *, address: str | None = None, follow: bool = False) -> Iterator[str]:
    """The job's log: all of it as one chunk, or (``follow``) chunks as they come until the job ends.

    Raises:
        JobNotFoundError: no job with this id on the cluster (raised here, before iterating).
    """
    jobs = client(address)
    if not follow:
        return iter([redact(_call(jobs.get_job_logs, job_id, address=jobs.get_address()))])
    _call(jobs.get_job_info, job_id, address=jobs.get_address())  # a clear error for an unknown id
    return (redact(chunk) for chunk in _iterate_async(lambda: jobs.tail_job_logs(job_id)))


def stop(job_id: str, *, address: str | None = None) -> str:
    """Ask Ray to stop a running job; returns the status it had.

    Raises:
        JobNotFoundError: no job with this id on the cluster.
        ClusterError: the job already finished (its final status is in the message).
    """
    jobs = client(address)
    info = _call(jobs.get_job_info, job_id, address=jobs.get_address())
    state = str(getattr(info.status, "value", info.status))
    if state in {"STOPPED", "SUCCEEDED", "FAILED"}:
        raise ClusterError(f"Job `{job_id}` already finished with status {state}; there is nothing to stop.")
    if not _call(jobs.stop_job, job_id, address=jobs.get_address()):
        final = _call(jobs.get_job_status, job_id, address=jobs.get_address())
        raise ClusterError(f"Job `{job_id}` finished (status {getattr(final, 'value', final)}) before it could be stopped.")
    return state


def _call(method: Callable[[str], Any], job_id: str, *, address: str) -> Any:
    """Call a job SDK method, turning Ray's 404 into :class:`JobNotFoundError`."""
    try:
        return method(job_id)
    except RuntimeError as error:
        text = str(error)
        if "404" in text or "does not exist" in text:
            raise JobNotFoundError(
                f"No job `{job_id}` on the Ray cluster at {address}. Job ids look like `raysubmit_…` (printed by "
                "`paretosweep submit`); `ray job list --address ...` lists them."
            ) from None
        raise ClusterError(f"The Ray Jobs API at {address} failed for job `{job_id}`: {redact(text)}") from None


def _iterate_async(make_agen: Callable[[], AsyncIterator[str]]) -> Iterator[str]:
    """Drive an async iterator from synchronous code, one item at a time.

    The iterator runs on an event loop of its own in a helper thread: the calling thread may
    already run a loop (a notebook, an async app, a test session with a sync Playwright), where
    ``run_until_complete`` would fail with "Cannot run the event loop while another loop is running".
    """
    items: queue.Queue[Any] = queue.Queue()
    done = object()

    async def pump() -> None:
        agen = make_agen()
        try:
            async for item in agen:
                items.put(item)
        finally:
            await agen.aclose()  # type: ignore[attr-defined]

    def run() -> None:
        try:
            asyncio.run(pump())
        except BaseException as error:  # handed to the caller's thread
            items.put(error)
        finally:
            items.put(done)

    threading.Thread(target=run, name="paretosweep-follow-logs", daemon=True).start()
    while (item := items.get()) is not done:
        if isinstance(item, BaseException):
            raise ClusterError(f"Following the job's log failed: {type(item).__name__}: {redact(str(item))}") from item
        yield item


def _check_fits(jobs: JobSubmissionClient, spec: SweepSpec) -> None:
    """Check ``resources`` against the cluster's nodes through the state API; skipped if that API fails."""
    from paretosweep.cluster._resources import check_trial_fits

    try:
        from ray.util.state import list_nodes

        with _address_env_cleared():
            states = list_nodes(address=jobs.get_address(), timeout=5)
        nodes = [{"Alive": s.state == "ALIVE", "Resources": dict(s.resources_total or {})} for s in states]
    except Exception:  # an older or locked-down dashboard: the job checks again on the cluster
        return
    if nodes:
        check_trial_fits(spec, nodes)
