"""A packed sweep on a real local Ray: one ``trials.parquet`` row per weight vector."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import paretosweep

pytestmark = [pytest.mark.slow, pytest.mark.ray]


def test_packed_sweep_gives_one_row_per_weight_vector(local_ray: None, tmp_path: Path) -> None:
    spec = {
        "name": "fonseca-packed",
        "problem": {"name": "fonseca", "params": {"steps_per_epoch": 20}},
        "scalarizer": {"name": "tchebycheff"},
        "sampler": {"name": "das_dennis", "floor": 0.01},
        "budget": {"n_weights": 6, "epochs": 2, "lr": 0.02, "pack_size": 4},
        "storage": str(tmp_path / "run"),
    }
    summary = paretosweep.run(spec)
    assert summary.completed == 6
    trials = pd.read_parquet(Path(summary.run_dir) / "trials.parquet")
    assert len(trials) == 6 and trials["trial_id"].is_unique
    assert (trials["status"] == "completed").all()
    hparams = [json.loads(h) for h in trials["hparams"]]
    sizes = sorted(h["pack_size"] for h in hparams)
    assert sizes == [2, 2, 4, 4, 4, 4]  # 6 weight vectors, pack_size 4: one pack of 4, one of 2
    assert len({h["pack_id"] for h in hparams}) == 2
    assert {len(w) for w in trials["weights"]} == {2}


def test_adaptive_sweep_hands_out_packs_and_its_sampler_gets_every_result(
    local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paretosweep.sweep import _packing_searcher

    made: list[_packing_searcher.PackingSearcher] = []
    real = _packing_searcher.packing_search

    def keep(*args, **kwargs):  # the real packing_search; the test keeps the searcher it made
        searcher, num_samples = real(*args, **kwargs)
        made.append(searcher)
        return searcher, num_samples

    monkeypatch.setattr(_packing_searcher, "packing_search", keep)
    spec = {
        "name": "fonseca-adaptive-packed",
        "problem": {"name": "fonseca"},
        "scalarizer": {"name": "tchebycheff"},
        "sampler": {"name": "adaptive", "floor": 0.01, "n_initial": 4, "batch": 2, "tolerance": 1e-6},
        "budget": {"n_weights": 8, "epochs": 8, "lr": 0.02, "pack_size": 3},
        "concurrency": 2,
        "storage": str(tmp_path / "run"),
    }
    summary = paretosweep.run(spec)
    trials = pd.read_parquet(Path(summary.run_dir) / "trials.parquet")
    assert len(trials) == 8 and trials["trial_id"].is_unique and (trials["status"] == "completed").all()
    assert len({tuple(round(x, 6) for x in w) for w in trials["weights"]}) == 8  # one row per weight vector
    hparams = [json.loads(h) for h in trials["hparams"]]
    packed = [h for h in hparams if "pack_id" in h]  # a lone member goes out as a plain trial, without one
    assert len(packed) >= 4 and all(2 <= h["pack_size"] <= 3 for h in packed)
    for pid in {h["pack_id"] for h in packed}:
        members = [h for h in packed if h["pack_id"] == pid]
        assert len(members) == members[0]["pack_size"]
    (searcher,) = made
    sampler = searcher.inner.sampler
    assert len(sampler.values) == 8  # every member's result reached the adaptive sampler
    values = sorted(map(tuple, [[round(v, 9) for v in vs] for vs in sampler.values]))
    stored = sorted(tuple(round(v, 9) for v in r) for r in trials[["f1_loss", "f2_loss"]].to_numpy())
    assert values == stored  # ... each told with its own member's row


def test_packed_members_keep_one_checkpoint_each_in_their_pack_directory(local_ray: None, tmp_path: Path) -> None:
    import torch

    from paretosweep.problems import make_problem

    params = {"n_train": 256, "n_val": 64, "n_test": 64}
    spec = {
        "name": "mnist-packed",
        "problem": {"name": "multimnist", "params": params},
        "budget": {"n_weights": 3, "epochs": 1, "steps_per_epoch": 2, "pack_size": 3},
        "checkpoints": {"keep": "all"},
        "storage": str(tmp_path / "run"),
    }
    paretosweep.run(spec)
    run = tmp_path / "run"
    trials = paretosweep.load_trials(run)
    assert set(trials["status"]) == {"completed"} and trials["checkpoint"].nunique() == 1  # one pack, one directory
    folder = run / trials["checkpoint"].iloc[0]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.pt" for t in trials["trial_id"])
    problem = make_problem("multimnist", params)
    states = []
    for trial_id in trials["trial_id"]:
        saved = paretosweep.load_checkpoint(run, trial_id)
        assert saved["epoch"] == 0
        model = problem.make_model(seed=0)
        model.load_state_dict(saved["model"])
        states.append(saved["model"])
    first = next(iter(states[0]))
    assert not torch.equal(states[0][first], states[1][first])  # each member's own weights, not a shared copy
