"""Every comparison method runs as a trial of a real sweep, lands in Parquet and is judged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import paretosweep
from paretosweep.cli import app
from paretosweep.methods import available_methods

pytestmark = [pytest.mark.slow, pytest.mark.ray]

NEEDS_MAIN_TASK = {"gradsim", "metabalance", "mtadam"}


def test_every_method_runs_in_the_same_sweep_and_is_compared(local_ray: None, tmp_path: Path) -> None:
    methods = [{"name": name, **({"main_task": "t0"} if name in NEEDS_MAIN_TASK else {})} for name in available_methods()]
    spec = {
        "problem": {"name": "synthetic", "params": {"n_tasks": 3, "n_samples": 600}},
        "budget": {"n_weights": 6, "epochs": 2},
        "methods": methods,
        "storage": str(tmp_path / "run"),
    }
    summary = paretosweep.run(spec)
    trials = paretosweep.load_trials(summary.run_dir)
    rows = trials[trials.kind == "method"]
    assert sorted(rows.method) == sorted(available_methods())
    assert (rows.status == "completed").all(), rows[["method", "error"]]
    for _, row in rows.iterrows():
        assert row.weights is None
        assert len(row.effective_weights_mean) == len(row.effective_weights_final) == 3
        assert np.isfinite(row.effective_weights_final).all()
    assert (trials[trials.kind == "scalarization"].status == "completed").sum() == 6

    verdict = paretosweep.compare(summary.run_dir)
    assert sorted(verdict.method) == sorted(available_methods())
    assert verdict.epsilon.notna().all()
    result = CliRunner().invoke(app, ["compare", summary.run_dir])
    assert result.exit_code == 0 and "pcgrad" in result.output


def test_seeds_are_pooled_in_the_frontier_and_the_verdict_has_an_interval(local_ray: None, tmp_path: Path) -> None:
    spec = {
        "problem": {"name": "synthetic", "params": {"n_tasks": 2, "n_samples": 400}},
        "budget": {"n_weights": 3, "seeds_per_weight": 2, "epochs": 1},
        "methods": [{"name": "pcgrad"}],
        "storage": str(tmp_path / "run"),
    }
    summary = paretosweep.run(spec)
    trials = paretosweep.load_trials(summary.run_dir)
    assert len(trials) == 3 * 2 + 2 and (trials.status == "completed").all()
    front = paretosweep.load_frontier(summary.run_dir)
    assert (front.n_seeds == 2).all() and front.seed_trial_ids.map(len).eq(2).all()
    for _, row in front.iterrows():
        members = trials.set_index("trial_id").loc[list(row.seed_trial_ids)]
        assert row.t0_loss == pytest.approx(members.t0_loss.mean()) and row.t0_loss_stderr > 0
    verdict = paretosweep.compare(summary.run_dir).iloc[0]
    assert verdict.method == "pcgrad" and verdict.n_seeds == 2
    assert np.isfinite([verdict.epsilon_ci_low, verdict.epsilon_ci_high]).all()
    assert verdict.verdict in {"escapes", "dominated", "inconclusive"}
