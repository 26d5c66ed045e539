"""Real sweeps on a real local Ray, Parquet read back: the acceptance tests of the core sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import paretosweep
from paretosweep.frontier import hypervolume
from paretosweep.problems import make_problem
from tests._fronts import best_k_point_hypervolume_2d

pytestmark = [pytest.mark.slow, pytest.mark.ray]


def fonseca_spec(tmp_path: Path, scalarizer: str, **budget: Any) -> dict[str, Any]:
    return {
        "name": f"fonseca-{scalarizer}",
        "problem": {"name": "fonseca"},
        "scalarizer": {"name": scalarizer},
        "sampler": {"name": "das_dennis", "floor": 0.01},
        "budget": {"n_weights": 16, "epochs": 8, "lr": 0.02, **budget},
        "storage": str(tmp_path / scalarizer),
    }


def dominated_by(points: np.ndarray, p: np.ndarray) -> bool:
    """Brute force, minimisation: some other point is <= p everywhere and < somewhere."""
    return bool(np.any(np.all(points <= p, axis=1) & np.any(points < p, axis=1)))


@pytest.fixture(scope="module")
def tchebycheff_run(local_ray: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = fonseca_spec(tmp_path_factory.mktemp("fon"), "tchebycheff")
    summary = paretosweep.run(spec)
    assert summary.ran == 16 and summary.completed == 16
    return Path(summary.run_dir)


def test_fonseca_tchebycheff_reaches_95_percent_of_the_exact_hypervolume(tchebycheff_run: Path) -> None:
    """16 Tchebycheff trials reach >= 95 % of the hypervolume 16 points of the exact front can have.

    At the reference point (1, 1) no set of 16 points, even on the exact front, has more than
    0.921 of the continuous front's hypervolume (concave front: the staircase loses the rest), so
    the goal is measured against that best 16-point set (exact DP); the ratio to the continuous
    front is checked too, against 0.95 × 0.921.
    """
    front = paretosweep.load_frontier(str(tchebycheff_run))
    exact = make_problem("fonseca", {}).exact_front(600)
    ref = exact.reference_point
    found = hypervolume(front[["f1_loss", "f2_loss"]].to_numpy(), reference_point=ref, directions=("min", "min"))
    best_16 = best_k_point_hypervolume_2d(exact.points, 16, ref)
    continuous = hypervolume(make_problem("fonseca", {}).exact_front(20000).points, reference_point=ref, directions=("min", "min"))
    assert found / best_16 >= 0.95, f"HV ratio to the best 16 points {found / best_16:.3f}"
    assert found / continuous >= 0.95 * 0.92, f"HV ratio to the continuous front {found / continuous:.3f}"
    assert len(front) >= 12  # Tchebycheff spreads the 16 weight vectors along the concave front


def test_fonseca_linear_points_cluster_at_the_two_ends(local_ray: None, tmp_path: Path) -> None:
    """The known limit of linear scalarization: on a concave front its minimisers are the ends."""
    summary = paretosweep.run(fonseca_spec(tmp_path, "linear"))
    trials = paretosweep.load_trials(summary.run_dir)
    done = trials[trials.status == "completed"]
    assert len(done) == 16
    near_an_end = np.minimum(done.f1_loss, done.f2_loss) < 0.1  # an end of the front has f1 or f2 = 0
    assert near_an_end.all(), done[["weights", "f1_loss", "f2_loss"]]
    assert (done.f1_loss < 0.1).any() and (done.f2_loss < 0.1).any()  # both ends are reached


def test_frontier_is_exactly_the_non_dominated_completed_trials(tchebycheff_run: Path) -> None:
    trials = paretosweep.load_trials(str(tchebycheff_run))
    front = paretosweep.load_frontier(str(tchebycheff_run))
    done = trials[trials.status == "completed"]
    points = done[["f1_loss", "f2_loss"]].to_numpy()
    expected = {tid for tid, p in zip(done.trial_id, points) if not dominated_by(points, p)}
    assert set(front.trial_id) == expected
    assert (front.hv_contribution >= 0).all()


def test_every_file_carries_the_objectives_metadata(tchebycheff_run: Path) -> None:
    for name in ("trials.parquet", "frontier.parquet", "progress.parquet"):
        meta = pq.read_schema(tchebycheff_run / name).metadata
        objectives = json.loads(meta[b"paretosweep.objectives"])
        assert objectives == [
            {"name": "f1", "column": "f1_loss", "direction": "min"},
            {"name": "f2", "column": "f2_loss", "direction": "min"},
        ]
    progress = paretosweep.load_progress(str(tchebycheff_run))
    assert progress.trials_done.iloc[-1] == 16
    assert progress.hypervolume.is_monotonic_increasing


def test_trial_rows_follow_the_storage_contract(tchebycheff_run: Path) -> None:
    trials = paretosweep.load_trials(str(tchebycheff_run))
    assert trials.trial_id.is_unique
    row = trials.iloc[0]
    assert row.kind == "scalarization" and row.scalarizer == "tchebycheff"
    assert np.isclose(sum(row.weights), 1.0) and min(row.weights) >= 0.01 - 1e-12
    assert row.device == "cpu" and isinstance(row.node, str) and row.train_seconds > 0
    assert len(json.loads(row.history)) == row.epochs_done == 8


def test_failing_and_nan_trials_are_recorded_and_the_sweep_completes(local_ray: None, tmp_path: Path) -> None:
    spec = {
        "problem": {"name": "tests.problems_for_tests:make_quadratic", "params": {"fail_above": 0.8, "nan_below": -0.8}},
        "scalarizer": {"name": "linear"},
        "sampler": {"name": "explicit", "weights": [[0.95, 0.05], [0.5, 0.5], [0.3, 0.7], [0.05, 0.95]]},
        "budget": {"epochs": 3, "lr": 0.1},
        "storage": str(tmp_path / "run"),
    }
    summary = paretosweep.run(spec)
    trials = paretosweep.load_trials(summary.run_dir)
    by_weight = {tuple(np.round(w, 2)): row for w, (_, row) in zip(trials.weights, trials.iterrows())}
    assert len(trials) == 4
    assert by_weight[(0.95, 0.05)].status == "failed" and "fail_above" in by_weight[(0.95, 0.05)].error
    assert by_weight[(0.05, 0.95)].status == "diverged" and "non-finite" in by_weight[(0.05, 0.95)].error
    assert by_weight[(0.5, 0.5)].status == by_weight[(0.3, 0.7)].status == "completed"
    front = paretosweep.load_frontier(summary.run_dir)
    assert set(front.status) == {"completed"}


def test_resume_runs_nothing_twice_and_overwrite_starts_afresh(local_ray: None, tmp_path: Path) -> None:
    spec = fonseca_spec(tmp_path, "smooth_tchebycheff", n_weights=4, epochs=1)
    first = paretosweep.run(spec)
    again = paretosweep.run(spec, resume=True)
    assert (again.ran, again.skipped) == (0, 4)
    bigger = paretosweep.run({**spec, "budget": {**spec["budget"], "n_weights": 7}}, resume=True)
    trials = paretosweep.load_trials(first.run_dir)
    assert (bigger.ran, bigger.skipped) == (3, 4)  # H=6 contains the H=3 lattice: only 3 new weight vectors
    assert trials.trial_id.is_unique and len(trials) == 7
    fresh = paretosweep.run(spec, overwrite=True)
    assert fresh.ran == 4 and len(paretosweep.load_trials(fresh.run_dir)) == 4


def test_a_refused_sweep_leaves_no_run_directory_behind(local_ray: None, tmp_path: Path) -> None:
    """Checks against the cluster (here: a GPU no node has) run before the run directory is made."""
    spec = {**fonseca_spec(tmp_path, "linear", n_weights=2, epochs=1), "resources": {"cpu": 1, "gpu": 1}}
    with pytest.raises(paretosweep.ConfigError, match="resources.gpu"):
        paretosweep.run(spec)
    assert not (tmp_path / "linear").exists()


def test_without_a_reference_point_the_first_batch_fixes_one_that_a_resume_keeps(local_ray: None, tmp_path: Path) -> None:
    """A user problem with no default reference point: the run fixes one from its first completed
    batch, records it in the metadata, and hypervolume never goes down (also across a resume)."""
    spec = {
        "problem": {"name": "tests.problems_for_tests:make_quadratic_without_reference"},
        "scalarizer": {"name": "linear"},
        "sampler": {"name": "explicit", "weights": [[0.9, 0.1], [0.5, 0.5], [0.1, 0.9]]},
        "budget": {"epochs": 2, "lr": 0.1},
        "storage": str(tmp_path / "run"),
    }
    first = paretosweep.run(spec)
    ref = json.loads(pq.read_schema(Path(first.run_dir) / "trials.parquet").metadata[b"paretosweep.reference_point"])
    assert ref is not None and first.reference_point == pytest.approx(ref)
    assert "first completed batch" in first.reference_rule
    wider = {**spec, "sampler": {"name": "explicit", "weights": [*spec["sampler"]["weights"], [0.99, 0.01], [0.01, 0.99]]}}
    second = paretosweep.run(wider, resume=True)
    assert second.reference_point == pytest.approx(ref) and second.ran == 2
    progress = paretosweep.load_progress(second.run_dir)
    assert progress["hypervolume"].is_monotonic_increasing and progress["hypervolume"].iloc[-1] > 0
    for name in ("trials.parquet", "frontier.parquet", "progress.parquet"):
        assert json.loads(pq.read_schema(Path(second.run_dir) / name).metadata[b"paretosweep.reference_point"]) == pytest.approx(ref)
