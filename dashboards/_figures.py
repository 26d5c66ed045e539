"""Infos -> ``plotly.graph_objects.Figure``: pure rendering, no data selection and no Dash.

Every point trace carries ``text`` = trial ids (clicks and brushes map back through it)
and ``customdata`` = numbers for the hover template (weights first). Above
:data:`GL_THRESHOLD` points a view switches to WebGL (``Scattergl``; the ternary view is then
drawn as a projected triangle on ``Scattergl``, since Plotly has no WebGL ternary trace).
A selection (a set of trial ids) is shown with Plotly's ``selectedpoints``; the
``*_trace_ids`` helpers give, per trace, the ids that a selection is matched against.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from paretosweep.dashboard._info import (
    PointGroup,
    PointsInfo,
    ScatterInfo,
    TableInfo,
    member_mask,
    parcoords_columns,
    selected_positions,
    thin_table,
)
from paretosweep.results import Objective

#: Views with more points than this draw with WebGL.
GL_THRESHOLD = 2_000
#: Parallel coordinates draw at most this many lines (all frontier and method trials first):
#: 100,000 lines take tens of seconds in a software-rendered browser. Brushing still
#: selects among every trial.
PARCOORDS_LIMIT = 10_000

FRONT_COLOR = "#d62728"
PROPOSED_COLOR = "#7f7f7f"
TRIAL_COLOR = "rgba(110, 110, 110, 0.35)"
METHOD_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
METHOD_SYMBOLS = ("diamond", "square", "cross", "triangle-up", "star", "x", "pentagon", "hexagon")
#: A method group with more points than this is named in the legend only (no text labels).
METHOD_LABEL_LIMIT = 10
TEMPLATE = "plotly_white"
_UNSELECTED = {"marker": {"opacity": 0.12}}
_SQRT3_2 = float(np.sqrt(3.0) / 2.0)


def _f32(values: np.ndarray) -> np.ndarray:
    """Hover and parallel-axis numbers as float32: half the bytes sent, ~7 significant digits."""
    return np.ascontiguousarray(values, dtype=np.float32)


def axis_title(objective: Objective) -> str:
    """``left_loss (lower is better)``."""
    return f"{objective.column} ({'lower' if objective.direction == 'min' else 'higher'} is better)"


def weight_hover(tasks: Sequence[str], label: str, first: int = 0) -> str:
    """Hover lines for weights stored in ``customdata[first:first + m]``."""
    parts = [f"{t}=%{{customdata[{first + i}]:.3f}}" for i, t in enumerate(tasks)]
    return f"{label}: " + ", ".join(parts)


def _weights_label(group: PointGroup) -> str:
    return "effective weights (mean)" if group.role == "method" else "weights"


def _use_gl(points: PointsInfo) -> bool:
    return sum(len(g.trial_ids) for g in points.groups) > GL_THRESHOLD


def _style(group: PointGroup, index: int) -> dict[str, Any]:
    """Marker style and mode of a group; ``index`` counts method groups for colour/symbol."""
    if group.role == "trials":
        return {"mode": "markers", "marker": {"color": TRIAL_COLOR, "size": 6}}
    if group.role == "frontier":
        return {"mode": "markers", "marker": {"color": FRONT_COLOR, "size": 10, "line": {"color": "white", "width": 1}}}
    labelled = len(group.trial_ids) <= METHOD_LABEL_LIMIT
    return {
        "mode": "markers+text" if labelled else "markers",
        "texttemplate": group.label if labelled else None,
        "textposition": "top center",
        "textfont": {"color": METHOD_COLORS[index % len(METHOD_COLORS)]},
        "marker": {
            "color": METHOD_COLORS[index % len(METHOD_COLORS)],
            "symbol": METHOD_SYMBOLS[index % len(METHOD_SYMBOLS)],
            "size": 14,
            "line": {"color": "black", "width": np.where(group.on_frontier, 2.5, 0.5)},
        },
    }


def _method_index(points: PointsInfo, group: PointGroup) -> int:
    return [g.label for g in points.groups if g.role == "method"].index(group.label) if group.role == "method" else 0


def _selection(group: PointGroup, selected: Collection[str] | None) -> dict[str, Any]:
    return {"selectedpoints": selected_positions(group.trial_ids, selected), "unselected": _UNSELECTED}


# --------------------------------------------------------------------------- frontier scatter


class ProposedFront(NamedTuple):
    """The conditioned model's proposals (``sampler: conditioned``) on two objectives, in weight order."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray  # [n, m]
    curve: bool  # two tasks: the proposals are one curve, joined in weight order


def proposed_front(proposals: pd.DataFrame | None, x: Objective, y: Objective, tasks: Sequence[str]) -> ProposedFront | None:
    """The finite proposals (rows of kind ``conditioned``, see ``paretosweep.results.load_proposals``) on ``x``/``y``; None without any."""
    if proposals is None or not len(proposals) or x.column not in proposals or y.column not in proposals:
        return None
    weights = np.asarray(proposals["weights"].tolist(), dtype=np.float64).reshape(len(proposals), len(tasks))
    xs, ys = proposals[x.column].to_numpy(dtype=np.float64), proposals[y.column].to_numpy(dtype=np.float64)
    keep = np.isfinite(xs) & np.isfinite(ys)
    order = np.lexsort(weights[keep].T[::-1])  # by the first task's weight, then the next ones
    return ProposedFront(xs[keep][order], ys[keep][order], weights[keep][order], curve=len(tasks) == 2)


def frontier_scatter(info: ScatterInfo, *, selected: Collection[str] | None = None, proposed: ProposedFront | None = None) -> go.Figure:
    """All completed trials (faded), the frontier (highlighted, joined) and method markers.

    Traces, in order: ``Trials``, ``Frontier line``, ``Frontier``, then one per method, then
    (with ``proposed``) the conditioned model's ``Proposed front``: proposals, not trials (no ids).
    """
    points = info.points
    ox, oy = points.objectives[info.x], points.objectives[info.y]
    cls = go.Scattergl if _use_gl(points) else go.Scatter
    fig = go.Figure()
    for group in points.groups:
        if group.role == "frontier":
            fig.add_trace(
                cls(
                    x=info.front_x,
                    y=info.front_y,
                    mode="lines",
                    name="Frontier line",
                    line={"color": FRONT_COLOR, "width": 1.5},
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
        fig.add_trace(
            cls(
                x=group.values[:, info.x],
                y=group.values[:, info.y],
                text=group.trial_ids,
                customdata=_f32(np.column_stack([group.weights, group.values, *_tested(group)])),
                hovertemplate=objective_hover(points, group) + f"<extra>{group.label}</extra>",
                name=f"{group.label} ({len(group.trial_ids)})",
                **_style(group, _method_index(points, group)),
                **_selection(group, selected),
            )
        )
    if proposed is not None:
        fig.add_trace(
            cls(
                x=proposed.x,
                y=proposed.y,
                mode="lines+markers" if proposed.curve else "markers",
                name=f"Proposed front, conditioned model ({len(proposed.x)})",
                line={"color": PROPOSED_COLOR, "width": 1.5, "dash": "dot"},
                marker={"color": PROPOSED_COLOR, "size": 4, "symbol": "circle-open"},
                customdata=_f32(proposed.weights),
                hovertemplate="<b>proposal</b><br>"
                + weight_hover(points.tasks, "w")
                + f"<br>{ox.column}=%{{x:.4g}}<br>{oy.column}=%{{y:.4g}}<extra>proposed</extra>",
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        xaxis_title=axis_title(ox),
        yaxis_title=axis_title(oy),
        dragmode="select",
        clickmode="event",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        uirevision=f"{ox.column}|{oy.column}",
    )
    return fig


def _tested(group: PointGroup) -> list[np.ndarray]:
    """The group's test values as extra ``customdata`` columns (none with one split)."""
    return [] if group.test_values is None else [group.test_values]


def objective_hover(points: PointsInfo, group: PointGroup) -> str:
    """Hover lines of the frontier scatter: trial, weights, then each objective (validation, which chose)
    with its test-split value beside it when the run has one (``customdata``: weights, values, test values)."""
    m, k = len(points.tasks), len(points.objectives)
    lines = ["<b>trial %{text}</b>", weight_hover(points.tasks, _weights_label(group))]
    for j, o in enumerate(points.objectives):
        test = f" (test %{{customdata[{m + k + j}]:.4g}})" if group.test_values is not None else ""
        lines.append(f"{o.column}=%{{customdata[{m + j}]:.4g}}{test}")
    return "<br>".join(lines)


def scatter_trace_ids(info: ScatterInfo, *, proposed: ProposedFront | None = None) -> list[np.ndarray | None]:
    """Per trace of :func:`frontier_scatter`, the trial ids of its points (None: the line, the proposals)."""
    out: list[np.ndarray | None] = []
    for group in info.points.groups:
        if group.role == "frontier":
            out.append(None)
        out.append(group.trial_ids)
    if proposed is not None:
        out.append(None)
    return out


# --------------------------------------------------------------------------- scatter matrix


def scatter_matrix(points: PointsInfo, *, selected: Collection[str] | None = None) -> go.Figure:
    """A scatter matrix (splom) of every objective pair, one trace per group."""
    fig = go.Figure()
    for group in points.groups:
        style = _style(group, _method_index(points, group))
        marker = dict(style["marker"], size=style["marker"]["size"] * 0.6)
        hover = "<br>".join(["<b>trial %{text}</b>", weight_hover(points.tasks, _weights_label(group)), "(%{x:.4g}, %{y:.4g})"])
        fig.add_trace(
            go.Splom(
                dimensions=[{"label": o.column, "values": group.values[:, j]} for j, o in enumerate(points.objectives)],
                text=group.trial_ids,
                customdata=_f32(group.weights),
                hovertemplate=hover + f"<extra>{group.label}</extra>",
                name=group.label,
                marker=marker,
                diagonal_visible=False,
                showupperhalf=False,
                **_selection(group, selected),
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        dragmode="select",
        clickmode="event",
        showlegend=False,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        uirevision="splom",
    )
    return fig


def group_trace_ids(points: PointsInfo) -> list[np.ndarray | None]:
    """Per trace of :func:`scatter_matrix` and :func:`weight_ternary` (one per group)."""
    return [g.trial_ids for g in points.groups]


# --------------------------------------------------------------------------- parallel coordinates


def parcoords_line(table: TableInfo, *, color_column: str, selected: Collection[str] | None = None) -> dict[str, Any]:
    """The ``line`` of the parallel-coordinates trace: coloured by an objective, or by selection."""
    table = thin_table(table, PARCOORDS_LIMIT)
    if selected is not None:
        flag = member_mask(table.trial_ids, selected).astype(np.float32)
        return {
            "color": flag,
            "colorscale": [[0, "rgba(190,190,190,0.25)"], [1, FRONT_COLOR]],
            "cmin": 0.0,
            "cmax": 1.0,
            "showscale": False,
        }
    j = [o.column for o in table.objectives].index(color_column)
    direction = table.objectives[j].direction
    return {
        "color": _f32(table.values[:, j]),
        "colorscale": "Viridis",
        "reversescale": direction == "min",
        "showscale": True,
        "colorbar": {"title": {"text": color_column}},
    }


def parallel_coordinates(table: TableInfo, *, color_column: str, selected: Collection[str] | None = None) -> go.Figure:
    """Weights and objectives as parallel axes; brushing an axis selects trials.

    Above :data:`PARCOORDS_LIMIT` trials, the lines drawn are thinned (see
    :func:`~paretosweep.dashboard._info.thin_table`) and the title says so.
    """
    full = len(table.trial_ids)
    line = parcoords_line(table, color_column=color_column, selected=selected)
    table = thin_table(table, PARCOORDS_LIMIT)
    labels = parcoords_columns(table)
    columns = np.column_stack([table.weights, table.values]) if len(table.trial_ids) else np.empty((0, len(labels)))
    dims = [
        {"label": label, "values": _f32(columns[:, i]), **({"range": [0.0, 1.0]} if i < len(table.tasks) else {})}
        for i, label in enumerate(labels)
    ]
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line))
    fig.update_layout(template=TEMPLATE, margin={"l": 60, "r": 60, "t": 90, "b": 30}, uirevision="parcoords")
    if len(table.trial_ids) < full:
        fig.update_layout(
            title={
                "text": f"{len(table.trial_ids):,} of {full:,} trials drawn (every frontier and "
                "method trial first); brushing selects among all",
                "font": {"size": 12},
                "y": 0.98,
                "yanchor": "top",
            }
        )
    return fig


# --------------------------------------------------------------------------- ternary


def weight_ternary(points: PointsInfo, *, color_column: str, selected: Collection[str] | None = None) -> go.Figure:
    """The weights of a 3-task run on a ternary plot, coloured by one objective.

    Swept trials and the frontier share one colour scale; methods sit at their mean
    effective weights with their own symbols.
    """
    if len(points.tasks) != 3:
        raise ValueError(f"A ternary plot needs 3 tasks. Found {len(points.tasks)}: {list(points.tasks)}.")
    j = [o.column for o in points.objectives].index(color_column)
    swept = np.concatenate([g.values[:, j] for g in points.groups if g.role != "method"] + [np.empty(0)])
    scale = {"cmin": float(swept.min()), "cmax": float(swept.max())} if swept.size else {}
    reverse = points.objectives[j].direction == "min"
    gl = _use_gl(points)
    fig = go.Figure()
    if gl:
        fig.add_trace(
            go.Scattergl(
                x=[0, 0.5, 1, 0],
                y=[0, _SQRT3_2, 0, 0],
                mode="lines",
                hoverinfo="skip",
                line={"color": "#888", "width": 1},
                showlegend=False,
            )
        )
    first = True
    for group in points.groups:
        style = _style(group, _method_index(points, group))
        if group.role != "method":
            style["marker"] = dict(
                style["marker"],
                color=group.values[:, j],
                colorscale="Viridis",
                reversescale=reverse,
                showscale=first,
                colorbar={"title": {"text": color_column}},
                **scale,
            )
            first = False
        hover = "<br>".join(
            ["<b>trial %{text}</b>", weight_hover(points.tasks, _weights_label(group), 1), f"{color_column}=%{{customdata[0]:.4g}}"]
        )
        common = dict(
            text=group.trial_ids,
            customdata=_f32(np.column_stack([group.values[:, j], group.weights])),
            hovertemplate=hover + f"<extra>{group.label}</extra>",
            name=group.label,
            **style,
            **_selection(group, selected),
        )
        w = group.weights / group.weights.sum(axis=1, keepdims=True)
        if gl:
            fig.add_trace(go.Scattergl(x=w[:, 2] + w[:, 0] / 2, y=w[:, 0] * _SQRT3_2, **common))
        else:
            fig.add_trace(go.Scatterternary(a=w[:, 0], b=w[:, 1], c=w[:, 2], **common))
    _ternary_layout(fig, points.tasks, gl)
    return fig


def ternary_trace_ids(points: PointsInfo) -> list[np.ndarray | None]:
    """Per trace of :func:`weight_ternary`."""
    ids = group_trace_ids(points)
    return [None, *ids] if _use_gl(points) else ids


def _ternary_layout(fig: go.Figure, tasks: Sequence[str], gl: bool) -> None:
    """Corner labels: native ternary axes, or annotations on the projected triangle."""
    common = dict(
        template=TEMPLATE,
        dragmode="lasso" if not gl else "select",
        clickmode="event",
        legend={"orientation": "h", "y": -0.1},
        margin={"l": 40, "r": 40, "t": 40, "b": 30},
        uirevision="ternary",
    )
    if not gl:
        fig.update_layout(
            ternary={"aaxis_title": f"w[{tasks[0]}]", "baxis_title": f"w[{tasks[1]}]", "caxis_title": f"w[{tasks[2]}]"}, **common
        )
        return
    hidden = {"visible": False, "range": [-0.08, 1.08]}
    fig.update_layout(xaxis=hidden, yaxis=dict(hidden, range=[-0.08, 0.95], scaleanchor="x"), **common)
    for text, x, y in ((tasks[0], 0.5, _SQRT3_2 + 0.04), (tasks[1], -0.03, -0.04), (tasks[2], 1.03, -0.04)):
        fig.add_annotation(x=x, y=y, text=f"w[{text}] = 1", showarrow=False)


# --------------------------------------------------------------------------- progress and trial
