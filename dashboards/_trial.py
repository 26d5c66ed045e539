"""One trial -> the trial panel's info: weights, metrics, parameters, checkpoint and per-epoch curves."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from paretosweep.dashboard._info import weight_matrix


class TrialInfo(NamedTuple):
    """Everything the trial panel shows for one trial."""

    trial_id: str
    status: str
    kind: str
    name: str  # scalarizer or method name
    on_frontier: bool
    weights_label: str  # "weights" or "effective weights (mean)"
    weights: tuple[tuple[str, float], ...]  # (task, weight)
    metrics: tuple[tuple[str, float], ...]  # (column, value)
    params: tuple[tuple[str, str], ...]  # (name, printed value)
    error: str | None
    epochs: tuple[int, ...]  # 1-based epoch numbers of the history
    history: tuple[tuple[str, tuple[float, ...]], ...]  # (metric column, value per epoch)
    #: (metric column, its value on the test split) for the metrics that have one; () with one split
    test_metrics: tuple[tuple[str, float], ...] = ()
    #: the saved checkpoint file's full path or URI; None when the trial kept none (or it was not looked up)
    checkpoint: str | None = None
    #: why there is no checkpoint (None when there is one)
    checkpoint_reason: str | None = None
    #: Python that loads the checkpoint: ``paretosweep.load_checkpoint("<run>", "<trial_id>")``
    load_snippet: str | None = None


def trial_info(
    trials: pd.DataFrame,
    trial_id: str,
    *,
    frontier_ids: Collection[str],
    tasks: Sequence[str],
    metric_columns: Sequence[str],
    test_columns: Mapping[str, str] | None = None,
    checkpoint: Mapping[str, Any] | None = None,
    run_source: str | None = None,
) -> TrialInfo:
    """The trial panel of one trial.

    ``metric_columns`` are the validation metrics (they chose the frontier); ``test_columns``
    maps each to the column of its test-split value, shown beside it (reported only).
    ``checkpoint`` is the trial's entry of ``paretosweep.results.checkpoint_locations``
    (``location``, or None and a ``reason``); ``run_source`` the run as opened, for the
    ``load_checkpoint`` snippet.

    Raises:
        KeyError: if no trial has this id.
    """
    match = trials[trials["trial_id"] == trial_id]
    if match.empty:
        raise KeyError(f"No trial `{trial_id}` in this run.")
    row = match.iloc[0]
    is_method = row["kind"] == "method"
    w = weight_matrix(match["effective_weights_mean" if is_method else "weights"], len(tasks))[0]
    epochs, history = _history(row.get("history"), metric_columns)
    return TrialInfo(
        trial_id=str(trial_id),
        status=str(row["status"]),
        kind=str(row["kind"]),
        name=str(row["method"] if is_method else row["scalarizer"]),
        on_frontier=trial_id in set(frontier_ids),
        weights_label="effective weights (mean)" if is_method else "weights",
        weights=tuple((t, float(v)) for t, v in zip(tasks, w)),
        metrics=tuple((c, float(row[c])) for c in metric_columns),
        params=_params(row),
        error=None if pd.isna(row.get("error")) else str(row["error"]),
        epochs=epochs,
        history=history,
        test_metrics=tuple((c, float(row[t])) for c in metric_columns if (t := (test_columns or {}).get(c)) is not None and t in row.index),
        **_checkpoint(checkpoint, run_source, str(trial_id)),
    )


def _checkpoint(entry: Mapping[str, Any] | None, run_source: str | None, trial_id: str) -> dict[str, str | None]:
    """The checkpoint fields of :class:`TrialInfo` from a ``checkpoint_locations`` entry."""
    if entry is None:
        return {"checkpoint": None, "checkpoint_reason": None, "load_snippet": None}
    location = entry.get("location")
    if not location:
        return {"checkpoint": None, "checkpoint_reason": str(entry.get("reason") or "no checkpoint was kept"), "load_snippet": None}
    snippet = None if run_source is None else f"paretosweep.load_checkpoint({json.dumps(run_source)}, {json.dumps(trial_id)})"
    return {"checkpoint": str(location), "checkpoint_reason": None, "load_snippet": snippet}


def _params(row: pd.Series) -> tuple[tuple[str, str], ...]:
    """Seed, learning rate, epochs, hyper-parameters and where/when the trial ran."""
    out = [(k, _show(row.get(k))) for k in ("seed", "lr", "epochs", "epochs_done", "train_seconds")]
    hparams = row.get("hparams")
    if isinstance(hparams, str) and hparams:
        out += [(f"hparams.{k}", _show(v)) for k, v in json.loads(hparams).items()]
    out += [(k, _show(row.get(k))) for k in ("device", "node", "started_at", "finished_at")]
    return tuple(out)


def _show(value: Any) -> str:
    """A parameter value as printed in the panel."""
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _history(text: Any, metric_columns: Sequence[str]) -> tuple[tuple[int, ...], tuple[tuple[str, tuple[float, ...]], ...]]:
    """Per-epoch curves from the ``history`` JSON (a list of per-epoch metric dicts)."""
    if not isinstance(text, str) or not text:
        return (), ()
    rows = json.loads(text)
    if not isinstance(rows, list) or not rows:
        return (), ()
    epochs = tuple(int(r.get("epoch", i + 1)) for i, r in enumerate(rows))
    curves = []
    for c in metric_columns:
        ys = tuple(np.nan if r.get(c) is None else float(r[c]) for r in rows)
        if not all(np.isnan(ys)):
            curves.append((c, ys))
    return epochs, tuple(curves)
