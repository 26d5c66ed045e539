"""The shared warm start on a local Ray: one equal-weight model first, every trial continuing from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import paretosweep
from paretosweep.sweep._warm_start import read_info
from tests.trainables_for_tests import TASKS

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]


def test_every_trial_continues_from_the_one_shared_model(tmp_path: Path) -> None:
    run = tmp_path / "run"
    spec = {
        "name": "warm",
        "storage": str(run),
        "problem": {"trainable": "tests.trainables_for_tests:regression"},
        "tasks": TASKS,
        "budget": {"n_weights": 3, "epochs": 3, "lr": 0.02},
        "reference_point": {"a_loss": 5.0, "b_acc": 0.0},
        "methods": [{"name": "pcgrad"}],
        "warm_start": {"from": "shared", "epochs": 2},
        "checkpoints": {"keep": "all"},
    }
    paretosweep.run(spec)
    info = read_info(str(run))
    assert info is not None and info["epochs"] == 2 and info["weights"] == [0.5, 0.5] and info["train_seconds"] > 0
    trials = paretosweep.load_trials(run)
    assert len(trials) == 4 and set(trials["status"]) == {"completed"} and set(trials["epochs_done"]) == {3}
    histories = [json.loads(h) for h in trials["history"]]
    shared = histories[0][:2]
    assert [h["epoch"] for h in shared] == [1, 2] and shared[1]["a_loss"] == pytest.approx(info["metrics"]["a_loss"])
    assert all(h[:2] == shared for h in histories)  # the same two shared epochs, trained once
    assert len({round(h[2]["a_loss"], 6) for h in histories}) == 4  # then each trial's own weights or method
    for trial_id, hparams in zip(trials["trial_id"], trials["hparams"], strict=True):
        assert json.loads(hparams)["warm_start"] == {"from": "shared", "epochs": 2}
        assert paretosweep.load_checkpoint(run, trial_id)["epoch"] == 2

    again = paretosweep.run(spec, resume=True)  # nothing left: the shared model is not trained again
    assert again.ran == 0 and read_info(str(run)) == info


def test_a_shared_training_that_fails_stops_the_sweep_with_the_reason(tmp_path: Path) -> None:
    spec = {
        "name": "warm-bad",
        "storage": str(tmp_path / "run"),
        "problem": {"trainable": "tests.trainables_for_tests:misbehaving"},  # w_a = 0.5 trains, but never checkpoints
        "tasks": TASKS,
        "budget": {"n_weights": 2, "epochs": 2},
        "warm_start": {"from": "shared", "epochs": 1},
    }
    with pytest.raises(paretosweep.ParetoSweepError, match=r"shared warm start .* failed: .*reported no checkpoint"):
        paretosweep.run(spec)
    assert not (tmp_path / "run" / "trials.parquet").exists() or paretosweep.load_trials(tmp_path / "run").empty
