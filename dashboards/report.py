"""``paretosweep report``: one self-contained HTML file with the dashboard's figures.

The file inlines plotly.js once and needs no server or network: it can be mailed or
attached to a ticket. It holds the frontier scatter for every pair of objectives, the
scatter matrix and parallel coordinates (more than two objectives), the weight ternary
(three tasks), the progress curves, and the frontier as a table plus the exact JSON that
``paretosweep export`` writes.
"""

from __future__ import annotations

import html
import itertools
import os
from datetime import datetime, timezone
from pathlib import Path

import plotly.graph_objects as go

from paretosweep.dashboard import _curves as C
from paretosweep.dashboard import _figures as F
from paretosweep.dashboard import _info as I
from paretosweep.dashboard._data import RunData, load_run
from paretosweep.exports import export_records, point_trial_ids, to_json
from paretosweep.results import checkpoint_locations, load_proposals, read_stage_info

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; } td, th { border: 1px solid #ddd; padding: 2px 6px; }
th { background: #f4f4f4; } pre { background: #f7f7f7; padding: 1rem; overflow: auto; max-height: 30rem; }
"""


def write_report(run_path: str | os.PathLike[str], out_html: str | os.PathLike[str]) -> Path:
    """Write the report of the run at ``run_path`` to ``out_html``; returns the written path.

    Raises:
        ResultSchemaError: the run is missing, empty or corrupt (nothing is written).
    """
    run = load_run(run_path)
    parts = [f"<h1>paretosweep report: {html.escape(run.name)}</h1>", _summary_html(run)]
    for i, (heading, fig) in enumerate(report_figures(run)):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=i == 0, config={"displaylogo": False}))
    where = checkpoint_locations(run.source, point_trial_ids(run.frontier), trials=run.trials)
    records = export_records(run.frontier, run.objectives, spec=run.spec, test_columns=run.test_columns, checkpoints=where)
    parts += [
        "<h2>Frontier</h2>",
        _frontier_table(records, run),
        "<details><summary>Frontier as JSON (as written by <code>paretosweep export</code>)</summary>",
        f"<pre>{html.escape(to_json(records))}</pre></details>",
        _gap_table(run),
    ]
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>paretosweep report: {html.escape(run.name)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def report_figures(run: RunData) -> list[tuple[str, go.Figure]]:
    """The report's figures with their headings, in page order."""
    points = I.points_info(run.trials, set(run.frontier["trial_id"]), run.objectives, run.tasks, test_columns=run.test_columns)
    figures: list[tuple[str, go.Figure]] = []
    columns = [o.column for o in run.objectives]
    proposals = load_proposals(run.source)  # sampler: conditioned; None otherwise
    by_column = {o.column: o for o in run.objectives}
    for x, y in itertools.combinations(columns, 2):
        proposed = F.proposed_front(proposals, by_column[x], by_column[y], run.tasks)
        figures.append((f"Frontier: {x} vs {y}", F.frontier_scatter(I.scatter_info(points, x, y), proposed=proposed)))
    if len(columns) > 2:
        figures.append(("Scatter matrix", F.scatter_matrix(points)))
    if len(columns) > 1:
        table = I.table_info(points)
        figures.append(("Parallel coordinates", F.parallel_coordinates(table, color_column=columns[0])))
    if len(run.tasks) == 3:
        figures.append((f"Weights, coloured by {columns[0]}", F.weight_ternary(points, color_column=columns[0])))
    figures.append(("Progress", C.progress_figure(I.run_progress_info(run))))
    return figures


def _summary_html(run: RunData) -> str:
    """One line of counts and where the run came from."""
    s = I.summary_info(run.name, run.trials, run.frontier)
    status = ", ".join(f"{n} {k}" for k, n in s.by_status)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    splits = f" {html.escape(run.splits.summary())}." if run.splits is not None else ""
    return (
        f"<p>{s.n_trials} trials ({html.escape(status)}), {s.n_methods} comparison-method trials, "
        f"{s.n_frontier} on the frontier.{splits} Run <code>{html.escape(run.source)}</code>, report written {stamp}.</p>"
    )


#: Rows of the frontier table in the report (the JSON below it always has every point).
TABLE_ROWS = 500


def _frontier_table(records: list[dict[str, object]], run: RunData) -> str:
    """The frontier as an HTML table: id, scalarizer or method, weights, objectives (then their test values)."""
    note = f"<p>First {TABLE_ROWS} of {len(records)} frontier points; the JSON has them all.</p>" if len(records) > TABLE_ROWS else ""
    records = records[:TABLE_ROWS]
    tested = bool(records) and records[0].get("test_objectives") is not None
    head = [
        "trial",
        "scalarizer / method",
        *(f"w[{t}]" for t in run.tasks),
        *(o.column for o in run.objectives),
        *(f"test {o.column}" for o in run.objectives if tested),
    ]
    rows = []
    for r in records:
        weights = r["weights"] or r["effective_weights"] or [None] * len(run.tasks)
        tests = list(r["test_objectives"].values()) if tested else []  # type: ignore[union-attr]
        cells = [r["trial_id"], r["scalarizer"] or r["method"], *weights, *r["objectives"].values(), *tests]  # type: ignore[union-attr, misc]
        rows.append("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    return f"{note}<table>{header}{''.join(rows)}</table>"


def _gap_table(run: RunData) -> str:
    """``sampler: conditioned``: each verified weight vector's proposed and verified objectives and their gap ('' otherwise)."""
    info = read_stage_info(run.source)
    if info is None or not info.get("verify"):
        return ""
    columns = [o.column for o in run.objectives]
    columns += [t for c, t in run.test_columns.items() if c in columns]
    head = ["w", *(f"{c}: proposed / verified / gap" for c in columns)]
    rows = []
    for entry in info["verify"]:
        proposed, verified, gap = entry.get("proposed", {}), entry.get("verified", {}), entry.get("gap", {})
        cells = [", ".join(f"{w:.3f}" for w in entry["weights"])]
        cells += [f"{_fmt(proposed.get(c))} / {_fmt(verified.get(c))} / {_fmt(gap.get(c))}" for c in columns]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    cost = (
        f"<p>One conditioned training ({info.get('epochs')} epochs, {info.get('sample_epochs')} training samples, "
        f"{_fmt(float(info.get('train_seconds') or 0.0))} s) proposed the front on {info.get('dense')} weight vectors; "
        f"the frontier holds the verified trials only. Gap = verified - proposed.</p>"
    )
    return f"<h2>Conditioned proposals vs verified trials</h2>{cost}<table>{header}{''.join(rows)}</table>"


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
