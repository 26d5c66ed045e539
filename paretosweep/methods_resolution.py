"""Check the spec's ``methods`` block against the method registry and the problem."""

from __future__ import annotations

from typing import Any

from paretosweep.config import SweepSpec
from paretosweep.problems._protocol import Problem


def resolve_methods(spec: SweepSpec, problem: Problem) -> list[tuple[str, dict[str, Any]]]:
    """Validate every ``methods[i]`` entry; return ``(name, params)`` pairs as Ray will carry them."""
    if not spec.methods:
        return []
    raise NotImplementedError("comparison methods arrive with issue 3")
