"""Callbacks that load data and draw the views; each is a few lines over ``_info``/``_figures``.

A view is redrawn in full when its run's ``version`` or a picker changes, and patched
(``selectedpoints`` only, a few bytes instead of megabytes) when the selection changes.
"""

from __future__ import annotations

import threading
from typing import Any

from dash import ALL, MATCH, Dash, Input, Output, Patch, State, ctx, no_update
from dash.exceptions import PreventUpdate

from paretosweep.dashboard import _curves as C
from paretosweep.dashboard import _figures as F
from paretosweep.dashboard import _info as I
from paretosweep.dashboard._data import RunData, RunRegistry
from paretosweep.dashboard._layout import cid, summary_text, trial_panel
from paretosweep.dashboard._trial import trial_info
from paretosweep.results import checkpoint_locations, load_proposals

UNREADABLE = "Nothing to show: this run cannot be read (see the message above)."


class Derived:
    """Infos of each run's current version, computed once per version."""

    def __init__(self, registry: RunRegistry) -> None:
        self.registry = registry
        self._cache: dict[int, tuple[int, I.PointsInfo, I.TableInfo, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def get(self, i: int) -> tuple[RunData, I.PointsInfo, I.TableInfo, frozenset[str]]:
        """(run, points, table, frontier ids); raises PreventUpdate if the run is unreadable."""
        run, _, version = self.registry.get(i)
        if run is None:
            raise PreventUpdate
        with self._lock:
            cached = self._cache.get(i)
            if cached is None or cached[0] != version:
                front = frozenset(run.frontier["trial_id"].astype(str))
                points = I.points_info(run.trials, front, run.objectives, run.tasks, test_columns=run.test_columns)
                cached = (version, points, I.table_info(points), front)
                self._cache[i] = cached
        return run, cached[1], cached[2], cached[3]


def register_data_callbacks(app: Dash, registry: RunRegistry, derived: Derived) -> None:
    """The refresh timer (re-read changed runs) and, per run, pickers, tabs, summary and error."""

    @app.callback(Output(cid("version", ALL), "data"), Input("tick", "n_intervals"), prevent_initial_call=True)
    def refresh(_: int) -> list[Any]:
        changed = [registry.refresh(i) for i in range(len(registry.paths))]
        if not any(changed):
            raise PreventUpdate
        return [registry.get(i)[2] if c else no_update for i, c in enumerate(changed)]

    @app.callback(
        Output(cid("x", MATCH), "options"),
        Output(cid("x", MATCH), "value"),
        Output(cid("y", MATCH), "options"),
        Output(cid("y", MATCH), "value"),
        Output(cid("color", MATCH), "options"),
        Output(cid("color", MATCH), "value"),
        Output(cid("splom-tab", MATCH), "disabled"),
        Output(cid("parcoords-tab", MATCH), "disabled"),
        Output(cid("ternary-tab", MATCH), "disabled"),
        Output(cid("summary", MATCH), "children"),
        Output(cid("error", MATCH), "children"),
        Input(cid("version", MATCH), "data"),
        State(cid("x", MATCH), "value"),
        State(cid("y", MATCH), "value"),
        State(cid("color", MATCH), "value"),
    )
    def controls(_: int, x: str | None, y: str | None, color: str | None) -> tuple[Any, ...]:
        i = ctx.outputs_list[0]["id"]["run"]
        run, error, _v = registry.get(i)
        if run is None:
            return [], None, [], None, [], None, True, True, True, "", error
        cols = [o.column for o in run.objectives]
        options = [{"label": c, "value": c} for c in cols]
        x = x if x in cols else cols[0]
        y = y if y in cols else cols[min(1, len(cols) - 1)]
        color = color if color in cols else cols[0]
        few = len(cols) < 3
        summary = summary_text(run, registry.shared_reference())
        return options, x, options, y, options, color, few, few, len(run.tasks) != 3, summary, ""


def _proposed(run: RunData, x: str, y: str) -> F.ProposedFront | None:
    """The conditioned model's proposals on objective columns ``x``/``y`` (``sampler: conditioned``), else None."""
    by_column = {o.column: o for o in run.objectives}
    if x not in by_column or y not in by_column:
        return None
    return F.proposed_front(load_proposals(run.source), by_column[x], by_column[y], run.tasks)


def selection_patch(trace_ids: list[Any], selected: list[str] | None) -> Patch:
    """Set ``selectedpoints`` on each point trace (a small update, not a new figure)."""
    patch = Patch()
    for k, ids in enumerate(trace_ids):
        if ids is not None:
            patch["data"][k]["selectedpoints"] = I.selected_positions(ids, selected)
    return patch


def selected_ids(selection: dict[str, Any] | None) -> list[str] | None:
    """The selected trial ids, or None when nothing is selected.

    The ``selection`` store holds None until the first brush, then
    ``{"source": view, "ids": [...] or None}`` (None: the selection was cleared). A store
    re-announces its data when it mounts, so the patch callbacks ignore a bare None.
    """
    return None if not selection else selection["ids"]


def register_figure_callbacks(app: Dash, derived: Derived) -> None:
    """Each view: a full redraw on a new run version or picker, a small patch on a new selection."""

    def run_index() -> int:
        out = ctx.outputs_list
        return (out if isinstance(out, dict) else out[0])["id"]["run"]

    def redraw(kind: str, *pickers: str) -> tuple[Any, ...]:
        return (
            Output(cid(kind, MATCH), "figure"),
            Input(cid("version", MATCH), "data"),
            *(Input(cid(p, MATCH), "value") for p in pickers),
            State(cid("selection", MATCH), "data"),
        )

    def reselect(kind: str, *pickers: str) -> tuple[Any, ...]:
        return (
            Output(cid(kind, MATCH), "figure", allow_duplicate=True),
            Input(cid("selection", MATCH), "data"),
            *(State(cid(p, MATCH), "value") for p in pickers),
        )

    @app.callback(*redraw("scatter", "x", "y"))
    def scatter(_: int, x: str | None, y: str | None, selection: dict[str, Any] | None) -> Any:
        if derived.registry.get(run_index())[0] is None:
            return C.message_figure(UNREADABLE)
        _r, points, _t, _f = derived.get(run_index())
        if x is None or y is None:
            raise PreventUpdate
        if not any(len(g.trial_ids) for g in points.groups):
            return C.message_figure("No completed trial yet.")
        return F.frontier_scatter(I.scatter_info(points, x, y), selected=selected_ids(selection), proposed=_proposed(_r, x, y))

    @app.callback(*reselect("scatter", "x", "y"), prevent_initial_call=True)
    def scatter_selection(selection: dict[str, Any] | None, x: str | None, y: str | None) -> Any:
        _r, points, _t, _f = derived.get(run_index())
        if selection is None or x is None or y is None or not any(len(g.trial_ids) for g in points.groups):
            raise PreventUpdate
        proposed = _proposed(_r, x, y)
        return selection_patch(F.scatter_trace_ids(I.scatter_info(points, x, y), proposed=proposed), selected_ids(selection))

    @app.callback(*redraw("splom"))
    def splom(_: int, selection: dict[str, Any] | None) -> Any:
        run, points, _t, _f = derived.get(run_index())
        if len(run.objectives) < 3:
            raise PreventUpdate
        return F.scatter_matrix(points, selected=selected_ids(selection))

    @app.callback(*reselect("splom"), prevent_initial_call=True)
    def splom_selection(selection: dict[str, Any] | None) -> Any:
        run, points, _t, _f = derived.get(run_index())
        if selection is None or len(run.objectives) < 3:
            raise PreventUpdate
        return selection_patch(F.group_trace_ids(points), selected_ids(selection))

    @app.callback(*redraw("parcoords", "color"))
    def parcoords(_: int, color: str | None, selection: dict[str, Any] | None) -> Any:
        run, _p, table, _f = derived.get(run_index())
        if color is None or len(run.objectives) < 3:
            raise PreventUpdate
        return F.parallel_coordinates(table, color_column=color, selected=selected_ids(selection))

    @app.callback(*reselect("parcoords", "color"), prevent_initial_call=True)
    def parcoords_selection(selection: dict[str, Any] | None, color: str | None) -> Any:
        run, _p, table, _f = derived.get(run_index())
        if selection is None or color is None or len(run.objectives) < 3:
            raise PreventUpdate
        if selection["ids"] is None:  # cleared: redraw, which also removes the brushes
            return F.parallel_coordinates(table, color_column=color)
        if selection["source"] == "parcoords":
            raise PreventUpdate  # keep the user's brushes as drawn
        patch = Patch()
        patch["data"][0]["line"] = F.parcoords_line(table, color_column=color, selected=selected_ids(selection))
        return patch

    @app.callback(*redraw("ternary", "color"))
    def ternary(_: int, color: str | None, selection: dict[str, Any] | None) -> Any:
        run, points, _t, _f = derived.get(run_index())
        if color is None or len(run.tasks) != 3:
            raise PreventUpdate
        return F.weight_ternary(points, color_column=color, selected=selected_ids(selection))

    @app.callback(*reselect("ternary", "color"), prevent_initial_call=True)
    def ternary_selection(selection: dict[str, Any] | None, color: str | None) -> Any:
        run, points, _t, _f = derived.get(run_index())
        if selection is None or color is None or len(run.tasks) != 3:
            raise PreventUpdate
        return selection_patch(F.ternary_trace_ids(points), selected_ids(selection))

    @app.callback(Output(cid("progress", MATCH), "figure"), Input(cid("version", MATCH), "data"))
    def progress(_: int) -> Any:
        if derived.registry.get(run_index())[0] is None:
            return C.message_figure(UNREADABLE)
        run, _p, _t, _f = derived.get(run_index())
        return C.progress_figure(I.run_progress_info(run))

    @app.callback(
        Output(cid("trial", MATCH), "children"),
        Input(cid("scatter", MATCH), "clickData"),
        Input(cid("splom", MATCH), "clickData"),
        Input(cid("ternary", MATCH), "clickData"),
        prevent_initial_call=True,
    )
    def trial(*_clicks: dict[str, Any] | None) -> Any:
        click = ctx.triggered[0]["value"] if ctx.triggered else None
        trial_id = ((click or {}).get("points") or [{}])[0].get("text")
        if trial_id is None:
            raise PreventUpdate
        run, _p, _t, front = derived.get(run_index())
        where = checkpoint_locations(run.source, [str(trial_id)], trials=run.trials)[str(trial_id)]
        info = trial_info(
            run.trials,
            str(trial_id),
            frontier_ids=front,
            tasks=run.tasks,
            metric_columns=run.metric_columns,
            test_columns=run.test_columns,
            checkpoint=where,
            run_source=run.source,
        )
        return trial_panel(info, C.epoch_curves(info), run_index())
