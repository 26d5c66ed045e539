"""Hand-built trial tables for the dashboard's pure builders (no Parquet, no sweep)."""

from __future__ import annotations

import json
import math

import pandas as pd

from paretosweep.results import Objective

TASKS = ("a", "b")
OBJECTIVES = (Objective("a", "a_loss", "min"), Objective("b", "b_acc", "max"))


def trial(
    trial_id: str,
    a_loss: float,
    b_acc: float,
    *,
    weights: list[float] | None = None,
    kind: str = "scalarization",
    method: str | None = None,
    status: str = "completed",
    history: list[dict[str, float]] | None = None,
) -> dict[str, object]:
    """One row with the contract's columns (the ones the dashboard reads)."""
    return {
        "trial_id": trial_id,
        "status": status,
        "kind": kind,
        "scalarizer": None if kind == "method" else "linear",
        "method": method,
        "weights": None if kind == "method" else weights,
        "effective_weights_mean": weights,
        "effective_weights_final": weights,
        "seed": 0,
        "lr": 0.01,
        "epochs": 2,
        "hparams": json.dumps({"alpha": 1.5}) if kind == "method" else "{}",
        "error": None if status == "completed" else "boom",
        "epochs_done": 2,
        "train_seconds": 1.0,
        "started_at": pd.Timestamp("2025-01-01", tz="UTC"),
        "finished_at": pd.Timestamp("2025-01-01 00:00:01", tz="UTC"),
        "node": "127.0.0.1",
        "device": "cpu",
        "history": json.dumps(history) if history is not None else None,
        "a_loss": a_loss if status == "completed" else math.nan,
        "b_acc": b_acc if status == "completed" else math.nan,
    }


def trials() -> pd.DataFrame:
    """Six trials: a 3-point front (t1, t2, t3), a dominated one, a method, a failure.

    ``a_loss`` is minimised and ``b_acc`` maximised: t1 (0.1, 0.5), t2 (0.2, 0.7),
    t3 (0.4, 0.9) are non-dominated; t4 (0.3, 0.6) is dominated by t2; the pcgrad trial
    m1 (0.25, 0.8) is non-dominated too.
    """
    hist = [{"a_loss": 0.5, "b_acc": 0.3}, {"a_loss": 0.2, "b_acc": 0.7}]
    return pd.DataFrame(
        [
            trial("t1", 0.1, 0.5, weights=[0.9, 0.1]),
            trial("t2", 0.2, 0.7, weights=[0.5, 0.5], history=hist),
            trial("t3", 0.4, 0.9, weights=[0.1, 0.9]),
            trial("t4", 0.3, 0.6, weights=[0.3, 0.7]),
            trial("m1", 0.25, 0.8, weights=[0.4, 0.6], kind="method", method="pcgrad"),
            trial("f1", 0.0, 0.0, weights=[0.6, 0.4], status="failed"),
        ]
    )


FRONTIER_IDS = frozenset({"t1", "t2", "t3", "m1"})
