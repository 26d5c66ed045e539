"""The verdict: does any comparison method beat the swept scalarization frontier?

Pure pandas/numpy (no torch, no Ray): it reads the rows of ``trials.parquet`` and judges every
completed ``kind == "method"`` trial against the frontier of the completed
``kind == "scalarization"`` trials, in the run's objectives.

Seeds: the swept frontier is the non-dominated set of *configuration means* (each weight
vector's seeds averaged, :func:`paretosweep.frontier.seed_groups`), and a method configuration
is judged by the mean point of its seeds, with a confidence interval over its seeds' epsilons.

Conventions (all objectives are turned into minimisation: ``max`` columns are negated):

* **dominated_by_frontier**: some frontier point is no worse in every objective and strictly
  better in one.
* **epsilon** (additive ε-indicator of the method point :math:`p` w.r.t. the frontier
  :math:`F`): :math:`\\varepsilon = \\min_{f \\in F} \\max_i (f_i - p_i)`, the smallest amount
  by which the frontier must improve in every objective so that one of its points weakly
  dominates :math:`p`. ``epsilon <= 0``: a frontier point weakly dominates the method (by a
  margin of :math:`|\\varepsilon|` in every objective); ``epsilon > 0``: no frontier point
  weakly dominates it, so the method reaches a region the sweep did not. Units are those of
  the objectives; ``epsilon_normalized`` is the same after scaling each objective to [0, 1]
  over all completed points (sweep means and method trials).
* **verdict** (per method configuration, over its seeds' epsilons :math:`\\varepsilon_s`): the
  mean :math:`\\bar\\varepsilon` and the Student-t interval
  :math:`\\bar\\varepsilon \\pm t_{1-\\alpha/2,\\,n-1}\\, s/\\sqrt n` (``confidence`` 0.95 by
  default). ``escapes``: the interval lies above 0 (beyond the swept frontier);
  ``dominated``: it lies below 0; ``inconclusive``: it contains 0. With one seed there is no
  interval: the label says ``(1 seed)``.
* Compute: ``method_seconds`` (the trial's ``train_seconds``; in the per-method summary, the
  sum over all of that configuration's trials, every status) against ``sweep_seconds`` (the
  sum of ``train_seconds`` over all scalarization trials, every status).

Notes:
    Rows with a NaN objective are left out of the frontier; a method trial with a NaN
    objective gets NaN ``epsilon`` and ``<NA>`` dominance. Dominance checks are
    :math:`O(|F| \\cdot n \\cdot k)` NumPy broadcasts. Inputs are never mutated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from paretosweep.errors import ConfigError, ResultSchemaError
from paretosweep.frontier import configuration_keys, hparams_key, non_dominated_mask, seed_groups

REQUIRED_COLUMNS = ("trial_id", "status", "kind", "method", "weights", "train_seconds")

#: Columns of the per-trial table, in order.
TRIAL_COLUMNS = (
    "method",
    "hparams",
    "trial_id",
    "dominated_by_frontier",
    "epsilon",
    "epsilon_normalized",
    "dominating_trial_id",
    "dominating_weights",
    "method_seconds",
    "sweep_seconds",
    "learnt_weights",
    "nearest_trial_id",
    "nearest_weights",
)
#: Columns the per-configuration summary adds after ``hparams`` (the rest are TRIAL_COLUMNS[2:],
#: describing the configuration's mean point; ``trial_id`` is its lowest-seed trial).
SUMMARY_COLUMNS = (
    "n_trials",
    "n_seeds",
    "n_dominated",
    "verdict",
    "epsilon_mean",
    "epsilon_ci_low",
    "epsilon_ci_high",
)


class ObjectiveLike(Protocol):
    """Anything with an objective ``column`` and a ``direction`` (``min``/``max``)."""

    @property
    def column(self) -> str: ...

    @property
    def direction(self) -> str: ...


def compare(
    trials: pd.DataFrame, objectives: Sequence[ObjectiveLike], *, per_trial: bool = False, confidence: float = 0.95
) -> pd.DataFrame:
    """Judge each comparison method against the swept frontier (of configuration means).

    Args:
        trials: rows of ``trials.parquet`` (the columns of ``results._schema.TRIAL_FIELDS``
            plus the objective columns).
        objectives: the run's objectives (``results._schema.Objective`` or alike).
        per_trial: one row per completed method trial instead of one per method configuration.
        confidence: the level of the interval over seeds (in (0, 1)).

    Returns:
        With ``per_trial=False``, one row per method configuration (``method`` and
        ``hparams``, seeds pooled) describing the *mean point* of its completed seeds, plus
        ``n_trials``, ``n_seeds`` (completed), ``n_dominated`` (seeds dominated by the
        frontier), ``verdict`` and the seeds' ``epsilon_mean`` with its interval
        ``epsilon_ci_low`` / ``epsilon_ci_high``; ``method_seconds`` is then the sum over all
        its trials. With ``per_trial=True``, the columns of `TRIAL_COLUMNS` for every completed
        method trial. ``learnt_weights`` (``effective_weights_final`` scaled to sum 1; the mean
        over seeds in the summary), ``nearest_trial_id`` and ``nearest_weights`` (the swept
        weights of the frontier point nearest to the method's point in normalised objective
        space) are filled only where the trials recorded ``effective_weights_final``.

    Raises:
        ResultSchemaError: a required or objective column is missing.
        ConfigError: an objective direction is not ``min`` or ``max``, or a bad ``confidence``.

    Example:
        >>> from paretosweep.results._schema import Objective
        >>> rows = pd.DataFrame({
        ...     "trial_id": ["s1", "s2", "m1"], "status": ["completed"] * 3,
        ...     "kind": ["scalarization", "scalarization", "method"],
        ...     "method": [None, None, "pcgrad"], "weights": [[0.5, 0.5], [0.9, 0.1], None],
        ...     "train_seconds": [10.0, 10.0, 12.0], "a_loss": [1.0, 0.5, 1.5],
        ...     "b_loss": [1.0, 2.0, 1.5]})
        >>> objs = [Objective("a", "a_loss", "min"), Objective("b", "b_loss", "min")]
        >>> verdict = compare(rows, objs)
        >>> row = verdict.iloc[0]
        >>> row["method"], bool(row["dominated_by_frontier"]), float(row["epsilon"]), row["dominating_trial_id"], row["verdict"]
        ('pcgrad', True, -0.5, 's1', 'dominated (1 seed)')
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"`confidence` should lie in (0, 1), e.g. 0.95. Found {confidence}.")
    columns, signs = _check(trials, objectives)
    frame = trials.assign(hparams=trials["hparams"] if "hparams" in trials.columns else None)
    is_sweep = (frame["kind"] == "scalarization").to_numpy()
    sweep = frame[is_sweep & (frame["status"] == "completed").to_numpy()].reset_index(drop=True)
    groups = seed_groups(sweep, columns)
    means = groups.mean * signs
    keep = non_dominated_mask(means, directions=["min"] * len(columns)) if len(means) else np.zeros(0, dtype=bool)
    front = _Front(sweep.iloc[groups.representative[keep]].reset_index(drop=True), means[keep])
    methods = frame[frame["kind"] == "method"].reset_index(drop=True)
    method_done = (methods["status"] == "completed").to_numpy()
    points = _minimised(methods, columns, signs)
    span = _spans(np.vstack([means, points[method_done]]))
    sweep_seconds = float(frame.loc[is_sweep, "train_seconds"].fillna(0).sum())
    records = [_judge(row, p, front, span, sweep_seconds) for (_, row), p in zip(methods[method_done].iterrows(), points[method_done])]
    table = pd.DataFrame.from_records(records, columns=list(TRIAL_COLUMNS))
    table["dominated_by_frontier"] = table["dominated_by_frontier"].astype("boolean")
    if per_trial:
        return table.reset_index(drop=True)
    return _summarise(table, methods, points, front, span, sweep_seconds, confidence)


class _Front:
    """The swept frontier: its rows (one per configuration) and their mean points (minimisation)."""

    def __init__(self, rows: pd.DataFrame, y: np.ndarray) -> None:
        self.rows, self.y = rows, y


def _check(trials: pd.DataFrame, objectives: Sequence[ObjectiveLike]) -> tuple[list[str], np.ndarray]:
    columns = [o.column for o in objectives]
    missing = [c for c in (*REQUIRED_COLUMNS, *columns) if c not in trials.columns]
    if missing:
        raise ResultSchemaError(
            f"compare needs the trials columns {', '.join(missing)}. Found columns "
            f"{', '.join(map(str, trials.columns))}; pass the rows of trials.parquet."
        )
    bad = [o for o in objectives if o.direction not in ("min", "max")]
    if bad or not objectives:
        found = ", ".join(f"{o.column}: {o.direction!r}" for o in bad) or "no objectives"
        raise ConfigError(f"Objective directions should be `min` or `max`. Found {found}.")
    return columns, np.array([1.0 if o.direction == "min" else -1.0 for o in objectives])


def _minimised(rows: pd.DataFrame, columns: list[str], signs: np.ndarray) -> np.ndarray:
    values = rows[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return values.reshape(len(rows), len(columns)) * signs


def _spans(points: np.ndarray) -> np.ndarray:
    """Per-objective range over the finite rows (1 where constant or empty)."""
    finite = points[np.isfinite(points).all(axis=1)]
    if len(finite) == 0:
        return np.ones(points.shape[1])
    span = finite.max(axis=0) - finite.min(axis=0)
    return np.where(span > 0, span, 1.0)


def _judge(row: pd.Series | dict[str, Any], p: np.ndarray, front: _Front, span: np.ndarray, sweep_seconds: float) -> dict[str, Any]:
    """The verdict of one method point ``p`` (minimisation) against the frontier."""
    record: dict[str, Any] = {
        "method": row["method"],
        "hparams": hparams_key(row["hparams"]),
        "trial_id": row["trial_id"],
        "dominated_by_frontier": pd.NA,
        "epsilon": np.nan,
        "epsilon_normalized": np.nan,
        "dominating_trial_id": None,
        "dominating_weights": None,
        "method_seconds": _float(row["train_seconds"]),
        "sweep_seconds": sweep_seconds,
        "learnt_weights": None,
        "nearest_trial_id": None,
        "nearest_weights": None,
    }
    if not np.isfinite(p).all():
        return record
    if len(front.y) == 0:
        record["dominated_by_frontier"] = False
        return record
    gaps = (front.y - p).max(axis=1)
    dominating = (front.y <= p).all(axis=1) & (front.y < p).any(axis=1)
    record["dominated_by_frontier"] = bool(dominating.any())
    record["epsilon"] = float(gaps.min())
    record["epsilon_normalized"] = float(((front.y - p) / span).max(axis=1).min())
    if dominating.any():
        best = int(np.argmin(np.where(dominating, gaps, np.inf)))
        record["dominating_trial_id"] = front.rows["trial_id"].iloc[best]
        record["dominating_weights"] = _weights(front.rows["weights"].iloc[best])
    learnt = _weights(row.get("effective_weights_final"))
    if learnt is not None and sum(learnt) != 0:
        record["learnt_weights"] = [w / sum(learnt) for w in learnt]
        nearest = int(np.argmin((((front.y - p) / span) ** 2).sum(axis=1)))
        record["nearest_trial_id"] = front.rows["trial_id"].iloc[nearest]
        record["nearest_weights"] = _weights(front.rows["weights"].iloc[nearest])
    return record


def seed_interval(epsilons: np.ndarray, confidence: float) -> tuple[float, float, float, str]:
    """Mean of the seeds' epsilons, its Student-t interval and the verdict (see the module docstring)."""
    from scipy import stats

    e = epsilons[np.isfinite(epsilons)]
    if e.size == 0:
        return np.nan, np.nan, np.nan, "no completed seed"
    mean = float(e.mean())
    if e.size == 1:
        return mean, np.nan, np.nan, f"{'escapes' if mean > 0 else 'dominated' if mean < 0 else 'on the frontier'} (1 seed)"
    half = float(stats.t.ppf(0.5 + confidence / 2, e.size - 1) * e.std(ddof=1) / np.sqrt(e.size))
    low, high = mean - half, mean + half
    return mean, low, high, "escapes" if low > 0 else "dominated" if high < 0 else "inconclusive"


def _summarise(
    table: pd.DataFrame,
    methods: pd.DataFrame,
    points: np.ndarray,
    front: _Front,
    span: np.ndarray,
    sweep_seconds: float,
    confidence: float,
) -> pd.DataFrame:
    """One row per method configuration: its seeds' mean point judged, and the interval over seeds."""
    keys = np.asarray(configuration_keys(methods), dtype=object) if len(methods) else np.zeros(0, dtype=object)
    by_id = table.set_index("trial_id")
    rows = []
    for key in dict.fromkeys(keys.tolist()):
        group = methods[keys == key]
        done = group["status"].eq("completed").to_numpy() & np.isfinite(points[keys == key]).all(axis=1)
        seeds = group[done]
        first = (seeds if len(seeds) else group).sort_values("seed" if "seed" in group.columns else "trial_id").iloc[0]
        mean_point = points[keys == key][done].mean(axis=0) if done.any() else np.full(points.shape[1], np.nan)
        learnt = [w for w in (_weights(v) for v in seeds.get("effective_weights_final", [])) if w is not None and sum(w) != 0]
        proxy = {
            **first.to_dict(),
            "effective_weights_final": np.mean([np.asarray(w) / sum(w) for w in learnt], axis=0) if learnt else None,
        }
        record = _judge(proxy, mean_point, front, span, sweep_seconds)
        epsilons = by_id.loc[seeds["trial_id"], "epsilon"].to_numpy(dtype=float) if len(seeds) else np.zeros(0)
        mean, low, high, verdict = seed_interval(epsilons, confidence)
        record.update(
            method_seconds=float(group["train_seconds"].fillna(0).sum()),
            n_trials=len(group),
            n_seeds=len(seeds),
            n_dominated=int(by_id.loc[seeds["trial_id"], "dominated_by_frontier"].fillna(False).sum()) if len(seeds) else 0,
            verdict=verdict,
            epsilon_mean=mean,
            epsilon_ci_low=low,
            epsilon_ci_high=high,
        )
        rows.append(record)
    order = ["method", "hparams", *SUMMARY_COLUMNS, *TRIAL_COLUMNS[2:]]
    summary = pd.DataFrame.from_records(rows, columns=order)
    summary["dominated_by_frontier"] = summary["dominated_by_frontier"].astype("boolean")
    return summary.sort_values(["method", "hparams"], kind="stable").reset_index(drop=True)


def method_labels(frame: pd.DataFrame) -> list[str]:
    """Each row's method name, plus the parameters that tell apart configurations of the same
    method in ``frame`` (``mgda upper_bound=false`` / ``mgda upper_bound=true``); retries and
    other bookkeeping do not count. Reads the columns ``method`` and ``hparams`` (if present).

    Example:
        >>> method_labels(pd.DataFrame({"method": ["mgda", "mgda", "pcgrad"],
        ...     "hparams": ['{"upper_bound": false}', '{"upper_bound": true, "attempts": 1}', None]}))
        ['mgda upper_bound=false', 'mgda upper_bound=true', 'pcgrad']
    """
    hparams = frame["hparams"] if "hparams" in frame.columns else [None] * len(frame)
    params = [json.loads(hparams_key(h)) for h in hparams]
    names = [str(name) for name in frame["method"]]
    labels = []
    for name, own in zip(names, params):
        others = [p for n, p in zip(names, params) if n == name]
        differing = sorted(k for k in own if any(p.get(k) != own[k] for p in others))
        labels.append(" ".join([name, *(f"{k}={json.dumps(own[k])}" for k in differing)]))
    return labels


def _weights(value: Any) -> list[float] | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return [float(v) for v in value]


def _float(value: Any) -> float:
    return float(value) if value is not None and pd.notna(value) else np.nan


def compare_runs(
    names: Sequence[str],
    fronts: Sequence[pd.DataFrame],
    reference_points: Sequence[Sequence[float]],
    objectives: Sequence[ObjectiveLike],
) -> tuple[np.ndarray, pd.DataFrame]:
    """Hypervolume of several runs' frontiers at one shared reference point.

    Each run's hypervolume is measured at its own fixed reference point, so two runs' numbers
    are not comparable when the points differ. The shared point is, per objective, the worst of
    the runs' points (:func:`paretosweep.frontier.shared_reference_point`).

    Args:
        names: a label per run.
        fronts: each run's frontier rows (the objective columns are read).
        reference_points: each run's own reference point, in objective order.
        objectives: the runs' common objectives.

    Returns:
        The shared point ``[m]`` and one row per run: ``run``, ``frontier_size``,
        ``reference_point`` (its own), ``hypervolume`` (at its own point) and
        ``hypervolume_shared`` (at the shared point).
    """
    from paretosweep.frontier import hypervolume, shared_reference_point

    for front in fronts:
        _check(front, objectives)
    columns = [o.column for o in objectives]
    directions = [o.direction for o in objectives]
    shared = shared_reference_point(np.asarray(reference_points, dtype=np.float64), directions)
    rows = []
    for name, front, own in zip(names, fronts, reference_points, strict=True):
        points = front[columns].to_numpy(dtype=np.float64).reshape(len(front), len(columns))
        points = points[np.isfinite(points).all(axis=1)]
        rows.append(
            {
                "run": name,
                "frontier_size": len(points),
                "reference_point": [float(v) for v in own],
                "hypervolume": hypervolume(points, reference_point=own, directions=directions) if len(points) else 0.0,
                "hypervolume_shared": hypervolume(points, reference_point=shared, directions=directions) if len(points) else 0.0,
            }
        )
    return shared, pd.DataFrame.from_records(rows)
