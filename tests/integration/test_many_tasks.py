"""A 16-task sweep on a real local Ray: all three Parquet files, hypervolume labelled exact or estimated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import paretosweep
from paretosweep.frontier import _hv_estimate, hypervolume, hypervolume_method
from paretosweep.problems import make_problem
from paretosweep.results import FRONTIER_FILE, PROGRESS_FILE, TRIALS_FILE
from paretosweep.results._schema import EXACT_FRONT_FILE

pytestmark = [pytest.mark.slow, pytest.mark.ray]

M = 16


def synthetic_16(tmp_path: Path) -> dict[str, Any]:
    return {
        "name": "synthetic-16",
        "problem": {"name": "synthetic", "params": {"n_tasks": M, "n_samples": 600, "hidden": 16}},
        "scalarizer": {"name": "linear"},
        "sampler": {"name": "dirichlet"},
        "budget": {"n_weights": 3, "epochs": 1, "lr": 0.01},
        # After 1 epoch every MSE is still above the problem's reference point (the target
        # variances), so give one all three trials beat: the hypervolume is then not 0.
        "reference_point": {f"t{i}_loss": 20.0 for i in range(M)},
        "concurrency": 2,
        "storage": str(tmp_path / "run"),
    }


def test_a_16_task_sweep_writes_a_labelled_hypervolume_estimate(local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """3 trials in 16 tasks: exact HV is cheap at 3 points (the measured rule says so), so the rule's
    limit is set to 0 points here to drive the estimate through the real sweep; the store, the
    recorder and the Parquet files are the real ones. The estimate must be within 4 standard
    errors of the exact value computed from the stored trials.
    """
    assert hypervolume_method(3, M) == "exact"
    monkeypatch.setitem(_hv_estimate.EXACT_HV_MAX_POINTS, M, 0)
    monkeypatch.setitem(_hv_estimate.EXACT_CONTRIBUTION_MAX_POINTS, M, 0)
    summary = paretosweep.run(synthetic_16(tmp_path))
    run = Path(summary.run_dir)
    assert all((run / name).is_file() for name in (TRIALS_FILE, FRONTIER_FILE, PROGRESS_FILE))
    assert not (run / EXACT_FRONT_FILE).exists()  # synthetic has no exact front

    trials = paretosweep.load_trials(run)
    assert len(trials) == 3 and (trials.status == "completed").all()
    objectives = trials.attrs["objectives"]
    assert len(objectives) == M
    points = trials[[o.column for o in objectives]].to_numpy()
    ref = json.loads(pq.read_schema(run / PROGRESS_FILE).metadata[b"paretosweep.reference_point"])
    assert ref == [20.0] * M
    exact = hypervolume(points, reference_point=ref, directions=["min"] * M)
    assert exact > 0, "no trial beat the reference point in all 16 tasks: the test would prove nothing"

    progress = paretosweep.load_progress(run)
    last = progress.iloc[-1]
    assert last["trials_done"] == 3 and last["hypervolume_method"] == "monte_carlo"
    assert 0 < last["hypervolume_stderr"] < 0.2 * last["hypervolume"]
    assert abs(last["hypervolume"] - exact) < 4 * last["hypervolume_stderr"]
    assert progress["igd_plus"].isna().all() and progress["hv_ratio"].isna().all()

    frontier = paretosweep.load_frontier(run)
    label = json.loads(pq.read_schema(run / FRONTIER_FILE).metadata[b"paretosweep.hv_contribution"])
    assert label["method"] == "monte_carlo" and len(label["stderr"]) == len(frontier) >= 1
    assert np.isfinite(frontier["hv_contribution"]).all() and (frontier["hv_contribution"] >= 0).all()


def test_eight_tasks_sweep_the_energy_design_and_record_tchebycheff_effective_weights(local_ray: None, tmp_path: Path) -> None:
    """No sampler named: with 8 tasks and 12 weight vectors the lattice would be the 8 corners
    (H = 1), so `auto` sweeps 12 Riesz-energy points; Tchebycheff rows record what each step applied."""
    m = 8
    spec = {
        "problem": {"name": "synthetic", "params": {"n_tasks": m, "n_samples": 600, "hidden": 16}},
        "scalarizer": {"name": "tchebycheff"},
        "budget": {"n_weights": 12, "epochs": 1, "steps_per_epoch": 10, "pack_size": 12},
        "storage": str(tmp_path / "run"),
    }
    plan = paretosweep.plan(spec)
    assert plan.design == "energy" and len(plan.weights) == 12
    paretosweep.run(spec)
    trials = paretosweep.load_trials(str(tmp_path / "run"))
    assert len(trials) == 12 and (trials.status == "completed").all()
    weights = np.stack(trials.weights.to_numpy())
    assert len({tuple(w) for w in np.round(weights, 9)}) == 12
    assert np.allclose(np.sort(weights, axis=0), np.sort(plan.weights, axis=0))
    effective = np.stack(trials.effective_weights_mean.to_numpy())
    assert np.allclose(effective.sum(axis=1), 1.0)
    # the share of the trial's steps each task was the active maximum: multiples of 1/steps, not the nominal weights
    import torch

    problem = make_problem("synthetic", spec["problem"]["params"])
    steps = min(10, len(list(problem.train_batches(epoch=0, generator=torch.Generator().manual_seed(0)))))
    assert np.allclose(effective * steps, np.round(effective * steps), atol=1e-5) and not np.allclose(effective, weights)
    final = np.stack(trials.effective_weights_final.to_numpy())
    assert set(np.round(final, 6).ravel()) <= {0.0, 1.0}
