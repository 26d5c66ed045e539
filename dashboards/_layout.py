"""The page: one panel of views per run (component ids ``{"type": ..., "run": i}``).

Pure Dash components, no callbacks: ``app`` wires them. The frontier scatter and the trial
panel are always visible; the other views sit in tabs, so only the open tab is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from paretosweep.dashboard import _info as I
from paretosweep.dashboard._data import RunData, RunRegistry
from paretosweep.dashboard._trial import TrialInfo

GRAPH_CONFIG = {"displaylogo": False}


def cid(kind: str, i: int | Any) -> dict[str, Any]:
    """The pattern-matching id of component ``kind`` of run ``i``."""
    return {"type": kind, "run": i}


def _graph(kind: str, i: int, height: int) -> dcc.Graph:
    """An empty graph of run ``i``, filled by a callback."""
    return dcc.Graph(id=cid(kind, i), config=GRAPH_CONFIG, style={"height": f"{height}px"})


def run_panel(i: int, path: str, version: int) -> html.Div:
    """The views of one run."""
    pick = {"style": {"minWidth": "11rem"}, "clearable": False}
    button = {"style": {"marginLeft": "0.4rem"}}
    return html.Div(
        className="run-panel",
        style={"minWidth": 0},
        children=[
            html.H2(os.path.basename(path.rstrip("/")) or path, title=path, style={"margin": "0.2rem 0"}),
            html.Div(id=cid("summary", i), className="run-summary"),
            html.Div(id=cid("error", i), className="run-error", style={"color": "#a00", "whiteSpace": "pre-wrap", "fontWeight": "bold"}),
            html.Div(
                style={"display": "flex", "flexWrap": "wrap", "gap": "0.5rem", "alignItems": "center"},
                children=[
                    html.Label("x"),
                    dcc.Dropdown(id=cid("x", i), **pick),
                    html.Label("y"),
                    dcc.Dropdown(id=cid("y", i), **pick),
                    html.Label("colour"),
                    dcc.Dropdown(id=cid("color", i), **pick),
                    html.Button("Export JSON", id=cid("export-json", i), **button),
                    html.Button("Export CSV", id=cid("export-csv", i), **button),
                    html.Button("Clear selection", id=cid("clear", i), **button),
                ],
            ),
            html.Div(id=cid("selection-text", i), style={"fontSize": "0.85rem", "color": "#555"}),
            _graph("scatter", i, 480),
            html.Div(
                id=cid("trial", i), className="trial-panel", children=html.P("Click a point to see its trial.", style={"color": "#777"})
            ),
            # Only the open tab's plot is drawn, so a large run's first page shows the scatter fast.
            dcc.Tabs(
                id=cid("tabs", i),
                value="progress",
                children=[
                    dcc.Tab(label="Progress", value="progress", children=[_graph("progress", i, 300)]),
                    dcc.Tab(label="Scatter matrix", value="splom", id=cid("splom-tab", i), children=[_graph("splom", i, 520)]),
                    dcc.Tab(
                        label="Parallel coordinates", value="parcoords", id=cid("parcoords-tab", i), children=[_graph("parcoords", i, 420)]
                    ),
                    dcc.Tab(label="Weights (ternary)", value="ternary", id=cid("ternary-tab", i), children=[_graph("ternary", i, 480)]),
                ],
            ),
            dcc.Store(id=cid("version", i), data=version),
            dcc.Store(id=cid("selection", i), data=None),
            dcc.Store(id=cid("constraints", i), data=None),
            dcc.Download(id=cid("download", i)),
        ],
    )


def page_layout(registry: RunRegistry, refresh_ms: int) -> html.Div:
    """Every run side by side (two columns at most), and the refresh timer."""
    columns = min(len(registry.paths), 2)
    panels = [run_panel(i, p, registry.get(i)[2]) for i, p in enumerate(registry.paths)]
    return html.Div(
        style={"fontFamily": "system-ui, sans-serif", "margin": "0 1rem"},
        children=[
            html.H1("paretosweep", style={"fontSize": "1.4rem"}),
            html.Div(panels, style={"display": "grid", "gap": "1.5rem", "gridTemplateColumns": f"repeat({columns}, minmax(0, 1fr))"}),
            dcc.Interval(id="tick", interval=refresh_ms),
        ],
    )


def summary_text(run: RunData, shared_reference: tuple[float, ...] | None = None) -> str:
    """One line of counts above a run's views, which split chose the frontier, and its hypervolume.

    With several runs side by side (``shared_reference`` given) the hypervolume is measured at
    the one reference point they share, which the line prints, so the panels compare.
    """
    s = I.summary_info(run.name, run.trials, run.frontier)
    status = ", ".join(f"{n} {k}" for k, n in s.by_status)
    line = f"{s.n_trials} trials ({status}) · {s.n_methods} method trials · {s.n_frontier} on the frontier"
    if run.splits is not None:  # which data chose the points, which only reports (hover, trial panel)
        line += f" · {run.splits.summary()}"
    ref = shared_reference or run.reference_point
    if ref is None:
        return line
    hv = I.frontier_hypervolume(run.frontier, run.objectives, ref)
    where = "shared reference point" if shared_reference else "reference point"
    return f"{line} · hypervolume {hv:.6g} at the {where} {[round(v, 6) for v in ref]}"


def trial_panel(info: TrialInfo, curves: go.Figure, i: int) -> html.Div:
    """Weights, metrics and parameters of one trial as small tables, its checkpoint, then its epoch curves.

    The metrics table shows each validation metric (which chose the frontier) with its
    test-split value beside it when the run has one. The curves graph is created here, visible
    from the start, so Plotly sizes it right.
    """
    front = " · on the frontier" if info.on_frontier else ""
    head = html.H3(f"Trial {info.trial_id}", style={"margin": "0.5rem 0 0.2rem"})
    line = html.P(f"{info.kind} · {info.name} · {info.status}{front}", style={"margin": 0})
    error = html.P(f"error: {info.error}", style={"color": "#a00"}) if info.error else None
    tests = dict(info.test_metrics)
    metrics = (
        _table("metrics", info.metrics, "trial-metrics")
        if not tests
        else _table("metrics", [(c, v, tests.get(c, "—")) for c, v in info.metrics], "trial-metrics", head=("metric", "validation", "test"))
    )
    tables = html.Div(
        style={"display": "flex", "flexWrap": "wrap"},
        children=[
            _table(info.weights_label, info.weights, "trial-weights"),
            metrics,
            _table("parameters", info.params, "trial-params"),
        ],
    )
    graph = dcc.Graph(id=cid("curves", i), figure=curves, config=GRAPH_CONFIG, style={"height": "280px"})
    parts = [head, line, error, tables, checkpoint_section(info, i), graph]
    return html.Div(parts, style={"borderTop": "1px solid #ddd", "marginTop": "0.5rem"})


def checkpoint_section(info: TrialInfo, i: int) -> html.Div:
    """Where the trial's checkpoint file is and a copyable line of Python that loads it, or why there is none."""
    title = html.H4("checkpoint", style={"margin": "0.3rem 0"})
    if info.checkpoint is None:
        why = info.checkpoint_reason or "not looked up"
        return html.Div([title, html.P(f"Not kept: {why}", id=cid("checkpoint-missing", i), style={"color": "#777"})])
    code = {"fontFamily": "monospace", "fontSize": "0.85rem", "wordBreak": "break-all"}
    rows = [html.Div(["file: ", html.Code(info.checkpoint, id=cid("checkpoint-path", i), style=code)])]
    if info.load_snippet is not None:
        copy = dcc.Clipboard(id=cid("checkpoint-copy", i), content=info.load_snippet, title="Copy", style={"display": "inline-block"})
        snippet = html.Code(info.load_snippet, id=cid("checkpoint-snippet", i), style=code)
        rows.append(html.Div(["load: ", snippet, " ", copy], style={"marginTop": "0.2rem"}))
    return html.Div([title, *rows], className="trial-checkpoint")


def _table(title: str, rows: Sequence[tuple[Any, ...]], cls: str, head: Sequence[str] = ()) -> html.Div:
    """A titled small table, one row per tuple (floats to 6 significant digits), with an optional header row."""

    def cell(v: Any) -> html.Td:
        return html.Td(f"{v:.6g}" if isinstance(v, float) else str(v))

    body = ([html.Tr([html.Th(h) for h in head])] if head else []) + [html.Tr([cell(v) for v in r]) for r in rows]
    return html.Div([html.H4(title, style={"margin": "0.3rem 0"}), html.Table(body, className=cls)], style={"marginRight": "2rem"})
