"""Figures over time: a run's hypervolume progress, a trial's epoch curves, and the message figure.

Pure rendering from infos (see ``_info``), like ``_figures``; no Dash.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from paretosweep.dashboard._figures import FRONT_COLOR, TEMPLATE
from paretosweep.dashboard._info import ProgressInfo
from paretosweep.dashboard._trial import TrialInfo
from paretosweep.results._progress import ComputeCurve


def _present(values: np.ndarray | None) -> bool:
    return values is not None and bool(np.isfinite(values).any())


def _estimate_labels(stderr: np.ndarray | None, n: int) -> np.ndarray:
    """Hover suffix of each progress row: `` ± s (Monte Carlo estimate)`` where estimated, else empty."""
    if stderr is None:
        return np.full(n, "")
    return np.array([f" ± {v:.3g} (Monte Carlo estimate)" if np.isfinite(v) else "" for v in stderr])


#: Marker of a trial the scheduler stopped on the compute curve.
STOPPED_SYMBOL = "x"


def progress_figure(info: ProgressInfo) -> go.Figure:
    """Hypervolume against trials done (left) and against compute seconds (right); with
    ``info.compute``, a third panel: against the epochs trained, summed over trials in finishing
    order, the trials the scheduler stopped marked with an ``x`` (a shared warm start's epochs
    count once, at the start).

    A Monte Carlo hypervolume (many tasks) is drawn as "estimate ± stderr" with error bars and
    says so in its hover text and axis title. When the run knows its exact front, a second row
    shows ``hv_ratio`` (HV / HV of the exact front) and IGD+ to the exact front.
    """
    estimated = _present(info.hypervolume_stderr)
    indicators = [
        (name, values, color)
        for name, values, color in (("hv_ratio", info.hv_ratio, "#636efa"), ("IGD+", info.igd_plus, "#00a08b"))
        if _present(values)
    ]
    rows = 2 if indicators else 1
    cols = 3 if info.compute is not None else 2
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, shared_xaxes=True, horizontal_spacing=0.06, vertical_spacing=0.08)
    stderr = info.hypervolume_stderr if estimated else None
    label = _estimate_labels(stderr, len(info.trials_done))
    for col, x, title in ((1, info.trials_done, "trials done"), (2, info.compute_seconds, "compute (s)")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=info.hypervolume,
                mode="lines+markers",
                marker={"size": 4},
                line={"color": FRONT_COLOR},
                customdata=np.column_stack([info.frontier_size.astype(np.int64).astype(str), label]),
                showlegend=False,
                name="hypervolume",
                error_y=None if stderr is None else {"type": "data", "array": np.nan_to_num(stderr), "visible": True},
                hovertemplate=f"{title}=%{{x:.4g}}<br>hypervolume=%{{y:.5g}}%{{customdata[1]}}"
                "<br>frontier size=%{customdata[0]}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        for name, values, color in indicators:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=values,
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": color},
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    hovertemplate=f"{title}=%{{x:.4g}}<br>{name}=%{{y:.4g}}<extra></extra>",
                ),
                row=2,
                col=col,
            )
        fig.update_xaxes(title_text=title, row=rows, col=col)
    if info.compute is not None:
        _compute_traces(fig, info.compute)
        fig.update_xaxes(title_text="compute (epochs trained)", row=rows, col=3)
    fig.update_yaxes(title_text="hypervolume (estimate ± stderr)" if estimated else "hypervolume", row=1, col=1)
    if indicators:
        fig.update_yaxes(title_text="vs exact front", row=2, col=1)
    fig.update_layout(template=TEMPLATE, margin={"l": 60, "r": 20, "t": 30, "b": 40}, uirevision="progress")
    if not len(info.trials_done):
        _note(fig, "No progress rows yet.")
    elif not np.any(info.hypervolume > 0):
        _note(fig, "Hypervolume is 0 so far: no trial beats the reference point in every objective.")
    return fig


def _compute_traces(fig: go.Figure, curve: ComputeCurve) -> None:
    """The compute curve (row 1, column 3): a step line over every finished trial, stopped ones marked."""
    x = np.concatenate([[0.0, float(curve.shared_epochs)] if curve.shared_epochs else [0.0], curve.epochs])
    y = np.concatenate([[0.0, 0.0] if curve.shared_epochs else [0.0], curve.hypervolume])
    fig.add_trace(
        go.Scatter(x=x, y=y, mode="lines", line={"color": FRONT_COLOR, "shape": "hv"}, name="hypervolume vs compute", showlegend=False),
        row=1,
        col=3,
    )
    stopped = curve.status == "stopped"
    kinds = (("trial finished", ~stopped, "circle", FRONT_COLOR), ("stopped early", stopped, STOPPED_SYMBOL, "#d62728"))
    for name, mask, symbol, color in kinds:
        fig.add_trace(
            go.Scatter(
                x=curve.epochs[mask],
                y=curve.hypervolume[mask],
                mode="markers",
                marker={"size": 6 if symbol == STOPPED_SYMBOL else 4, "symbol": symbol, "color": color},
                customdata=np.column_stack([curve.trial_ids[mask].astype(str), curve.status[mask].astype(str)]),
                name=name,
                legendgroup=name,
                showlegend=bool(stopped.any()),
                hovertemplate="epochs trained=%{x:.4g}<br>hypervolume=%{y:.5g}<br>trial %{customdata[0]} (%{customdata[1]})<extra></extra>",
            ),
            row=1,
            col=3,
        )


def epoch_curves(trial: TrialInfo) -> go.Figure:
    """One line per metric over the epochs of a trial's history."""
    fig = go.Figure()
    for column, ys in trial.history:
        fig.add_trace(go.Scatter(x=trial.epochs, y=ys, mode="lines+markers", name=column))
    fig.update_layout(
        template=TEMPLATE,
        xaxis_title="epoch",
        yaxis_title="value",
        xaxis_dtick=1,
        title={"text": f"trial {trial.trial_id}: per-epoch metrics", "font": {"size": 13}},
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
    )
    if not trial.history:
        _note(fig, "This trial recorded no per-epoch history.")
    return fig


def message_figure(text: str) -> go.Figure:
    """An empty figure that shows ``text`` (no data yet, or a view that does not apply)."""
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, xaxis_visible=False, yaxis_visible=False, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    _note(fig, text)
    return fig


def _note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 14})
