"""Selection on validation, reporting on test: real tiny sweeps on a local Ray, Parquet read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import paretosweep
from paretosweep.cli import app
from paretosweep.frontier import configuration_front, non_dominated_mask
from paretosweep.planning import ONE_SPLIT_NOTE
from paretosweep.results import FRONTIER_FILE, META_SPLITS, PROGRESS_FILE, TRIALS_FILE, RunSplits

pytestmark = [pytest.mark.slow, pytest.mark.ray]
VALIDATION = ("t0_loss", "t1_loss")
TEST = ("test_t0_loss", "test_t1_loss")


@pytest.fixture(scope="module")
def data_run(local_ray: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """synthetic (a data problem), 4 weight vectors x 2 seeds, packed two by two."""
    spec = {
        "name": "splits",
        "problem": {"name": "synthetic", "params": {"n_samples": 500, "hidden": 16}},
        "sampler": {"name": "das_dennis"},
        "budget": {"n_weights": 4, "seeds_per_weight": 2, "epochs": 2, "lr": 0.01, "pack_size": 2},
        "storage": str(tmp_path_factory.mktemp("splits") / "run"),
    }
    summary = paretosweep.run(spec)
    assert summary.completed == 8
    return Path(summary.run_dir)


def test_trials_hold_test_values_beside_the_validation_ones(data_run: Path) -> None:
    trials = paretosweep.load_trials(str(data_run))
    assert list(trials.columns[-4:]) == [*VALIDATION, *TEST]
    assert np.isfinite(trials[list(TEST)].to_numpy()).all()
    assert (trials[list(TEST)].to_numpy() != trials[list(VALIDATION)].to_numpy()).all()  # another split, other numbers
    for history in trials["history"]:
        assert all(not key.startswith("test_") for epoch in json.loads(history) for key in epoch)  # never per epoch
    for name in (TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE):
        splits = RunSplits.from_json(pq.read_schema(data_run / name).metadata[META_SPLITS])
        assert splits is not None and (splits.selection, splits.report) == ("validation", "test"), name
        assert splits.test_columns == dict(zip(VALIDATION, TEST))


def test_the_frontier_is_chosen_on_validation_and_carries_the_test_seed_means(data_run: Path) -> None:
    trials = paretosweep.load_trials(str(data_run))
    front = paretosweep.load_frontier(str(data_run)).set_index("trial_id")
    chosen = configuration_front(trials, trials.attrs["objectives"])
    assert set(front.index) == set(chosen["trial_id"])  # non-dominated in the validation seed means
    by_id = trials.set_index("trial_id")
    for _, row in front.iterrows():
        seeds = by_id.loc[list(row["seed_trial_ids"])]
        assert row["n_seeds"] == 2
        assert [row[c] for c in (*VALIDATION, *TEST)] == pytest.approx(seeds[list((*VALIDATION, *TEST))].mean().tolist())


def test_export_and_the_frontier_command_show_the_test_values(data_run: Path) -> None:
    front = paretosweep.load_frontier(str(data_run)).set_index("trial_id")
    records = paretosweep.export(str(data_run), pick="all")
    assert {r["trial_id"] for r in records} == set(front.index)
    for record in records:
        row = front.loc[record["trial_id"]]
        assert record["objectives"] == pytest.approx({c: row[c] for c in VALIDATION})
        assert record["test_objectives"] == pytest.approx({c: row[f"test_{c}"] for c in VALIDATION})
    result = CliRunner().invoke(app, ["frontier", str(data_run)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "test_t0_loss" in result.output and "chosen on the validation split" in " ".join(result.output.split())


def test_a_point_off_the_test_frontier_stays_on_the_validation_frontier(local_ray: None, tmp_path: Path) -> None:
    """The user problem's test split disagrees on purpose: under it, x = 0.8 (weights (0.9, 0.1)) is
    dominated by x = 1/2 (weights (0.75, 0.25)); under validation both are Pareto-optimal.

    Choosing on test values would drop the w = 0.9 trial; choosing on validation keeps it.
    """
    spec = {
        "name": "disagree",
        "problem": {"name": "tests.problems_for_tests:make_quadratic_with_test_split"},
        "scalarizer": {"name": "linear"},  # x* = 2 w_a - 1
        "sampler": {"name": "explicit", "weights": [[0.9, 0.1], [0.75, 0.25], [0.2, 0.8]]},
        "budget": {"n_weights": 3, "epochs": 3, "lr": 0.05},
        "storage": str(tmp_path / "run"),
    }
    run = paretosweep.run(spec).run_dir
    trials = paretosweep.load_trials(run).set_index("trial_id")
    front = paretosweep.load_frontier(run)
    by_weight = {round(w[0], 3): tid for tid, w in trials["weights"].items()}
    assert trials.loc[by_weight[0.9], "a_loss"] < 0.1  # it reached x near 0.8, beyond 1/2
    test_mask = non_dominated_mask(trials[["test_a_loss", "test_b_loss"]].to_numpy(), directions=["min", "min"])
    assert by_weight[0.9] not in set(trials.index[test_mask])  # test values would have dropped it
    validation_mask = non_dominated_mask(trials[["a_loss", "b_loss"]].to_numpy(), directions=["min", "min"])
    assert set(front["trial_id"]) == set(trials.index[validation_mask]) and by_weight[0.9] in set(front["trial_id"])
    [knee] = paretosweep.export(run, pick="best:a_loss")
    assert knee["trial_id"] == by_weight[0.9] and knee["test_objectives"]["a_loss"] == pytest.approx(
        trials.loc[by_weight[0.9], "test_a_loss"]
    )


def test_a_one_split_user_problem_runs_and_its_metadata_says_one_split(local_ray: None, tmp_path: Path) -> None:
    spec = {
        "name": "one-split",
        "problem": {"name": "tests.problems_for_tests:make_quadratic"},
        "sampler": {"name": "explicit", "weights": [[0.7, 0.3], [0.3, 0.7]]},
        "budget": {"n_weights": 2, "epochs": 1},
        "storage": str(tmp_path / "run"),
    }
    summary = paretosweep.run(spec)
    assert summary.completed == 2
    trials = paretosweep.load_trials(summary.run_dir)
    assert not [c for c in trials.columns if c.startswith("test_")]
    splits = RunSplits.from_json(pq.read_schema(Path(summary.run_dir) / TRIALS_FILE).metadata[META_SPLITS])
    assert splits == RunSplits("validation", None, {}, ONE_SPLIT_NOTE)
    assert [r["test_objectives"] for r in paretosweep.export(summary.run_dir, pick="all")] == [None, None]
