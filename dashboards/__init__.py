"""Browse, compare and export a run's frontier in the browser (installed as ``paretosweep.dashboard``).

The code lives in the repository's ``dashboards/`` folder and is mapped onto the package by
setuptools (``package-dir``). Data flows one way:

``_data`` (Parquet -> :class:`RunData`) -> ``_info`` / ``_trial`` (pure: records ->
NamedTuple infos) -> ``_figures`` / ``_curves`` (pure: infos -> ``go.Figure``) -> ``app`` (Dash: the
``_layout`` of the page, thin ``_callbacks`` and ``_selection`` callbacks) and ``report``
(one self-contained HTML file).

Public entry points: :func:`serve`, :func:`create_app` and :func:`write_report`. Dash is
imported only when the app is built, so ``write_report`` needs Plotly alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paretosweep.dashboard._data import RunData, load_run
from paretosweep.dashboard.report import write_report

if TYPE_CHECKING:
    from paretosweep.dashboard.app import create_app, serve

__all__ = ["RunData", "create_app", "load_run", "serve", "write_report"]


def __getattr__(name: str) -> Any:
    """Import the Dash app lazily: ``create_app`` and ``serve`` pull in Dash and Flask."""
    if name in ("create_app", "serve"):
        from paretosweep.dashboard import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
