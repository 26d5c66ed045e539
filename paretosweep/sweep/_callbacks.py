"""``callbacks: [mlflow, tensorboard, wandb]``: the spec's tracking, as Ray Tune's own logger callbacks.

Each reported epoch (``ctx.report``'s numbers; the trial's stored row is not a metric) goes to:

* ``mlflow`` — :class:`ray.air.integrations.mlflow.MLflowLoggerCallback`, one MLflow run per trial
  in experiment ``experiment_name`` (default: the spec's ``name``). ``tracking_uri`` defaults to a
  local file store in the run directory (``<run_dir>/mlruns``; a URI run directory needs an
  explicit one). Options: ``tracking_uri``, ``experiment_name``, ``tags``, ``save_artifact``.
* ``tensorboard`` — :class:`ray.tune.logger.TBXLoggerCallback`: event files in each trial's
  directory (``<run_dir>/_tune/<experiment>/<trial>/``; ``tensorboard --logdir <run_dir>/_tune``).
  Needs ``tensorboardX``. No options.
* ``wandb`` — :class:`ray.air.integrations.wandb.WandbLoggerCallback`, one W&B run per trial in
  ``project`` (default: the spec's ``name``); any other option goes to ``wandb.init`` (e.g.
  ``mode: offline``, ``dir``). Credentials come from the environment (``WANDB_API_KEY``), never the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paretosweep.config import CallbackSpec, SweepSpec
from paretosweep.preflight import check_callbacks
from paretosweep.sweep._trainable import ROW_KEY

def _make(callback: CallbackSpec, spec: SweepSpec) -> Any:
    options = callback.options
    if callback.name == "mlflow":
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        tracking = options.get("tracking_uri") or f"sqlite:///{Path(spec.run_dir).resolve() / 'mlflow.db'}"
        return MLflowLoggerCallback(
            tracking_uri=tracking,
            experiment_name=options.get("experiment_name", spec.name),
            tags=options.get("tags"),
            save_artifact=bool(options.get("save_artifact", False)),
        )
    if callback.name == "tensorboard":
        from ray.tune.logger import TBXLoggerCallback

        return TBXLoggerCallback()
    from ray.air.integrations.wandb import WandbLoggerCallback

    rest = {k: v for k, v in options.items() if k != "project"}
    return WandbLoggerCallback(project=options.get("project", spec.name), excludes=[ROW_KEY], **rest)


def tracking_callbacks(spec: SweepSpec) -> list[Any]:
    """Ray Tune logger callbacks for ``spec.callbacks`` (checked by :func:`check_callbacks` first)."""
    check_callbacks(spec)
    return [_make(c, spec) for c in spec.callbacks]
