"""compare(): the verdict of each method against the swept frontier, on a hand-made run."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from paretosweep.comparison import compare
from paretosweep.errors import ConfigError, ResultSchemaError
from paretosweep.results._schema import Objective

OBJECTIVES = [Objective("a", "a_loss", "min"), Objective("b", "b_acc", "max")]


def run() -> pd.DataFrame:
    """Sweep s1..s3 form the frontier, s4 is dominated, s5 failed; m1..m5 are method trials."""
    rows = [
        # trial, status, kind, method, hparams, weights, final weights, seconds, a_loss, b_acc
        ("s1", "completed", "scalarization", None, None, [0.2, 0.8], None, 10.0, 1.0, 0.9),
        ("s2", "completed", "scalarization", None, None, [0.5, 0.5], None, 10.0, 0.5, 0.7),
        ("s3", "completed", "scalarization", None, None, [0.8, 0.2], None, 10.0, 0.2, 0.4),
        ("s4", "completed", "scalarization", None, None, [0.3, 0.7], None, 10.0, 1.2, 0.8),
        ("s5", "failed", "scalarization", None, None, [0.9, 0.1], None, 5.0, np.nan, np.nan),
        ("m1", "completed", "method", "pcgrad", "{}", None, [1.5, 1.2], 12.0, 0.6, 0.65),
        ("m2", "completed", "method", "pcgrad", "{}", None, [1.1, 1.0], 13.0, 0.4, 0.75),
        ("m3", "completed", "method", "uncertainty", "{}", None, [2.0, 6.0], 11.0, 0.5, 0.7),
        ("m4", "failed", "method", "uncertainty", "{}", None, None, 3.0, np.nan, np.nan),
        ("m5", "completed", "method", "gradnorm", json.dumps({"alpha": 1.5}), None, None, 9.0, np.nan, 0.5),
    ]
    columns = ["trial_id", "status", "kind", "method", "hparams", "weights", "effective_weights_final", "train_seconds", "a_loss", "b_acc"]
    return pd.DataFrame(rows, columns=columns)


def test_per_trial_verdicts() -> None:
    table = compare(run(), OBJECTIVES, per_trial=True).set_index("trial_id")
    assert list(table.index) == ["m1", "m2", "m3", "m5"]
    # m1 = (0.6, 0.65): s2 = (0.5, 0.7) dominates it; epsilon = min_f max_i (f_i - p_i) = -0.05.
    m1 = table.loc["m1"]
    assert bool(m1["dominated_by_frontier"]) is True
    assert m1["epsilon"] == pytest.approx(-0.05)
    assert m1["epsilon_normalized"] == pytest.approx(-0.1)  # spans: a 1.0, b 0.5
    assert m1["dominating_trial_id"] == "s2" and m1["dominating_weights"] == [0.5, 0.5]
    # m2 = (0.4, 0.75) lies beyond the frontier: epsilon = +0.1 (from s2).
    m2 = table.loc["m2"]
    assert not m2["dominated_by_frontier"] and m2["epsilon"] == pytest.approx(0.1)
    assert pd.isna(m2["dominating_trial_id"]) and m2["dominating_weights"] is None
    # m3 equals s2: weakly but not strictly dominated.
    m3 = table.loc["m3"]
    assert not m3["dominated_by_frontier"] and m3["epsilon"] == pytest.approx(0.0)
    assert m3["learnt_weights"] == [0.25, 0.75]
    assert m3["nearest_trial_id"] == "s2" and m3["nearest_weights"] == [0.5, 0.5]
    # m5 has a NaN objective: no verdict.
    assert pd.isna(table.loc["m5", "dominated_by_frontier"]) and math.isnan(table.loc["m5", "epsilon"])
    assert (table["sweep_seconds"] == 45.0).all()
    assert table.loc["m1", "method_seconds"] == 12.0


def test_summary_judges_the_mean_of_the_seeds_not_the_best_one() -> None:
    """pcgrad's two seeds m1 (dominated) and m2 (beyond the frontier) average to s2's point: the
    summary judges that mean, and the interval over the seeds' epsilons (-0.05, +0.1) contains 0."""
    summary = compare(run(), OBJECTIVES).set_index("method")
    assert list(summary.index) == ["gradnorm", "pcgrad", "uncertainty"]
    pcgrad = summary.loc["pcgrad"]
    assert pcgrad["epsilon"] == pytest.approx(0.0) and not pcgrad["dominated_by_frontier"]
    assert pcgrad["trial_id"] == "m1"  # the configuration's first seed stands for it
    assert (pcgrad["n_trials"], pcgrad["n_seeds"], pcgrad["n_dominated"]) == (2, 2, 1)
    assert pcgrad["epsilon_mean"] == pytest.approx(0.025)
    half = stats.t.ppf(0.975, 1) * np.std([-0.05, 0.1], ddof=1) / np.sqrt(2)
    assert (pcgrad["epsilon_ci_low"], pcgrad["epsilon_ci_high"]) == pytest.approx((0.025 - half, 0.025 + half))
    assert pcgrad["verdict"] == "inconclusive"
    assert pcgrad["method_seconds"] == 25.0 and pcgrad["sweep_seconds"] == 45.0
    assert pcgrad["learnt_weights"] == pytest.approx([(1.5 / 2.7 + 1.1 / 2.1) / 2, (1.2 / 2.7 + 1.0 / 2.1) / 2])
    unc = summary.loc["uncertainty"]
    assert (unc["n_trials"], unc["n_seeds"], unc["method_seconds"]) == (2, 1, 14.0)
    assert unc["verdict"] == "on the frontier (1 seed)" and np.isnan(unc["epsilon_ci_low"])
    assert summary.loc["gradnorm", "hparams"] == '{"alpha": 1.5}'
    assert summary.loc["gradnorm", "verdict"] == "no completed seed"


@pytest.mark.parametrize(("shift", "verdict"), [(0.2, "escapes"), (-0.2, "dominated")])
def test_seeds_clearly_beyond_or_inside_the_frontier_get_a_decided_verdict(shift: float, verdict: str) -> None:
    """Three seeds of one method around s2 = (0.5, 0.7) moved by ``shift`` in both objectives."""
    trials = run()
    trials = trials[trials["kind"] == "scalarization"]
    seeds = pd.DataFrame(
        {
            "trial_id": ["x0", "x1", "x2"],
            "status": "completed",
            "kind": "method",
            "method": "famo",
            "hparams": "{}",
            "weights": None,
            "effective_weights_final": None,
            "train_seconds": 1.0,
            "seed": [0, 1, 2],
            "a_loss": [0.5 - shift + d for d in (-0.01, 0.0, 0.01)],
            "b_acc": [0.7 + shift + d for d in (0.01, 0.0, -0.01)],
        }
    )
    row = compare(pd.concat([trials, seeds], ignore_index=True), OBJECTIVES).iloc[0]
    assert row["verdict"] == verdict and row["n_seeds"] == 3
    assert row["epsilon_ci_low"] < row["epsilon_mean"] < row["epsilon_ci_high"]


def test_the_swept_frontier_is_over_seed_means() -> None:
    """s2 gets a second seed that is much worse: its mean (0.75, 0.55) no longer dominates m1."""
    trials = run()
    worse = trials[trials["trial_id"] == "s2"].assign(trial_id="s2b", a_loss=1.0, b_acc=0.4)
    row = compare(pd.concat([trials, worse], ignore_index=True), OBJECTIVES, per_trial=True).set_index("trial_id").loc["m1"]
    assert row["dominating_trial_id"] != "s2"


def test_dominated_sweep_points_never_dominate_a_method() -> None:
    trials = run()
    trials.loc[trials["trial_id"] == "m1", ["a_loss", "b_acc"]] = [1.3, 0.75]  # only s1, s4 dominate
    row = compare(trials, OBJECTIVES, per_trial=True).set_index("trial_id").loc["m1"]
    assert row["dominating_trial_id"] == "s1"


def test_directions_are_respected() -> None:
    flipped = [Objective("a", "a_loss", "min"), Objective("b", "b_acc", "min")]
    row = compare(run(), flipped, per_trial=True).set_index("trial_id").loc["m1"]
    # minimising b: s3 (0.2, 0.4) dominates m1 (0.6, 0.65) with margin min(0.4, 0.25).
    assert row["dominated_by_frontier"] and row["epsilon"] == pytest.approx(-0.25)
    assert row["dominating_trial_id"] == "s3"


def test_no_sweep_means_no_domination() -> None:
    trials = run()
    trials = trials[trials["kind"] == "method"]
    table = compare(trials, OBJECTIVES, per_trial=True)
    assert not table["dominated_by_frontier"].fillna(False).any()
    assert table["epsilon"].isna().all()


def test_input_is_not_mutated() -> None:
    trials = run()
    before = trials.copy()
    compare(trials, OBJECTIVES)
    pd.testing.assert_frame_equal(trials, before)


def test_missing_columns_and_bad_directions_are_reported() -> None:
    with pytest.raises(ResultSchemaError, match="train_seconds"):
        compare(run().drop(columns=["train_seconds"]), OBJECTIVES)
    with pytest.raises(ResultSchemaError, match="c_loss"):
        compare(run(), [Objective("c", "c_loss", "min")])
    with pytest.raises(ConfigError, match="`min` or `max`"):
        compare(run(), [Objective("a", "a_loss", "down")])  # type: ignore[arg-type]


def test_rows_read_back_from_parquet(tmp_path: object) -> None:
    """List columns come back from Parquet as arrays; compare reads them the same."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from paretosweep.results._schema import trials_schema

    trials = run()
    schema = trials_schema(["a_loss", "b_acc"])
    table = pa.Table.from_pandas(trials, preserve_index=False)
    table = pa.table(
        {f.name: table.column(f.name) if f.name in table.column_names else pa.nulls(len(trials), f.type) for f in schema}, schema=schema
    )
    path = f"{tmp_path}/trials.parquet"
    pq.write_table(table, path)
    expected = compare(trials, OBJECTIVES, per_trial=True)
    found = compare(pd.read_parquet(path), OBJECTIVES, per_trial=True)
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)
