"""What is checked before Ray starts, beyond the spec and its plan: the run directory and the machine.

* :func:`check_run_dir`: a directory that holds a run is refused without ``--resume`` /
  ``--overwrite`` (changes nothing).
* :func:`probe_run_dir`: the run directory can be created and written (a probe file, removed
  again); with ``keep=False`` whatever it had to create is removed too, so ``--dry-run`` leaves
  nothing behind.
* :func:`prepare_run_dir`: the same checks, then clear the directory for ``--overwrite`` and keep
  it created (the driver calls it once Ray is up and the trial fits).
* :func:`preflight`: the run directory checks plus, for a local Ray, whether this machine can
  hold one trial (``resources.gpu`` against the GPUs torch sees).

Local paths and pyarrow filesystem URIs (``s3://``, ``file://``) alike. No Ray in here.
"""

from __future__ import annotations

import importlib.util
import posixpath
import uuid

import pyarrow as pa
import pyarrow.fs as pafs

from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError, RunDirectoryError
from paretosweep.results import TRIALS_FILE, resolve


def check_run_dir(run_dir: str, *, resume: bool, overwrite: bool) -> None:
    """Refuse a run directory that holds a run, unless resuming or overwriting; changes nothing.

    Raises:
        RunDirectoryError: both flags, a file in the way, an existing run without a flag, or
            ``--overwrite`` on a non-empty directory that holds no paretosweep run.
    """
    if resume and overwrite:
        raise RunDirectoryError("Give either --resume or --overwrite, not both.")
    fs, path = resolve(run_dir)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        return
    if info.type != pafs.FileType.Directory:
        raise RunDirectoryError(f"Run directory `{run_dir}` exists and is not a directory. Set `storage` to a directory path.")
    entries = fs.get_file_info(pafs.FileSelector(path))
    if not entries or resume:
        return
    names = {e.base_name for e in entries}
    if not overwrite:
        raise RunDirectoryError(
            f"Run directory `{run_dir}` already exists. Pass --resume to continue it, --overwrite to replace it, "
            "or set `storage` to a new path."
        )
    if TRIALS_FILE not in names and "_tune" not in names:
        raise RunDirectoryError(f"Refusing to --overwrite `{run_dir}`: it is not empty and holds no paretosweep run.")


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
        raise RunDirectoryError(f"Cannot write to run directory `{run_dir}` ({reason}). Set `storage` to a writable path.") from None
    finally:
        if not keep and created is not None and fs.get_file_info(created).type == pafs.FileType.Directory:
            fs.delete_dir(created)


def prepare_run_dir(run_dir: str, *, resume: bool, overwrite: bool) -> None:
    """Check the run directory, clear it for ``overwrite``, create it and prove it is writable.

    Raises:
        RunDirectoryError: see :func:`check_run_dir`; or it cannot be created or written.
    """
    check_run_dir(run_dir, resume=resume, overwrite=overwrite)
    fs, path = resolve(run_dir)
    try:
        if overwrite and fs.get_file_info(path).type == pafs.FileType.Directory:
            fs.delete_dir(path)
    except (OSError, pa.ArrowException) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise RunDirectoryError(f"Cannot clear run directory `{run_dir}` for --overwrite ({reason}).") from None
    probe_run_dir(run_dir, keep=True)


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
OPTIONS = {
    "mlflow": {"tracking_uri", "experiment_name", "tags", "save_artifact"},
    "tensorboard": set(),
}


def check_callbacks(spec: SweepSpec) -> None:
    """Refuse, before Ray starts, a callback whose package is missing or an option it does not take.

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
        allowed = OPTIONS.get(callback.name)
        unknown = sorted(set(callback.options) - allowed) if allowed is not None else []
        if unknown:
            raise ConfigError(
                f"`callbacks[{i}]` ({callback.name}) has no option {unknown}; it takes {sorted(allowed or [])}."
            )
        if callback.name == "mlflow" and "://" in spec.run_dir and "tracking_uri" not in callback.options:
            raise ConfigError(
                f"`callbacks[{i}]: mlflow` on a run directory URI (`{spec.run_dir}`) needs an explicit `tracking_uri` "
                "(the default is a file store inside a local run directory)."
            )
