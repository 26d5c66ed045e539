"""Row factories and a fresh run for the results tests."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from paretosweep.results import Objective, RunStore

OBJECTIVES = (Objective("left", "left_loss", "min"), Objective("right", "right_acc", "max"))
METRICS = ("left_loss", "right_acc", "left_acc")
TASKS = ("left", "right")


def row(trial_id: str, left_loss: float | None, right_acc: float | None, **extra: Any) -> dict[str, Any]:
    """A completed scalarization trial unless ``extra`` says otherwise.

    Each trial id gets its own weight vector (so its own configuration) unless ``weights`` is given.
    """
    w = (zlib.crc32(trial_id.encode()) % 997 + 1) / 999
    base: dict[str, Any] = {
        "trial_id": trial_id,
        "status": "completed",
        "kind": "scalarization",
        "scalarizer": "linear",
        "weights": [w, 1 - w],
        "seed": 0,
        "train_seconds": 1.5,
        "started_at": 1_700_000_000.0,
        "finished_at": 1_700_000_010.0,
        "left_loss": left_loss,
        "right_acc": right_acc,
    }
    base.update(extra)
    return base


def new_run(path: Path | str, *, reference_point: list[float] | None = None, **kwargs: Any) -> RunStore:
    return RunStore(path, **kwargs).create(
        objectives=OBJECTIVES,
        tasks=TASKS,
        metric_columns=METRICS,
        reference_point=reference_point,
        spec={"name": "toy", "seeds": [0, 1]},
    )
