"""What a finished trial produced, and the two ways a trainable stops early on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paretosweep.errors import ParetoSweepError


class Diverged(Exception):
    """A loss or metric became NaN or infinite: the trial stops with status ``diverged``."""


class TrainableError(ParetoSweepError):
    """A trainable used its context wrongly (unknown task, missing objective, ...): the trial fails, not retried."""


@dataclass
class TrialOutcome:
    """What a finished trial produced (the row of ``trials.parquet`` is built from it)."""

    status: str  # completed | diverged | failed
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    epochs_done: int = 0
    effective_weights_mean: list[float] | None = None
    effective_weights_final: list[float] | None = None
    train_seconds: float = 0.0
    method_hparams: dict[str, Any] = field(default_factory=dict)
    #: ``test_<column>`` values of the trained model on the test split (reported only; empty without one)
    test_metrics: dict[str, float] = field(default_factory=dict)
    #: the full traceback of a failed trial (kept in the run directory's ``logs/``, not in Parquet)
    traceback: str | None = None
    #: the last checkpoint the trial reported, in memory (a packed trial saves its members' side by side)
    checkpoint: Any = None
