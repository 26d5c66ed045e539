"""A real adaptive sweep (``sampler: adaptive``) on a real local Ray, Parquet read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import paretosweep
from paretosweep.frontier import hypervolume
from paretosweep.planning import build_plan
from paretosweep.problems import make_problem
from paretosweep.trial import train_trial

pytestmark = [pytest.mark.slow, pytest.mark.ray]

BUDGET = 8


def spec(tmp_path: Path, sampler: dict) -> dict:
    return {
        "name": "fonseca-adaptive",
        "problem": {"name": "fonseca"},
        "scalarizer": {"name": "tchebycheff"},
        "sampler": {"floor": 0.01, **sampler},
        "budget": {"n_weights": BUDGET, "epochs": 8, "lr": 0.02},
        "concurrency": 2,
        "storage": str(tmp_path / "run"),
    }


def test_adaptive_sweep_completes_within_budget_and_matches_the_lattice(local_ray: None, tmp_path: Path) -> None:
    """8 adaptive trials: the initial design first, then rounds chosen from results; no weight twice.

    What it shows about quality: on fonseca at 8 trials the adaptive frontier's hypervolume is
    within 3 % of the 8-point lattice's (trained here without Ray, same settings) — not above it:
    with 2 tasks the lattice is already close to the best 8 points (see benchmarks/RESULTS.md,
    ``sample_efficiency``).
    """
    adaptive = spec(tmp_path, {"name": "adaptive", "tolerance": 0.01, "batch": 2})
    summary = paretosweep.run(adaptive)
    trials = paretosweep.load_trials(summary.run_dir)
    assert len(trials) == BUDGET and summary.ran == BUDGET
    assert (trials.status == "completed").all() and trials.trial_id.is_unique
    weights = np.array(trials.weights.tolist())
    assert len({tuple(np.round(w, 6)) for w in weights}) == BUDGET
    assert np.allclose(weights.sum(axis=1), 1) and weights.min() >= 0.01 - 1e-9
    initial = build_plan(paretosweep.api.as_spec(adaptive)).trials
    assert {t.trial_id for t in initial} <= set(trials.trial_id)  # the planned initial design ran, same ids
    progress = paretosweep.load_progress(summary.run_dir)
    assert progress.trials_done.iloc[-1] == BUDGET

    exact = make_problem("fonseca", {}).exact_front(2000)
    ref = exact.reference_point
    found = hypervolume(trials[["f1_loss", "f2_loss"]].to_numpy(), reference_point=ref, directions=("min", "min"))
    lattice_spec = paretosweep.api.as_spec(spec(tmp_path, {"name": "das_dennis"}))
    problem = make_problem("fonseca", {})
    lattice = np.array(
        [
            [train_trial(problem, t, lattice_spec, device=torch.device("cpu")).metrics[c] for c in ("f1_loss", "f2_loss")]
            for t in build_plan(lattice_spec).trials
        ]
    )
    assert len(lattice) == BUDGET
    lattice_hv = hypervolume(lattice, reference_point=ref, directions=("min", "min"))
    assert found >= 0.97 * lattice_hv, (found, lattice_hv)


@pytest.mark.parametrize("sampler", ["optuna_tpe", "optuna_nsga2", "optuna_gp"])
def test_optuna_sweep_runs_its_budget_through_tune(local_ray: None, tmp_path: Path, sampler: str) -> None:
    """Optuna's samplers through Ray Tune's OptunaSearch: n_weights trials, each on the simplex."""
    summary = paretosweep.run({**spec(tmp_path, {"name": sampler}), "budget": {"n_weights": 5, "epochs": 2, "lr": 0.02}})
    trials = paretosweep.load_trials(summary.run_dir)
    assert len(trials) == 5 and summary.ran == 5 and (trials.status == "completed").all()
    weights = np.array(trials.weights.tolist())
    assert np.allclose(weights.sum(axis=1), 1) and weights.min() >= 0.01 - 1e-9
    assert len(paretosweep.load_frontier(summary.run_dir)) >= 1


def test_a_resumed_adaptive_sweep_reuses_its_stored_trials(local_ray: None, tmp_path: Path) -> None:
    """Raising the budget and resuming retells the stored trials (same ids) and trains only the rest."""
    small = {**spec(tmp_path, {"name": "adaptive", "tolerance": 1e-3}), "budget": {"n_weights": 5, "epochs": 3, "lr": 0.02}}
    first = paretosweep.run(small)
    assert first.ran == 5
    larger = {**small, "budget": {**small["budget"], "n_weights": 7}}
    second = paretosweep.run(larger, resume=True)
    trials = paretosweep.load_trials(second.run_dir)
    assert (second.ran, second.skipped) == (2, 5) and len(trials) == 7 and trials.trial_id.is_unique


def test_a_resumed_optuna_sweep_continues_its_study(local_ray: None, tmp_path: Path) -> None:
    """Optuna through Tune, then resumed with a larger budget: only the difference runs, on the same journal study."""
    import optuna

    small = {**spec(tmp_path, {"name": "optuna_tpe"}), "budget": {"n_weights": 4, "epochs": 2, "lr": 0.02}}
    first = paretosweep.run(small)
    assert first.ran == 4
    second = paretosweep.run({**small, "budget": {**small["budget"], "n_weights": 6}}, resume=True)
    trials = paretosweep.load_trials(second.run_dir)
    assert (
        (second.ran, second.skipped) == (2, 4) and len(trials) == 6 and trials.trial_id.is_unique and (trials.status == "completed").all()
    )
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(Path(second.run_dir) / "optuna.journal")))
    study = optuna.load_study(study_name="fonseca-adaptive", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 6
    told = sorted(tuple(np.round(t.values, 9)) for t in study.trials)
    assert told == sorted(tuple(np.round(v, 9)) for v in trials[["f1_loss", "f2_loss"]].to_numpy())


def test_adaptive_sweep_with_focus_seeds_and_retests(local_ray: None, tmp_path: Path) -> None:
    """Focus region, 2 seeds per weight vector and re-tests through real Tune: every row an ordinary trial.

    Re-tests (if the noise makes a point look dominated by a small margin) are extra trials of an
    earlier weight vector on a new seed; ids stay unique; nothing exceeds the searcher's cap.
    """
    focused = {
        **spec(
            tmp_path,
            {
                "name": "adaptive",
                "tolerance": 0.01,
                "batch": 2,
                "focus": ["f1_loss <= 0.5"],
                "refine": {"focus": 0.5, "knee": 0.25},
                "retests": 2,
                "retest_margin": 0.5,
            },
        ),
        "budget": {"n_weights": 5, "seeds_per_weight": 2, "epochs": 2, "lr": 0.02},
    }
    summary = paretosweep.run(focused)
    trials = paretosweep.load_trials(summary.run_dir)
    assert (trials.status == "completed").all() and trials.trial_id.is_unique
    assert 10 <= len(trials) <= 10 + 2
    seeds_by_weight = trials.groupby(trials.weights.map(lambda w: tuple(np.round(w, 9))))["seed"].apply(sorted)
    assert len(seeds_by_weight) == 5
    for seeds in seeds_by_weight:
        assert seeds[:2] == [0, 1] and len(set(seeds)) == len(seeds)
