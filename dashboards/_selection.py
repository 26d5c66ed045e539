"""Selections and exports: box/lasso and axis brushing become a list of trial ids.

The run's ``selection`` store holds None until the first brush, then
``{"source": view, "ids": [...] or None}``. The export buttons write the selected trials,
or the frontier when nothing is selected, with :mod:`paretosweep.exports`, the same code
as ``paretosweep export``.
"""

from __future__ import annotations

from typing import Any

from dash import MATCH, Dash, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from paretosweep.dashboard import _info as I
from paretosweep.dashboard._callbacks import Derived, selected_ids
from paretosweep.dashboard._layout import cid
from paretosweep.exports import export_records, point_trial_ids, to_csv, to_json
from paretosweep.results import checkpoint_locations

_VIEWS = {"scatter": "frontier scatter", "splom": "scatter matrix", "parcoords": "parallel coordinates", "ternary": "weights ternary"}


def register_selection_callbacks(app: Dash, derived: Derived) -> None:
    """Brushes -> the ``selection`` store; the clear button; the selection line; the exports."""
    # Box/lasso selections become a list of trial ids in the browser, so a large selection
    # does not travel to the server as full point objects.
    app.clientside_callback(
        """
        function(scatter, splom, ternary, current) {
            const trig = dash_clientside.callback_context.triggered;
            if (!trig.length) { return dash_clientside.no_update; }
            const sel = trig[0].value;
            const source = JSON.parse(trig[0].prop_id.split('.')[0]).type;
            if (!sel || !sel.points) {
                // A plot cleared its own selection: drop it; other plots' null is just a (re)mount.
                const mine = current && current.source === source && current.ids !== null;
                return mine ? {source: source, ids: null} : dash_clientside.no_update;
            }
            const ids = [...new Set(sel.points.map(p => p.text).filter(t => t !== undefined))];
            return {source: source, ids: ids};
        }
        """,
        Output(cid("selection", MATCH), "data", allow_duplicate=True),
        Input(cid("scatter", MATCH), "selectedData"),
        Input(cid("splom", MATCH), "selectedData"),
        Input(cid("ternary", MATCH), "selectedData"),
        State(cid("selection", MATCH), "data"),
        prevent_initial_call=True,
    )
    # Parallel-coordinates brushing: read the live constraint ranges from the plot.
    app.clientside_callback(
        """
        function(restyle, id) {
            const el = document.getElementById(JSON.stringify({run: id.run, type: 'parcoords'}));
            const gd = el && el.querySelector('.js-plotly-plot');
            if (!gd || !gd._fullData || !gd._fullData.length) { return dash_clientside.no_update; }
            const ranges = {};
            gd._fullData[0].dimensions.forEach((d, k) => {
                if (d.constraintrange && d.constraintrange.length) {
                    ranges[k] = Array.isArray(d.constraintrange[0]) ? d.constraintrange : [d.constraintrange];
                }
            });
            return ranges;
        }
        """,
        Output(cid("constraints", MATCH), "data"),
        Input(cid("parcoords", MATCH), "restyleData"),
        State(cid("parcoords", MATCH), "id"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(cid("selection", MATCH), "data", allow_duplicate=True),
        Input(cid("constraints", MATCH), "data"),
        State(cid("selection", MATCH), "data"),
        prevent_initial_call=True,
    )
    def brushed(ranges: dict[str, list[list[float]]] | None, current: dict[str, Any] | None) -> Any:
        if not ranges:  # every brush removed: drop a selection that came from them
            if selected_ids(current) is None or current["source"] != "parcoords":  # type: ignore[index]
                raise PreventUpdate
            return {"source": "parcoords", "ids": None}
        _r, _p, table, _f = derived.get(ctx.outputs_list["id"]["run"])
        return {"source": "parcoords", "ids": I.ids_in_ranges(table, {int(k): v for k, v in ranges.items()})}

    @app.callback(
        Output(cid("selection", MATCH), "data", allow_duplicate=True),
        Input(cid("clear", MATCH), "n_clicks"),
        State(cid("selection", MATCH), "data"),
        prevent_initial_call=True,
    )
    def clear(_: int, selection: dict[str, Any] | None) -> dict[str, Any]:
        if selected_ids(selection) is None:
            raise PreventUpdate
        return {"source": "clear", "ids": None}

    @app.callback(
        Output(cid("selection-text", MATCH), "children"), Input(cid("selection", MATCH), "data"), Input(cid("version", MATCH), "data")
    )
    def selection_text(selection: dict[str, Any] | None, _: int) -> str:
        if selected_ids(selection) is not None:
            n = len(selection["ids"])
            view = _VIEWS.get(selection["source"], selection["source"])
            return f"{n} trial{'s' if n != 1 else ''} selected (in the {view}); export writes them."
        return "Nothing selected (box/lasso on a plot, or brush an axis): export writes the frontier."

    @app.callback(
        Output(cid("download", MATCH), "data"),
        Input(cid("export-json", MATCH), "n_clicks"),
        Input(cid("export-csv", MATCH), "n_clicks"),
        State(cid("selection", MATCH), "data"),
        prevent_initial_call=True,
    )
    def export(_j: int | None, _c: int | None, selection: dict[str, Any] | None) -> dict[str, Any]:
        run, _p, _t, _f = derived.get(ctx.outputs_list["id"]["run"])
        ids = selected_ids(selection)
        rows = run.frontier if ids is None else run.trials[run.trials["trial_id"].isin(ids)]
        where = checkpoint_locations(run.source, point_trial_ids(rows), trials=run.trials)
        records = export_records(rows, run.objectives, spec=run.spec, test_columns=run.test_columns, checkpoints=where)
        as_json = ctx.triggered_id["type"] == "export-json"
        name = f"{run.name}-{'frontier' if ids is None else 'selection'}.{'json' if as_json else 'csv'}"
        return {
            "content": to_json(records) if as_json else to_csv(records),
            "filename": name,
            "type": "application/json" if as_json else "text/csv",
        }
