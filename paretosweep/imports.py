"""Objects named by import path (``package.module:attribute``), and where such modules are found."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from paretosweep.errors import ConfigError, did_you_mean


def import_object(path: str, *, field: str, example: str) -> Any:
    """The object ``package.module:attribute`` names.

    Args:
        path: the import path.
        field: the spec field that gave it (named in every message).
        example: an example path for the message (``mypkg.tasks:make_problem``).

    Raises:
        ConfigError: a path without a colon, a module that cannot be imported (its error quoted),
            or a module without the attribute (with a did-you-mean).
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"`{field}` should be an import path `package.module:function`. Found `{path}`. Write it as `{example}`.")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or the user's module failing while it imports
        raise ConfigError(
            f"`{field}` is `{path}`, but module `{module_name}` could not be imported ({type(error).__name__}: {error}). "
            "Install the package, or run from its folder, or add the folder to PYTHONPATH (on a Ray cluster: on every worker)."
        ) from error
    found = getattr(module, attr, None)
    if found is None:
        public = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        raise ConfigError(
            f"`{field}` is `{path}`, but module `{module_name}` has no attribute `{attr}`.{did_you_mean(attr, public)} "
            "Fix the part after the colon."
        )
    return found


def extend_import_path(*directories: str | os.PathLike[str]) -> list[str]:
    """Put ``directories`` at the front of ``sys.path`` and of ``PYTHONPATH`` (each once).

    So an import path (``mymod:make_problem``, ``mymod:train``) finds a module lying in the
    current directory or beside the spec file, also in the processes of a local Ray started
    afterwards (they inherit ``PYTHONPATH``). Returns the directories added.
    """
    added = []
    for directory in directories:
        path = str(Path(directory).resolve())
        if path not in sys.path:
            sys.path.insert(0, path)
            added.append(path)
        python_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if path not in python_path:
            os.environ["PYTHONPATH"] = os.pathsep.join([path, *python_path])
    if added:
        importlib.invalidate_caches()
    return added
