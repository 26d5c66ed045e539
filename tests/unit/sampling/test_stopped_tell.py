"""Samplers told a trial the scheduler stopped early: Optuna records it as PRUNED (also when warm-started
from a resumed run's rows); the adaptive sampler uses its measured values as a point explored."""

from __future__ import annotations

import numpy as np
import optuna

from paretosweep.api import as_spec
from paretosweep.sampling import AdaptiveSampler, OptunaSampler, StaticSampler, make_sampler

OBJECTIVES = [("f1_loss", "min"), ("f2_loss", "min")]


def optuna_sampler(**kwargs: object) -> OptunaSampler:
    return OptunaSampler("optuna_tpe", m=2, n_weights=4, floor=0.0, seed=0, directions=["min", "min"], study_name="s", **kwargs)  # type: ignore[arg-type]


def test_optuna_is_told_a_stopped_trial_as_pruned_and_a_completed_one_with_its_values() -> None:
    sampler = optuna_sampler()
    first, second, third = sampler.ask(3)
    sampler.tell(first, np.array([[0.2, 0.9]]), stopped=np.array([True]))
    sampler.tell(second, np.array([[0.4, 0.5]]))
    sampler.tell(third, np.array([[np.nan, np.nan]]), stopped=np.array([False]))
    trials = sampler.study.trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]
    assert trials[0].values is None and trials[1].values == [0.4, 0.5]
    assert sampler.ask(1).shape == (1, 2)  # TPE goes on with a pruned trial in its study


def test_a_resumed_run_warm_starts_optuna_with_its_stopped_rows_as_pruned() -> None:
    spec = as_spec({"problem": {"name": "fonseca"}, "budget": {"n_weights": 4, "epochs": 4}, "sampler": {"name": "optuna_tpe"}})
    stored = [
        {"trial_id": "s1", "kind": "scalarization", "status": "stopped", "weights": [0.3, 0.7], "f1_loss": 0.5, "f2_loss": 0.6},
        {"trial_id": "s2", "kind": "scalarization", "status": "completed", "weights": [0.6, 0.4], "f1_loss": 0.4, "f2_loss": 0.7},
    ]
    sampler = make_sampler(spec, OBJECTIVES, stored=stored)
    assert isinstance(sampler, OptunaSampler)
    states = [t.state for t in sampler.study.trials]
    assert states == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.COMPLETE]


def test_the_adaptive_sampler_keeps_a_stopped_trials_values_as_a_measured_point() -> None:
    sampler = AdaptiveSampler(m=2, scalarizer="linear", n_weights=6, n_initial=3, tolerance=0.02, batch=2, floor=0.0, seed=0)
    initial = sampler.ask(3)
    assert initial is not None
    sampler.tell(initial[0], np.array([[0.1, 0.9]]), stopped=np.array([True]))
    sampler.tell(initial[1], np.array([[0.9, 0.1]]))
    assert np.allclose(sampler.values[0], [0.1, 0.9]) and len(sampler.values) == 2


def test_a_static_design_ignores_the_flag() -> None:
    sampler = StaticSampler(np.array([[0.5, 0.5]]))
    sampler.tell(sampler.ask(1)[0], np.array([[0.1, 0.2]]), stopped=np.array([True]))
    assert sampler.finished
