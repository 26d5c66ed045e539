"""On a local Ray: the unitary arm's early stopping keeps its best epoch's model (metrics, test values,
checkpoint) and counts the epochs it trained; trials that ``pareto_asha`` stops at a rung carry
test-split values measured there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paretosweep
from paretosweep.queries import compare_run

pytestmark = [pytest.mark.usefixtures("local_ray"), pytest.mark.slow]


def _by_weight(trials: Any) -> dict[float, Any]:
    rows = trials[trials["kind"] == "scalarization"]
    return {round(float(w[0]), 2): row for w, (_, row) in zip(rows["weights"], rows.iterrows(), strict=True)}


def test_the_unitary_arm_stops_early_and_keeps_its_best_epoch(tmp_path: Path) -> None:
    run = tmp_path / "run"
    spec = {
        "name": "unitary-es",
        "storage": str(run),
        "problem": {"name": "tests.problems_for_regularisation:make_overshoot"},
        "budget": {"epochs": 8, "lr": 0.1},
        "sampler": {"name": "explicit", "weights": [[0.5, 0.5], [0.9, 0.1]]},
        "methods": [{"name": "unitary", "early_stopping": {"patience": 2}}, {"name": "equal"}],
        "checkpoints": {"keep": "all"},
        "reference_point": {"a_loss": 10.0, "b_loss": 10.0},
    }
    summary = paretosweep.run(spec)
    assert summary.failed == 0
    trials = paretosweep.load_trials(run)
    unitary = trials[trials["method"] == "unitary"].iloc[0]
    equal = trials[trials["method"] == "equal"].iloc[0]
    assert unitary["status"] == "completed" and equal["status"] == "completed"

    history = json.loads(unitary["history"])
    means = [(h["a_loss"] + h["b_loss"]) / 2 for h in history]
    best = int(np.argmin(means)) + 1
    assert 1 < best < len(history)
    assert unitary["epochs_done"] == len(history) == best + 2 < unitary["epochs"] == 8  # the epochs it trained
    assert equal["epochs_done"] == 8  # the same budget, trained to its end
    assert (unitary["a_loss"], unitary["b_loss"]) == pytest.approx((history[best - 1]["a_loss"], history[best - 1]["b_loss"]))

    checkpoint = paretosweep.load_checkpoint(run, unitary["trial_id"])
    x = float(checkpoint["model"]["x"])
    assert checkpoint["early_stopping"]["best_epoch"] == best
    assert (x**2, (x + 2) ** 2) == pytest.approx((unitary["a_loss"], unitary["b_loss"]))  # the best epoch's model
    assert (unitary["test_a_loss"], unitary["test_b_loss"]) == pytest.approx(((x - 1) ** 2, (x + 1) ** 2))  # measured on it
    hparams = json.loads(unitary["hparams"])
    assert hparams["early_stopping"] == {"patience": 2} and hparams["dropout"] == 0.0

    verdict = compare_run(str(run))
    assert set(verdict["method"]) == {"unitary", "equal"}


def test_a_trial_stopped_at_a_rung_has_test_values_measured_there(tmp_path: Path) -> None:
    run = tmp_path / "run"
    spec = {
        "name": "asha-test-split",
        "storage": str(run),
        "problem": {"name": "tests.problems_for_regularisation:make_banded"},
        "scalarizer": {"name": "linear"},
        "budget": {"epochs": 3, "lr": 0.05},
        # w = 0.5 first: at rung 1 (eta 2) it dominates w = 0.25, which stops there
        "sampler": {"name": "explicit", "weights": [[0.5, 0.5], [0.25, 0.75]]},
        "scheduler": {"name": "pareto_asha", "grace_epochs": 1, "reduction_factor": 2},
        "concurrency": 1,
        "checkpoints": {"keep": "all"},
        "reference_point": {"a_loss": 10.0, "b_loss": 10.0},
    }
    summary = paretosweep.run(spec)
    assert summary.stopped == 1 and summary.completed == 1
    rows = _by_weight(paretosweep.load_trials(run))
    stopped, kept = rows[0.25], rows[0.5]
    assert stopped["status"] == "stopped" and stopped["epochs_done"] == 1
    x = float(paretosweep.load_checkpoint(run, stopped["trial_id"])["model"]["x"])
    assert -0.8 < x < -0.2  # in the band: dominated at the rung
    assert (stopped["test_a_loss"], stopped["test_b_loss"]) == pytest.approx(((x - 0.5) ** 2, (x + 1) ** 2))
    assert kept["status"] == "completed" and kept["epochs_done"] == 3
    assert (kept["test_a_loss"], kept["test_b_loss"]) == pytest.approx((0.25, 1.0))  # x stays at 0
