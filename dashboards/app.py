"""The Dash app: one column of views per run, thin callbacks over ``_info`` and ``_figures``.

Each run gets a panel whose component ids are ``{"type": ..., "run": i}``; callbacks use
``MATCH`` so that two runs side by side never mix. A ``dcc.Interval`` polls the runs'
file times and bumps a run's ``version`` store when its Parquet changed, which redraws
its views. A selection (box/lasso on a scatter, brushing on parallel coordinates) is a
list of trial ids in the run's ``selection`` store; every view highlights it and the
export buttons write it (or the frontier when nothing is selected).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from dash import Dash

from paretosweep.dashboard._callbacks import Derived, register_data_callbacks, register_figure_callbacks
from paretosweep.dashboard._data import RunRegistry
from paretosweep.dashboard._layout import page_layout
from paretosweep.dashboard._selection import register_selection_callbacks

REFRESH_MS = 2_000
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def create_app(run_paths: Sequence[str | os.PathLike[str]], *, refresh_ms: int = REFRESH_MS) -> Dash:
    """The dashboard for these runs (side by side when there are two or more).

    Runs that cannot be read show their error in the page and are retried while the app
    runs. Nothing served depends on a path sent by the browser.
    """
    return _build(RunRegistry(tuple(run_paths)), refresh_ms)


def serve(run_paths: Sequence[str | os.PathLike[str]], host: str = "127.0.0.1", port: int = 8050, *, debug: bool = False) -> None:
    """Serve the dashboard until interrupted; problems with the runs are printed to stderr.

    Args:
        run_paths: run directories or pyarrow filesystem URIs, shown in this order.
        host: interface to bind; the default serves this machine only. The app has no
            authentication, so bind another interface only on a trusted network.
        port: TCP port.
        debug: Dash debug mode (reloader and dev tools; never on a shared network).
    """
    registry = RunRegistry(tuple(run_paths))
    for line in registry.errors():
        print(f"paretosweep dashboard: cannot read run {line}", file=sys.stderr)
    if host not in LOCAL_HOSTS:
        print(f"paretosweep dashboard: listening on {host}; anyone who can reach it can browse these runs.", file=sys.stderr)
    print(f"paretosweep dashboard: http://{host}:{port}/ (Ctrl+C to stop)", file=sys.stderr)
    _build(registry, REFRESH_MS).run(host=host, port=port, debug=debug)


def _build(registry: RunRegistry, refresh_ms: int) -> Dash:
    """The app over an already opened registry."""
    app = Dash(__name__, title="paretosweep", update_title=None, serve_locally=True)
    app.layout = lambda: page_layout(registry, refresh_ms)
    derived = Derived(registry)
    register_data_callbacks(app, registry, derived)
    register_figure_callbacks(app, derived)
    register_selection_callbacks(app, derived)
    return app
