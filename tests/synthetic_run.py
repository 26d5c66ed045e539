"""Write a synthetic run directory that follows the Parquet storage contract.

Used by the dashboard tests (``tiny_run_dir``) and by ``benchmarks/dashboard_load.py``. The
numbers come from a smooth convex trade-off plus seeded noise, so the frontier is known to
be non-trivial; dominance and hypervolume are computed with ``paretosweep.frontier``.
Files are written with pyarrow against ``paretosweep.results._schema``, exactly as a sweep
writes them (schema, column order, metadata keys).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from paretosweep.frontier import auto_reference_point, hv_contributions, hypervolume, non_dominated_mask
from paretosweep.results import _schema as S

METHODS = ("pcgrad", "mgda", "uncertainty")


def write_synthetic_run(
    path: str | Path,
    *,
    n_trials: int = 40,
    tasks: tuple[str, ...] = ("left", "right", "center"),
    n_method_trials: int = 3,
    n_failed: int = 2,
    n_diverged: int = 1,
    epochs: int = 4,
    seed: int = 0,
    with_history: bool = True,
) -> Path:
    """Write ``trials``/``frontier``/``progress`` Parquet files for a fake sweep into ``path``.

    Args:
        path: run directory (created).
        n_trials: total rows in trials.parquet, every status included.
        tasks: task names; each task reports ``loss`` (min, the objective) and ``acc`` (max).
        n_method_trials: comparison trials (``kind == "method"``), cycling over ``METHODS``.
        n_failed: trials with status ``failed`` (NaN metrics and an error message).
        n_diverged: trials with status ``diverged``.
        epochs: epochs per trial (length of each ``history``).
        seed: seed of every random draw.
        with_history: write per-epoch histories (JSON); False keeps huge runs small.

    Returns:
        The run directory.
    """
    rng = np.random.default_rng(seed)
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    m = len(tasks)
    n_swept = n_trials - n_method_trials - n_failed - n_diverged
    if n_swept < 1:
        raise ValueError(f"n_trials={n_trials} leaves no scalarization trial")
    kinds = ["scalarization"] * (n_trials - n_method_trials) + ["method"] * n_method_trials
    status = np.array(["completed"] * n_trials, dtype=object)
    status[n_swept : n_swept + n_failed] = "failed"
    status[n_swept + n_failed : n_trials - n_method_trials] = "diverged"
    weights = rng.dirichlet(np.ones(m), size=n_trials)
    losses = 0.1 + 0.9 * (1.0 - weights) ** 2 + rng.normal(0.0, 0.04, size=(n_trials, m))
    is_method = np.array([k == "method" for k in kinds])
    losses[is_method] += 0.05
    losses[status != "completed"] = np.nan
    accs = 1.0 - losses / 2.0
    metric_cols = [c for t in tasks for c in (f"{t}_loss", f"{t}_acc")]
    metrics = {f"{t}_loss": losses[:, i] for i, t in enumerate(tasks)}
    metrics |= {f"{t}_acc": accs[:, i] for i, t in enumerate(tasks)}
    columns = _fixed_columns(rng, kinds, status, weights, epochs, seed)
    columns["history"] = _histories(rng, metrics, metric_cols, status, epochs) if with_history else [None] * n_trials
    columns["checkpoint"] = [None] * n_trials
    columns |= {c: metrics[c] for c in metric_cols}
    objectives = tuple(S.Objective(t, f"{t}_loss", "min") for t in tasks)
    meta = _metadata(objectives, tasks, losses[status == "completed"])
    trials = pa.table(columns, schema=S.trials_schema(metric_cols).with_metadata(meta))
    pq.write_table(trials, out / S.TRIALS_FILE)
    _write_frontier(out, trials, objectives, metric_cols, meta)
    _write_progress(out, trials, objectives, meta)
    return out


def _fixed_columns(
    rng: np.random.Generator,
    kinds: list[str],
    status: np.ndarray,
    weights: np.ndarray,
    epochs: int,
    seed: int,
) -> dict[str, object]:
    """The fixed contract columns (``TRIAL_FIELDS`` minus ``history``)."""
    n = len(kinds)
    is_method = np.array([k == "method" for k in kinds])
    method_names = [METHODS[i % len(METHODS)] for i in range(int(is_method.sum()))]
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    train = rng.uniform(5.0, 15.0, size=n)
    started = [t0 + timedelta(seconds=2.0 * i) for i in range(n)]
    w_rows = weights.tolist()
    return {
        "trial_id": [f"trial_{i:06d}" for i in range(n)],
        "status": status.tolist(),
        "kind": kinds,
        "scalarizer": [None if k == "method" else "linear" for k in kinds],
        "method": [None] * (n - len(method_names)) + method_names,
        "weights": [None if k == "method" else w for k, w in zip(kinds, w_rows)],
        "effective_weights_mean": w_rows,
        "effective_weights_final": w_rows,
        "seed": np.full(n, seed, dtype=np.int64),
        "lr": np.full(n, 1e-2),
        "epochs": np.full(n, epochs, dtype=np.int64),
        "hparams": [json.dumps({"alpha": 0.5}) if k == "method" else "{}" for k in kinds],
        "error": [_error(s) for s in status],
        "epochs_done": np.where(status == "completed", epochs, 1).astype(np.int64),
        "train_seconds": train,
        "started_at": started,
        "finished_at": [s + timedelta(seconds=float(d)) for s, d in zip(started, train)],
        "node": ["127.0.0.1"] * n,
        "device": ["cpu"] * n,
    }


def _error(status: str) -> str | None:
    """The error message a failed or diverged trial records."""
    if status == "failed":
        return "RuntimeError: synthetic failure"
    if status == "diverged":
        return "loss became NaN at epoch 1"
    return None


def _histories(
    rng: np.random.Generator,
    metrics: dict[str, np.ndarray],
    metric_cols: list[str],
    status: np.ndarray,
    epochs: int,
) -> list[str | None]:
    """Per-trial JSON lists of per-epoch metric dicts that end at the final values."""
    decay = np.linspace(1.6, 1.0, epochs)
    out: list[str | None] = []
    for i in range(status.shape[0]):
        if status[i] != "completed":
            out.append(json.dumps([{c: None for c in metric_cols}]))
            continue
        rows = []
        for e in range(epochs):
            row = {}
            for c in metric_cols:
                v = float(metrics[c][i])
                row[c] = v * decay[e] if c.endswith("_loss") else v / decay[e]
            rows.append(row)
        out.append(json.dumps(rows))
    return out


def _metadata(objectives: tuple[S.Objective, ...], tasks: tuple[str, ...], done: np.ndarray) -> dict[bytes, bytes]:
    """Schema metadata of every file of the run."""
    directions = [o.direction for o in objectives]
    ref = auto_reference_point(done, directions) if done.shape[0] else np.ones(len(tasks))
    spec = {
        "problem": {"name": "synthetic", "params": {"tasks": list(tasks)}},
        "scalarizer": "linear",
        "objectives": [o.column for o in objectives],
        "train": {"epochs": 4, "lr": 1e-2},
    }
    return {
        S.META_OBJECTIVES: S.objectives_to_json(objectives).encode(),
        S.META_SCHEMA_VERSION: S.SCHEMA_VERSION.encode(),
        S.META_TASKS: json.dumps(list(tasks)).encode(),
        S.META_REFERENCE_POINT: json.dumps([float(r) for r in ref]).encode(),
        S.META_SPEC: json.dumps(spec).encode(),
        S.META_SPLITS: S.RunSplits("validation", None, {}, "a synthetic run written for tests: one split").to_json().encode(),
    }


def _objective_matrix(table: pa.Table, objectives: tuple[S.Objective, ...]) -> np.ndarray:
    """``[n, m]`` objective values of the rows of ``table``."""
    return np.column_stack([table.column(o.column).to_numpy(zero_copy_only=False) for o in objectives])


def _write_frontier(
    out: Path,
    trials: pa.Table,
    objectives: tuple[S.Objective, ...],
    metric_cols: list[str],
    meta: dict[bytes, bytes],
) -> None:
    """frontier.parquet: non-dominated completed trials plus their HV contribution."""
    directions = [o.direction for o in objectives]
    done = trials.filter(pc.equal(trials.column("status"), "completed"))
    points = _objective_matrix(done, objectives)
    front = done.filter(pa.array(non_dominated_mask(points, directions=directions)))
    ref = json.loads(meta[S.META_REFERENCE_POINT])
    contrib = hv_contributions(_objective_matrix(front, objectives), reference_point=ref, directions=directions)
    n = front.num_rows
    extras = [pa.array(contrib), pa.array([1] * n, pa.int64()), pa.array([[t] for t in front.column("trial_id").to_pylist()])]
    for field_, array in zip(S.FRONTIER_EXTRA_FIELDS, extras, strict=True):
        front = front.append_column(field_, array)
    for o in objectives:  # one seed per weight vector: no standard error
        front = front.append_column(f"{o.column}{S.STDERR_SUFFIX}", pa.nulls(n, pa.float64()))
    schema = S.frontier_schema(metric_cols, [o.column for o in objectives])
    pq.write_table(front.cast(schema.with_metadata(meta)), out / S.FRONTIER_FILE)


def _write_progress(out: Path, trials: pa.Table, objectives: tuple[S.Objective, ...], meta: dict[bytes, bytes]) -> None:
    """progress.parquet: counts, compute and hypervolume at about 100 checkpoints."""
    directions = [o.direction for o in objectives]
    ref = json.loads(meta[S.META_REFERENCE_POINT])
    points = _objective_matrix(trials, objectives)
    status = np.array(trials.column("status").to_pylist())
    train = trials.column("train_seconds").to_numpy()
    n = trials.num_rows
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rows: dict[str, list[object]] = {f.name: [] for f in S.PROGRESS_FIELDS}
    for k in sorted({*range(1, n + 1, max(1, n // 100)), n}):
        ok = points[:k][status[:k] == "completed"]
        front = ok[non_dominated_mask(ok, directions=directions)] if ok.shape[0] else ok
        rows["trials_done"].append(k)
        rows["trials_completed"].append(int(ok.shape[0]))
        rows["trials_failed"].append(int(k - ok.shape[0]))
        rows["compute_seconds"].append(float(train[:k].sum()))
        rows["elapsed_seconds"].append(2.0 * k)
        rows["frontier_size"].append(int(front.shape[0]))
        hv = hypervolume(front, reference_point=ref, directions=directions) if front.shape[0] else 0.0
        rows["hypervolume"].append(hv)
        rows["time"].append(t0 + timedelta(seconds=2.0 * k))
        rows["hypervolume_method"].append("exact")
        rows["hypervolume_stderr"].append(0.0)
        rows["igd_plus"].append(None)  # this fake problem has no exact front
        rows["hv_ratio"].append(None)
        rows["clipped"].append(0)
        rows["trials_stopped"].append(0)
    pq.write_table(pa.table(rows, schema=S.progress_schema().with_metadata(meta)), out / S.PROGRESS_FILE)
