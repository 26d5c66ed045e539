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

from paretosweep.dashboard._auth import check_bind, is_loopback, require_token
from paretosweep.dashboard._callbacks import Derived, register_data_callbacks, register_figure_callbacks
from paretosweep.dashboard._data import RunRegistry
from paretosweep.dashboard._layout import page_layout
from paretosweep.dashboard._selection import register_selection_callbacks

REFRESH_MS = 2_000


def create_app(run_paths: Sequence[str | os.PathLike[str]], *, refresh_ms: int = REFRESH_MS, token: str | None = None) -> Dash:
    """The dashboard for these runs (side by side when there are two or more).

    Runs that cannot be read show their error in the page and are retried while the app
    runs. Nothing served depends on a path sent by the browser. With ``token``, every
    request needs it (see :mod:`paretosweep.dashboard._auth`).
    """
    return _build(RunRegistry(tuple(run_paths)), refresh_ms, token)


def serve(
    run_paths: Sequence[str | os.PathLike[str]], host: str = "127.0.0.1", port: int = 8050, *, token: str | None = None, debug: bool = False
) -> None:
    """Serve the dashboard until interrupted; problems with the runs are printed to stderr.

    Args:
        run_paths: run directories or pyarrow filesystem URIs, shown in this order.
        host: interface to bind; the default serves this machine only. Any other
            interface needs a ``token``.
        port: TCP port.
        token: the secret every request must carry (``?token=``, a Bearer header or the
            cookie the first sets); optional on loopback. Never printed.
        debug: Dash debug mode (reloader and dev tools; never on a shared network).

    Raises:
        DashboardAuthError: ``host`` is not loopback and ``token`` is None.
    """
    check_bind(host, token)
    registry = RunRegistry(tuple(run_paths))
    for line in registry.errors():
        print(f"paretosweep dashboard: cannot read run {line}", file=sys.stderr)
    if not is_loopback(host):
        print(
            f"paretosweep dashboard: listening on {host} with a token; the token does not encrypt: use TLS or a trusted network.",
            file=sys.stderr,
        )
    opening = " (open it with ?token=<your token>)" if token is not None else ""
    print(f"paretosweep dashboard: http://{host}:{port}/{opening} (Ctrl+C to stop)", file=sys.stderr)
    _build(registry, REFRESH_MS, token).run(host=host, port=port, debug=debug)


def _build(registry: RunRegistry, refresh_ms: int, token: str | None = None) -> Dash:
    """The app over an already opened registry; with ``token``, every request needs it."""
    app = Dash(__name__, title="paretosweep", update_title=None, serve_locally=True)
    if token is not None:
        require_token(app.server, token)
    app.layout = lambda: page_layout(registry, refresh_ms)
    derived = Derived(registry)
    register_data_callbacks(app, registry, derived)
    register_figure_callbacks(app, derived)
    register_selection_callbacks(app, derived)
    return app
