"""A packed sweep (issue 7) on a real local Ray: one ``trials.parquet`` row per weight vector."""

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
