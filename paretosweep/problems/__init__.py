"""Problems: data + model + per-task losses and metrics, and the registry that names them.

Built-ins (``paretosweep problems`` lists them): ``fonseca``, ``cagrad_toy``, ``three_wells``,
``synthetic``, ``multimnist``, ``recsys``. A user's problem is named by import path, ``"mypkg.tasks:make"``,
and follows :class:`Problem`.
"""

from __future__ import annotations

from paretosweep.problems._protocol import (
    Direction,
    ExactFront,
    Metric,
    PackedProblem,
    Problem,
    ProblemWithTestSplit,
    TaskSpec,
    column,
    has_shared_representation,
    has_test_split,
)
from paretosweep.problems._registry import (
    available_problems,
    canonical_params_json,
    make_problem,
    make_problem_cached,
    problem_factory,
    register_problem,
)

# Built-ins register themselves on import (after the registry exists).
from paretosweep.problems import _cagrad_toy, _fonseca, _multimnist, _recsys, _synthetic, _three_wells  # noqa: F401  isort: skip

__all__ = [
    "Direction",
    "ExactFront",
    "Metric",
    "PackedProblem",
    "Problem",
    "ProblemWithTestSplit",
    "TaskSpec",
    "available_problems",
    "canonical_params_json",
    "column",
    "has_shared_representation",
    "has_test_split",
    "make_problem",
    "make_problem_cached",
    "problem_factory",
    "register_problem",
]
