"""``sampler: conditioned`` on a local Ray: one conditioned training, its proposals, verified trials only on the frontier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import paretosweep
from paretosweep.results import load_proposals, read_stage_info
from tests.conditioned_trainables import TASKS

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]


def test_a_conditioned_sweep_stores_proposals_apart_and_verifies_them_from_the_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    spec = {
        "name": "cond",
        "storage": str(run),
        "problem": {"name": "recsys", "params": {"n_samples": 3000}},
        "tasks": {t: {"metric": "auc"} for t in ("click", "cart", "purchase")},
        "scalarizer": {"name": "linear"},
        "sampler": {"name": "conditioned", "verify": 3, "dense": 15, "verify_epochs": 1},
        "budget": {"epochs": 2, "lr": 0.003},
        "checkpoints": {"keep": "all"},
    }
    summary = paretosweep.run(spec)
    assert summary.completed == 3 and summary.failed == 0

    proposals = load_proposals(run)
    assert proposals is not None and len(proposals) == 15 and set(proposals["kind"]) == {"conditioned"}
    assert proposals["test_click_auc"].notna().all() and proposals["click_auc"].notna().all()
    info = read_stage_info(run)
    assert info is not None and info["epochs"] == 2 and info["sample_epochs"] == 2 * 1800 and info["train_seconds"] > 0
    assert len(info["verify"]) == 3

    trials = paretosweep.load_trials(run)
    assert set(trials["kind"]) == {"scalarization"} and len(trials) == 3  # proposals never become trials
    assert set(trials["epochs_done"]) == {3}  # 2 conditioned epochs (counted once, in info.json) + 1 of its own
    verified = {tuple(np.round(v["weights"], 9)) for v in info["verify"]}
    assert {tuple(np.round(w, 9)) for w in trials["weights"]} == verified
    frontier = paretosweep.load_frontier(run)
    assert set(frontier["trial_id"]) <= set(trials["trial_id"]) and not set(frontier["trial_id"]) & set(proposals["trial_id"])

    for entry in info["verify"]:  # the gap: verified minus proposed, per column
        (tid,) = entry["trial_ids"]
        row = trials.set_index("trial_id").loc[tid]
        assert entry["verified"]["test_click_auc"] == pytest.approx(row["test_click_auc"])
        assert entry["gap"]["click_auc"] == pytest.approx(row["click_auc"] - entry["proposed"]["click_auc"])
        checkpoint = paretosweep.load_checkpoint(run, tid)
        pinned = checkpoint["model"]["paretosweep_condition.fixed"].tolist()
        assert pinned == pytest.approx(entry["weights"])  # the trial trained the conditioned model at its own w

    again = paretosweep.run(spec, resume=True)  # the stage's files are reused, nothing trains again
    assert again.ran == 0 and read_stage_info(run)["train_seconds"] == info["train_seconds"]


def test_a_function_trainable_conditions_its_own_model_through_ctx(tmp_path: Path) -> None:
    run = tmp_path / "run"
    spec = {
        "name": "cond-fn",
        "storage": str(run),
        "problem": {"trainable": "tests.conditioned_trainables:train"},
        "tasks": TASKS,
        "sampler": {"name": "conditioned", "verify": 2, "dense": 9, "alpha": 0.5, "verify_epochs": 1},
        "budget": {"epochs": 30, "lr": 0.03},
        "reference_point": {"a_loss": 10.0, "b_loss": 10.0},
    }
    paretosweep.run(spec)
    proposals = load_proposals(run)
    assert proposals is not None and len(proposals) == 9
    a, b = proposals["a_loss"].to_numpy(), proposals["b_loss"].to_numpy()
    order = np.argsort([w[0] for w in proposals["weights"]])
    assert a[order][-1] < a[order][0] and b[order][-1] > b[order][0]  # more weight on a: lower a loss, higher b loss
    trials = paretosweep.load_trials(run)
    assert len(trials) == 2 and set(trials["status"]) == {"completed"} and set(trials["epochs_done"]) == {31}


def test_verification_from_scratch_trains_fresh_models_for_verify_epochs(tmp_path: Path) -> None:
    run = tmp_path / "run"
    spec = {
        "name": "cond-scratch",
        "storage": str(run),
        "problem": {"trainable": "tests.conditioned_trainables:train"},
        "tasks": TASKS,
        "sampler": {"name": "conditioned", "verify": 2, "dense": 5, "verify_from": "scratch", "verify_epochs": 2},
        "budget": {"epochs": 1, "lr": 0.02},
    }
    paretosweep.run(spec)
    trials = paretosweep.load_trials(run)
    assert len(trials) == 2 and set(trials["epochs_done"]) == {2}
    info = read_stage_info(run)
    assert info is not None and all(e["gap"] for e in info["verify"])
