"""``callbacks: [mlflow, tensorboard, wandb]``: the spec's tracking, as Ray Tune's own logger callbacks.

Each reported epoch (``ctx.report``'s numbers; the trial's stored row is not a metric) goes to:

* ``mlflow`` — :class:`ray.air.integrations.mlflow.MLflowLoggerCallback`, one MLflow run per trial
  in experiment ``experiment_name`` (default: the spec's ``name``); the paretosweep trial id is the
  run's ``trial/trial_id`` parameter. ``tracking_uri`` defaults to a SQLite store in the run
  directory, ``sqlite:///<run_dir>/mlflow.db``, with artifacts in ``<run_dir>/mlartifacts`` (MLflow 3
  refuses its old ``./mlruns`` file store unless ``MLFLOW_ALLOW_FILE_STORE=true``; a URI run
  directory needs an explicit ``tracking_uri``). Options: ``tracking_uri``, ``experiment_name``,
  ``tags``, ``save_artifact``.
* ``tensorboard`` — :class:`ray.tune.logger.TBXLoggerCallback`: event files in each trial's
  directory (``<run_dir>/_tune/<experiment>/<trial_id>/``, scalars tagged ``ray/tune/<metric>``;
  ``tensorboard --logdir <run_dir>/_tune``). Needs ``tensorboardX``. No options.
* ``wandb`` — :class:`ray.air.integrations.wandb.WandbLoggerCallback`, one W&B run per trial in
  ``project`` (default: the spec's ``name``); Ray's own options (``group``, ``excludes``,
  ``log_config``, ...) go to the callback, any other to ``wandb.init`` (e.g. ``mode: offline``,
  ``dir``); ``WANDB_MODE`` and ``WANDB_DIR`` of the driver's environment fill ``mode`` and ``dir``
  when the spec leaves them out, since W&B's logging actors need not share that environment (a Ray
  started before they were set). Credentials come from the environment (``WANDB_API_KEY``,
  ``wandb login``), never the spec.

:func:`paretosweep.preflight.check_callbacks` refuses a missing package, an unknown option or
missing W&B credentials before Ray starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from paretosweep.config import CallbackSpec, SweepSpec
from paretosweep.preflight import LOCAL_WANDB_MODES, check_callbacks
from paretosweep.sweep._trainable import ROW_KEY


def default_tracking_uri(run_dir: str) -> str:
    """The MLflow store of a local run directory: ``sqlite:///<run_dir>/mlflow.db`` (absolute)."""
    return f"sqlite:///{Path(run_dir).resolve() / 'mlflow.db'}"


def _mlflow(options: dict[str, Any], spec: SweepSpec) -> Any:
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    experiment = str(options.get("experiment_name", spec.name))
    tracking = options.get("tracking_uri")
    if tracking is None:  # the run's own store: its artifacts stay in the run directory, not in the cwd
        tracking = default_tracking_uri(spec.run_dir)
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=tracking)
        if client.get_experiment_by_name(experiment) is None:
            client.create_experiment(experiment, artifact_location=(Path(spec.run_dir).resolve() / "mlartifacts").as_uri())
    return MLflowLoggerCallback(
        tracking_uri=tracking,
        experiment_name=experiment,
        tags=options.get("tags"),
        save_artifact=bool(options.get("save_artifact", False)),
    )


def _wandb(options: dict[str, Any], spec: SweepSpec) -> Any:
    rest = {k: v for k, v in options.items() if k not in ("project", "excludes")}
    for option, variable in (("mode", "WANDB_MODE"), ("dir", "WANDB_DIR")):  # the logging actors may not share our env
        if option not in rest and os.environ.get(variable):
            rest[option] = os.environ[variable]
    if "dir" in rest:  # the actors' working directory is Ray's, not ours
        rest["dir"] = str(Path(rest["dir"]).expanduser().resolve())
    excludes = [ROW_KEY, *options.get("excludes", [])]
    from ray.air.integrations.wandb import WandbLoggerCallback

    callback: type[WandbLoggerCallback] = WandbLoggerCallback
    if rest.get("mode") in LOCAL_WANDB_MODES:
        from paretosweep.sweep._wandb import LocalWandbLoggerCallback

        callback = LocalWandbLoggerCallback
    return callback(project=options.get("project", spec.name), excludes=excludes, **rest)


def _make(callback: CallbackSpec, spec: SweepSpec) -> Any:
    if callback.name == "mlflow":
        return _mlflow(callback.options, spec)
    if callback.name == "tensorboard":
        from ray.tune.logger import TBXLoggerCallback

        return TBXLoggerCallback()
    return _wandb(callback.options, spec)


def tracking_callbacks(spec: SweepSpec) -> list[Any]:
    """Ray Tune logger callbacks for ``spec.callbacks`` (checked by :func:`check_callbacks` first)."""
    check_callbacks(spec)
    return [_make(c, spec) for c in spec.callbacks]
