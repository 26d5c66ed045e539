"""Seeds of one configuration are one frontier point: their mean, with its standard error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from paretosweep.frontier import configuration_keys, seed_groups
from tests.unit.results._rows import new_run, row


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_seeds_share_a_key_and_bookkeeping_does_not_split_them() -> None:
    rows = frame(
        [
            {"kind": "scalarization", "weights": [0.3, 0.7], "lr": 0.1, "seed": 0, "hparams": json.dumps({"epochs": 3, "attempts": 1})},
            {
                "kind": "scalarization",
                "weights": [0.3, 0.7],
                "lr": 0.1,
                "seed": 1,
                "hparams": json.dumps({"epochs": 3, "attempts": 2, "pack_id": "p-1"}),
            },
            {"kind": "scalarization", "weights": [0.3, 0.7], "lr": 0.2, "seed": 0, "hparams": json.dumps({"epochs": 3})},
            {"kind": "method", "method": "pcgrad", "weights": None, "lr": 0.1, "seed": 0, "hparams": json.dumps({"epochs": 3})},
            {"kind": "method", "method": "pcgrad", "weights": None, "lr": 0.1, "seed": 1, "hparams": json.dumps({"epochs": 3})},
        ]
    )
    keys = configuration_keys(rows)
    assert keys[0] == keys[1] and keys[3] == keys[4]
    assert len({keys[0], keys[2], keys[3]}) == 3


def test_mean_and_standard_error_over_usable_seeds() -> None:
    rows = frame(
        [
            {"trial_id": "a0", "status": "completed", "kind": "scalarization", "weights": [0.5, 0.5], "seed": 0, "x": 1.0, "y": 2.0},
            {"trial_id": "a1", "status": "completed", "kind": "scalarization", "weights": [0.5, 0.5], "seed": 1, "x": 3.0, "y": 2.0},
            {"trial_id": "a2", "status": "failed", "kind": "scalarization", "weights": [0.5, 0.5], "seed": 2, "x": None, "y": None},
            {"trial_id": "b0", "status": "completed", "kind": "scalarization", "weights": [0.9, 0.1], "seed": 5, "x": 0.5, "y": 4.0},
        ]
    )
    groups = seed_groups(rows, ["x", "y"])
    np.testing.assert_allclose(groups.mean, [[2.0, 2.0], [0.5, 4.0]])
    np.testing.assert_allclose(groups.stderr[0], [np.std([1.0, 3.0], ddof=1) / np.sqrt(2), 0.0])
    assert np.isnan(groups.stderr[1]).all()  # a single seed has no standard error
    assert groups.n_seeds.tolist() == [2, 1] and groups.representative.tolist() == [0, 3]


def test_the_frontier_is_over_configuration_means_not_a_lucky_seed(tmp_path: Path) -> None:
    """Configuration A's seeds average (0.5, 0.5); B's are (0.6, 0.6) on average but one seed is a
    lucky (0.3, 0.3). Per row, B's lucky seed would dominate every point; over means, A dominates B."""
    store = new_run(tmp_path / "run", reference_point=[2.0, 0.0])
    a = [row(f"a{s}", 0.5 + d, 0.5 - d, weights=[0.5, 0.5], seed=s) for s, d in enumerate((-0.05, 0.05))]
    b = [row(f"b{s}", v, 1 - v, weights=[0.2, 0.8], seed=s) for s, v in enumerate((0.3, 0.75, 0.75))]
    store.ingest(a + b)
    summary = store.write()
    front = pq.read_table(tmp_path / "run" / "frontier.parquet").to_pandas()
    assert summary["frontier_size"] == 1 and front["trial_id"].tolist() == ["a0"]
    assert front["n_seeds"].tolist() == [2] and list(front["seed_trial_ids"][0]) == ["a0", "a1"]
    assert front["left_loss"][0] == pytest.approx(0.5) and front["right_acc"][0] == pytest.approx(0.5)
    assert front["left_loss_stderr"][0] == pytest.approx(np.std([0.45, 0.55], ddof=1) / np.sqrt(2))
    trials = store.read_trials()
    assert len(trials) == 5  # every seed's row stays in trials.parquet
