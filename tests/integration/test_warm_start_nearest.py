"""The nearest warm start on a local Ray: proposed weight vectors continue from their nearest completed neighbour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import paretosweep
from paretosweep.planning import build_plan

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]

EPOCHS, WARM = 4, 1


def test_proposed_trials_start_from_their_nearest_completed_neighbour(tmp_path: Path) -> None:
    run = tmp_path / "run"
    spec = {
        "name": "nearest",
        "storage": str(run),
        "problem": {"name": "fonseca"},
        "scalarizer": {"name": "tchebycheff"},
        "sampler": {"name": "adaptive", "floor": 0.01, "tolerance": 0.001, "batch": 2},
        "budget": {"n_weights": 6, "epochs": EPOCHS, "lr": 0.02},
        "concurrency": 1,  # each proposal is handed out after the trials before it completed
        "warm_start": {"from": "nearest", "epochs": WARM},
        "checkpoints": {"keep": "all"},
    }
    paretosweep.run(spec)
    trials = paretosweep.load_trials(run).sort_values("started_at", kind="stable").reset_index(drop=True)
    assert len(trials) > 3 and set(trials["status"]) == {"completed"}
    initial = {t.trial_id for t in build_plan(paretosweep.api.as_spec(spec)).trials}
    hparams = [json.loads(h) for h in trials["hparams"]]
    weights = {t: np.asarray(w) for t, w in zip(trials["trial_id"], trials["weights"], strict=True)}
    finished = dict(zip(trials["trial_id"], trials["finished_at"], strict=True))
    warmed = 0
    for row, known in zip(trials.itertuples(), hparams, strict=True):
        assert known["warm_start"] == {"from": "nearest", "epochs": WARM}
        start = known["warm_from"]
        history = json.loads(row.history)
        checkpoint = paretosweep.load_checkpoint(run, row.trial_id)
        if row.trial_id in initial:  # the initial design: from scratch, the full budget
            assert start is None and row.epochs_done == EPOCHS and len(history) == EPOCHS
            continue
        warmed += 1
        assert start["trial_id"] in weights and start["trial_id"] != row.trial_id
        assert row.epochs_done == WARM and [h["epoch"] for h in history] == [1]  # what it trained: its compute
        assert checkpoint["epoch"] == EPOCHS - 1  # resumed after the neighbour's (relabelled) epoch
        done_before = [t for t, f in finished.items() if f <= row.started_at and t != row.trial_id]
        distances = {t: float(np.abs(weights[t] - weights[row.trial_id]).sum()) for t in done_before}
        assert start["distance"] == pytest.approx(distances[start["trial_id"]])
        assert start["distance"] == pytest.approx(min(distances.values()))  # the nearest completed one, L1
        # it continued from the neighbour's model and optimiser: Adam's step count goes on from the neighbour's
        before = paretosweep.load_checkpoint(run, start["trial_id"])
        steps = [float(s["step"]) for s in checkpoint["optimizer"]["state"].values()]
        steps_before = [float(s["step"]) for s in before["optimizer"]["state"].values()]
        scratch = paretosweep.load_checkpoint(run, sorted(initial)[0])
        per_epoch = float(next(iter(scratch["optimizer"]["state"].values()))["step"]) / EPOCHS
        assert steps == [b + WARM * per_epoch for b in steps_before]
    assert warmed >= 1
