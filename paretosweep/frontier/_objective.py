"""What one objective is: a task, the metric column that measures it, and which way is better."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Objective:
    """One objective: ``name`` (the task), the metric ``column`` and its ``direction``."""

    name: str
    column: str
    direction: Literal["min", "max"]
