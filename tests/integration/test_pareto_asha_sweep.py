"""Multi-objective early stopping (``scheduler: pareto_asha``) on a local Ray: stopped trials, their
checkpoints, the frontier with and without them, samplers told, and ``--resume``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paretosweep
from paretosweep.frontier import configuration_front

pytestmark = pytest.mark.usefixtures("local_ray")
ROOT = Path(__file__).resolve().parents[2]
TWO_LOSSES = {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "loss", "direction": "min"}}


def worsening(ctx: Any) -> None:
    """Losses that grow with training (``(w_b, w_a) · (1 + 0.1 e)``), task a penalised by 0.5 at w_a ≈ 0.2 and 0.6.

    No model: the reported values are exact, so which trials a rung stops, and which stopped
    points stay non-dominated, follow from the rule alone (see the test below).
    """
    w_a, w_b = ctx.weights["a"], ctx.weights["b"]
    penalty = 0.5 if abs(w_a - 0.2) < 0.03 or abs(w_a - 0.6) < 0.03 else 0.0
    for epoch in range(1, ctx.config["epochs"] + 1):
        scale = 1.0 + 0.1 * epoch
        ctx.report({"a_loss": w_b * scale + penalty, "b_loss": w_a * scale}, checkpoint={"epoch": epoch})


def designed(tmp_path: Path, weights: list[float]) -> dict[str, Any]:
    return {
        "name": "asha",
        "storage": str(tmp_path / "run"),
        "problem": {"trainable": "tests.integration.test_pareto_asha_sweep:worsening"},
        "tasks": TWO_LOSSES,
        "budget": {"epochs": 4, "lr": 0.01},
        "sampler": {"name": "explicit", "weights": [[w, 1.0 - w] for w in weights]},
        "scheduler": {"name": "pareto_asha", "grace_epochs": 1, "reduction_factor": 2},
        "concurrency": 1,  # trials one after the other, in the listed order: the rungs see them in that order
        "checkpoints": {"keep": "all"},
        "reference_point": {"a_loss": 2.0, "b_loss": 2.0},
    }


def by_weight(trials: Any) -> dict[float, Any]:
    return {round(float(w[0]), 2): row for w, (_, row) in zip(trials["weights"], trials.iterrows(), strict=True)}


def test_rungs_stop_outranked_trials_which_keep_their_checkpoint_and_can_stay_on_the_frontier(tmp_path: Path) -> None:
    # Under a scheduler the design is handed out in a seeded shuffle (seed 0: w_a = 0.6, 0.4, 1.0,
    # 0.8, 0.0, 0.2). Rung 1 (eta 2): w_a = 0.8 is outranked by those before it, and w_a = 0.2 is
    # dominated by w_a = 0 there; the others are each an end of the rung's front when they arrive.
    summary = paretosweep.run(designed(tmp_path, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    run = tmp_path / "run"
    trials = paretosweep.load_trials(run)
    rows = by_weight(trials)
    assert summary.stopped == 2 and summary.completed == 4 and summary.failed == 0
    assert {w for w, r in rows.items() if r["status"] == "stopped"} == {0.2, 0.8}
    for w, row in rows.items():
        history = json.loads(row["history"])
        assert len(history) == row["epochs_done"] and row["epochs"] == 4
        assert row["epochs_done"] == (1 if w in (0.2, 0.8) else 4)
        assert paretosweep.load_checkpoint(run, row["trial_id"])["epoch"] == row["epochs_done"]  # the stopping report's own
        assert row["train_seconds"] > 0
    stopped = rows[0.2]
    assert stopped["a_loss"] == pytest.approx(0.8 * 1.1 + 0.5) and stopped["b_loss"] == pytest.approx(0.2 * 1.1)

    # Losses grow with training, so w_a = 0.2 stopped at epoch 1 is dominated by no completed trial:
    # it is on the frontier, marked stopped; w_a = 0.6 (penalised) is dominated by w_a = 0.4 at epoch 4.
    front = paretosweep.load_frontier(run)
    on_front = {round(float(w[0]), 2): s for w, s in zip(front["weights"], front["status"], strict=True)}
    assert on_front.get(0.2) == "stopped" and 0.6 not in on_front
    recomputed = configuration_front(trials, front.attrs["objectives"])
    assert sorted(recomputed["trial_id"]) == sorted(front["trial_id"])
    completed_only = paretosweep.load_frontier(run, completed_only=True)
    assert set(completed_only["status"]) == {"completed"} and 0.2 not in by_weight(completed_only)

    progress = paretosweep.load_progress(run).iloc[-1]
    assert progress["trials_stopped"] == 2 and progress["trials_failed"] == 0 and progress["trials_completed"] == 4
    assert progress["compute_seconds"] == pytest.approx(float(trials["train_seconds"].sum()))

    wide = {**os.environ, "COLUMNS": "200"}
    cli = [sys.executable, "-m", "paretosweep", "frontier", str(run)]
    shown = subprocess.run([*cli, "--completed-only"], capture_output=True, text=True, cwd=ROOT, env=wide)
    assert shown.returncode == 0 and "frontier: 3 points" in shown.stdout and str(stopped["trial_id"]) not in shown.stdout
    shown = subprocess.run(cli, capture_output=True, text=True, cwd=ROOT, env=wide)
    assert shown.returncode == 0 and f"{stopped['trial_id']} │ scalarization, stopped at epoch 1" in shown.stdout

    # --resume with two more weight vectors: only they run, and the rungs remember the stored trials,
    # so w_a = 0.21 (penalised, dominated by the stored w_a = 0 at epoch 1) stops at once.
    resumed = paretosweep.run(designed(tmp_path, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.21, 0.5]), resume=True)
    assert resumed.skipped == 6 and resumed.ran == 2
    rows = by_weight(paretosweep.load_trials(run))
    assert rows[0.21]["status"] == "stopped" and rows[0.21]["epochs_done"] == 1
    assert rows[0.5]["epochs_done"] in (1, 4)
    assert rows[0.2]["status"] == "stopped" and len(rows) == 8


def test_a_trained_model_sweep_stops_trials_and_tells_optuna_they_were_pruned(tmp_path: Path) -> None:
    import optuna

    spec = {
        "name": "asha-optuna",
        "storage": str(tmp_path / "run"),
        "problem": {"trainable": "tests.trainables_for_tests:regression", "config": {"width": 6}},
        "tasks": {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "acc", "direction": "max", "also": {"loss": "min"}}},
        "budget": {"n_weights": 6, "epochs": 4, "lr": 0.02},
        "scalarizer": {"name": "linear"},  # (Tchebycheff trains these weights alike early on: rungs of ties, all go on)
        "sampler": {"name": "optuna_tpe"},
        "scheduler": {"name": "pareto_asha", "grace_epochs": 1, "reduction_factor": 2},
        "concurrency": 1,
        "checkpoints": {"keep": "frontier"},
        "reference_point": {"a_loss": 5.0, "b_acc": 0.0},
    }
    summary = paretosweep.run(spec)
    run = tmp_path / "run"
    trials = paretosweep.load_trials(run)
    stopped = trials[trials["status"] == "stopped"]
    assert summary.stopped == len(stopped) >= 1 and summary.completed + summary.stopped == 6
    assert (stopped["epochs_done"] < 4).all() and (trials.loc[trials["status"] == "completed", "epochs_done"] == 4).all()
    assert np.isfinite(stopped[["a_loss", "b_acc"]].to_numpy()).all()
    front_ids = {str(t) for ids in paretosweep.load_frontier(run)["seed_trial_ids"] for t in ids}
    for row in stopped.itertuples():  # kept where on the frontier (checkpoints: frontier), deleted elsewhere
        assert (isinstance(row.checkpoint, str) and (run / row.checkpoint).is_dir()) == (row.trial_id in front_ids)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(run / "optuna.journal")))
    states = [t.state for t in optuna.load_study(study_name="asha-optuna", storage=storage).trials]
    assert states.count(optuna.trial.TrialState.PRUNED) == len(stopped)
    assert states.count(optuna.trial.TrialState.COMPLETE) == summary.completed
