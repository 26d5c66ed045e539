"""paretosweep: map the Pareto frontier of a multi-task model by sweeping loss weights on Ray Tune.

The flow, one module per stage: ``config`` (YAML → SweepSpec) → ``planning`` (spec + ``problems``
→ objectives, trials) → ``sampling`` (where the weight vectors come from, ``simplex`` designs) →
``sweep`` (Ray Tune runs each ``trial`` with a ``scalarizers`` loss or a ``methods`` backward) →
``results`` (Parquet) + ``frontier`` (non-dominated set, hypervolume) → ``queries`` / ``exports`` /
``comparison`` → ``dashboard`` / ``cli``. ``api`` is the Python face of it all.
"""

from __future__ import annotations

from paretosweep.api import compare, compare_runs, export, plan, run
from paretosweep.config import SweepSpec, load_config, parse_spec
from paretosweep.errors import ConfigError, ParetoSweepError, ResultSchemaError, RunDirectoryError

__all__ = [
    "ConfigError",
    "ParetoSweepError",
    "ResultSchemaError",
    "RunDirectoryError",
    "SweepSpec",
    "compare",
    "compare_runs",
    "TrialContext",
    "copy_checkpoint",
    "export",
    "load_checkpoint",
    "load_config",
    "load_frontier",
    "load_progress",
    "load_trials",
    "parse_spec",
    "plan",
    "run",
]


def __getattr__(name: str):  # lazy: reading results must not import torch or Ray
    if name in {"load_trials", "load_frontier", "load_progress", "load_checkpoint", "copy_checkpoint"}:
        from paretosweep import results

        return getattr(results, name)
    if name == "TrialContext":
        from paretosweep.trial import TrialContext

        return TrialContext
    raise AttributeError(f"module 'paretosweep' has no attribute {name!r}")
