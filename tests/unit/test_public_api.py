"""The public API stays callable: importing a submodule must not shadow a function of the package."""

from __future__ import annotations

import importlib
import pkgutil

import paretosweep


def test_api_functions_survive_importing_every_submodule() -> None:
    for module in pkgutil.walk_packages(paretosweep.__path__, "paretosweep."):
        if not module.name.startswith("paretosweep.dashboard"):
            importlib.import_module(module.name)
    for name in ("run", "plan", "export", "compare", "load_config", "parse_spec"):
        assert callable(getattr(paretosweep, name)), name
    assert callable(paretosweep.load_frontier) and callable(paretosweep.load_trials)
