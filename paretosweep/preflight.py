"""What is checked before Ray starts, beyond the spec and its plan: the run directory and the machine.

* :func:`check_run_dir`: a directory that holds a run is refused without ``--resume`` /
  ``--overwrite`` (changes nothing).
* :func:`probe_run_dir`: the run directory can be created and written (a probe file, removed
  again); with ``keep=False`` whatever it had to create is removed too, so ``--dry-run`` leaves
  nothing behind.
* :func:`prepare_run_dir`: under the run's lease, clear the directory for ``--overwrite`` (the
  lease file stays), create it, probe it, and remove the temporary files an interrupted write left
  (the driver calls it once the lease is held and Ray is up).
* :func:`preflight`: the run directory checks plus, for a local Ray, whether this machine can
  hold one trial (``resources.gpu`` against the GPUs torch sees).

Local paths and pyarrow filesystem URIs (``s3://``, ``file://``) alike. No Ray in here.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import posixpath
import uuid
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep._redact import redact, storage_error
from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError, RunDirectoryError
from paretosweep.results import TRIALS_FILE, resolve
from paretosweep.results._fs import remove_stale_temp_files
from paretosweep.results._journal import RECORDS_DIR
from paretosweep.results._lock import LEASE_FILE

logger = logging.getLogger(__name__)


def check_run_dir(run_dir: str, *, resume: bool, overwrite: bool) -> None:
    """Refuse a run directory that holds a run, unless resuming or overwriting; changes nothing.

    Raises:
        RunDirectoryError: both flags, a file in the way, an existing run without a flag,
            ``--overwrite`` on a non-empty directory that holds no paretosweep run, or storage that
            cannot be read (``_redact.storage_error``: the URI redacted, and what to check).
    """
    if resume and overwrite:
        raise RunDirectoryError("Give either --resume or --overwrite, not both.")
    fs, path = resolve(run_dir)
    try:
        info = fs.get_file_info(path)
        entries = fs.get_file_info(pafs.FileSelector(path)) if info.type == pafs.FileType.Directory else []
    except (OSError, pa.ArrowException) as error:  # storage that refuses or cannot be reached: say which and the fix
        raise storage_error(run_dir, error) from None
    if info.type == pafs.FileType.NotFound:
        return
    if info.type != pafs.FileType.Directory:
        raise RunDirectoryError(redact(f"Run directory `{run_dir}` exists and is not a directory. Set `storage` to a directory path."))
    if not entries or resume:
        return
    names = {e.base_name for e in entries}
    if not overwrite:
        raise RunDirectoryError(
            f"Run directory `{redact(run_dir)}` already exists. Pass --resume to continue it, --overwrite to replace it, "
            "or set `storage` to a new path."
        )
    if TRIALS_FILE not in names and "_tune" not in names:
        raise RunDirectoryError(f"Refusing to --overwrite `{redact(run_dir)}`: it is not empty and holds no paretosweep run.")


def _highest_missing(fs: pafs.FileSystem, path: str) -> str | None:
    """The outermost directory of ``path`` that does not exist yet (None if ``path`` exists)."""
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        return None
    missing = path
    parent = posixpath.dirname(missing.rstrip("/"))
    while parent and parent != missing and fs.get_file_info(parent).type == pafs.FileType.NotFound:
        missing, parent = parent, posixpath.dirname(parent.rstrip("/"))
    return missing


def probe_run_dir(run_dir: str, *, keep: bool) -> None:
    """Create the run directory if needed and write (then delete) a probe file in it.

    Deletes nothing that was there. With ``keep=False``, the directories this call created are
    removed again, so nothing persists.

    Raises:
        RunDirectoryError: it cannot be created or written, naming ``storage`` and the fix.
    """
    fs, path = resolve(run_dir)
    created = None
    try:
        created = _highest_missing(fs, path)
        fs.create_dir(path, recursive=True)
        probe = f"{path.rstrip('/')}/.write-probe-{uuid.uuid4().hex}"
        with fs.open_output_stream(probe) as stream:
            stream.write(b"")
        fs.delete_file(probe)
    except (OSError, pa.ArrowException) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise RunDirectoryError(
            redact(f"Cannot write to run directory `{run_dir}` ({reason}). Set `storage` to a writable path.")
        ) from None
    finally:
        if not keep and created is not None and fs.get_file_info(created).type == pafs.FileType.Directory:
            fs.delete_dir(created)


def prepare_run_dir(run_dir: str, *, overwrite: bool) -> None:
    """Under the run's lease (after :func:`check_run_dir`): clear the directory for ``overwrite`` (the
    lease file stays), create it, prove it is writable, and remove the temporary files an interrupted
    write left.

    Raises:
        RunDirectoryError: it cannot be cleared, created or written.
    """
    fs, path = resolve(run_dir)
    if overwrite and fs.get_file_info(path).type == pafs.FileType.Directory:
        try:
            for entry in fs.get_file_info(pafs.FileSelector(path)):
                if entry.base_name == LEASE_FILE:
                    continue
                if entry.type == pafs.FileType.Directory:
                    fs.delete_dir(entry.path)
                else:
                    fs.delete_file(entry.path)
        except (OSError, pa.ArrowException) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise RunDirectoryError(redact(f"Cannot clear run directory `{run_dir}` for --overwrite ({reason}).")) from None
    probe_run_dir(run_dir, keep=True)
    removed = remove_stale_temp_files(fs, path, (RECORDS_DIR,))
    if removed:
        logger.info("Removed %d temporary file(s) an interrupted write left in `%s`.", len(removed), redact(run_dir))


def preflight(spec: SweepSpec, *, resume: bool, overwrite: bool, keep: bool, local_machine: bool = True) -> None:
    """Everything that can refuse a sweep before Ray starts, beyond :func:`paretosweep.planning.build_plan`.

    Args:
        spec: the validated spec (its ``storage``, ``resources`` and ``ray`` blocks are read).
        resume, overwrite: the run's flags (see :func:`check_run_dir`).
        keep: keep a run directory this call had to create (``False`` for ``--dry-run``).
        local_machine: check ``resources`` against this machine when ``ray.address`` is unset
            (``False`` when the process is already attached to a Ray).

    Raises:
        RunDirectoryError: the run directory holds a run, or cannot be written.
        ConfigError: a local Ray could not hold one trial (e.g. ``resources.gpu`` without a GPU).
    """
    if local_machine:
        from paretosweep.cluster import check_local_trial_fits

        check_local_trial_fits(spec)
    check_callbacks(spec)
    check_run_dir(spec.run_dir, resume=resume, overwrite=overwrite)
    probe_run_dir(spec.run_dir, keep=keep)


#: callback name -> the package it needs and the pip extra that installs it.
NEEDS = {"mlflow": ("mlflow", "mlflow"), "tensorboard": ("tensorboardX", "tensorboard"), "wandb": ("wandb", "wandb")}
#: the options each callback takes (W&B's: Ray's callback's own, then any ``wandb.init`` argument).
OPTIONS = {
    "mlflow": {"tracking_uri", "experiment_name", "tags", "save_artifact"},
    "tensorboard": set(),
}
WANDB_CALLBACK_OPTIONS = {"project", "group", "excludes", "log_config", "upload_checkpoints", "upload_timeout"}
#: credentials in a spec end up in the run directory and the logs: W&B's come from the environment.
WANDB_SECRETS = {"api_key", "api_key_file"}
#: W&B modes that write locally and need no credentials.
LOCAL_WANDB_MODES = ("offline", "disabled")


def check_callbacks(spec: SweepSpec) -> None:
    """Refuse, before Ray starts, a callback whose package is missing, an option it does not take,
    an MLflow file store that MLflow refuses, or W&B without credentials.

    Raises:
        ConfigError: naming ``callbacks[i]`` and the fix.
    """
    for i, callback in enumerate(spec.callbacks):
        module, extra = NEEDS[callback.name]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"`callbacks[{i}]: {callback.name}` needs the `{module}` package, which is not installed: "
                f'`pip install "paretosweep[{extra}]"` (or `pip install {module}`), or drop the callback.'
            )
        if callback.name == "wandb":
            _check_wandb(i, callback.options)
            continue
        allowed = OPTIONS[callback.name]
        unknown = sorted(set(callback.options) - allowed)
        if unknown:
            raise ConfigError(f"`callbacks[{i}]` ({callback.name}) has no option {unknown}; it takes {sorted(allowed)}.")
        if callback.name == "mlflow":
            _check_mlflow(i, callback.options, spec.run_dir)


def _check_mlflow(i: int, options: dict[str, Any], run_dir: str) -> None:
    uri = options.get("tracking_uri")
    if uri is None:
        if "://" in run_dir:
            raise ConfigError(
                f"`callbacks[{i}]: mlflow` on a run directory URI (`{redact(run_dir)}`) needs an explicit `tracking_uri` "
                "(the default is a SQLite store inside a local run directory)."
            )
        return
    if not isinstance(uri, str) or not uri:
        raise ConfigError(f"`callbacks[{i}].tracking_uri` should be an MLflow tracking URI string; found {uri!r}.")
    scheme = urlparse(uri).scheme
    if scheme in ("", "file") or len(scheme) == 1:  # a path, a file:// URI or a Windows drive: MLflow's file store
        from mlflow import environment_variables

        allow = getattr(environment_variables, "MLFLOW_ALLOW_FILE_STORE", None)  # older MLflow: always allowed
        if allow is not None and not allow.get():
            raise ConfigError(
                f"`callbacks[{i}].tracking_uri: {uri}` is an MLflow file store, which this MLflow refuses. "
                "Use a database store (e.g. `sqlite:////abs/path/mlflow.db`), a tracking server (`http://...`), "
                "leave `tracking_uri` out (the run's own SQLite store), or set `MLFLOW_ALLOW_FILE_STORE=true`."
            )


def _check_wandb(i: int, options: dict[str, Any]) -> None:
    secrets = sorted(set(options) & WANDB_SECRETS)
    if secrets:
        raise ConfigError(
            f"`callbacks[{i}]: wandb` has {secrets}: credentials do not belong in a spec. "
            "Set `WANDB_API_KEY` in the environment or run `wandb login`, and drop the option."
        )
    import inspect

    import wandb

    accepted = WANDB_CALLBACK_OPTIONS | set(inspect.signature(wandb.init).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(
            f"`callbacks[{i}]` (wandb) has no option {unknown}; it takes Ray's {sorted(WANDB_CALLBACK_OPTIONS)} "
            "and any `wandb.init` argument (e.g. `mode`, `dir`, `entity`, `tags`)."
        )
    mode = options.get("mode") or os.environ.get("WANDB_MODE")
    if mode in LOCAL_WANDB_MODES or os.environ.get("WANDB_API_KEY"):
        return
    if not wandb.login(prompt=False, verify=False):
        raise ConfigError(
            f"`callbacks[{i}]: wandb` found no W&B credentials. Set `WANDB_API_KEY` or run `wandb login`; "
            "or log locally with `mode: offline` (or `WANDB_MODE=offline`) and `wandb sync` later."
        )
