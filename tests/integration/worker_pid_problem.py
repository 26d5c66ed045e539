"""``tests.integration.worker_pid_problem:make_pid_quadratic``: the sleepy quadratic, telling the test its worker.

Each epoch's evaluation writes the worker's pid to ``<pid_dir>/<pid>`` first, so that a test can
kill the worker of a running trial (a worker death, as when a node dies) and watch Ray Tune retry it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from tests.cluster.sleepy_problem import SleepyQuadratic


class PidQuadratic(SleepyQuadratic):
    def __init__(self, *, pid_dir: str, **sleepy: object) -> None:
        super().__init__(**sleepy)  # type: ignore[arg-type]
        self.pid_dir = Path(pid_dir)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        (self.pid_dir / str(os.getpid())).touch()
        return super().evaluate(model, device)


def make_pid_quadratic(*, pid_dir: str, epoch_seconds: float = 1.0, steps_per_epoch: int = 5) -> PidQuadratic:
    """A quadratic whose every epoch lasts ``epoch_seconds`` and names its worker in ``pid_dir``."""
    return PidQuadratic(
        pid_dir=pid_dir, epoch_seconds=epoch_seconds, steps_per_epoch=steps_per_epoch, init=0.0, fail_above=None, nan_below=None
    )
