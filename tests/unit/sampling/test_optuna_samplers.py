"""The Optuna sampler each `sampler.name` builds (TPE, NSGA-II, GP), seeded, and the searcher driven by hand."""

from __future__ import annotations

import json
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from ray.tune.search import Searcher

import paretosweep
from paretosweep.errors import ConfigError
from paretosweep.planning import build_plan
from paretosweep.sampling import STUDY_FILE, unit_to_simplex
from paretosweep.sampling._optuna import check_gp_support, gp_startup_trials, make_optuna_sampler, nsga2_population
from paretosweep.sweep._driver import searcher_for as sweep_searcher
from paretosweep.sweep._sampler_searcher import SamplerSearcher
from paretosweep.sweep._trainable import ROW_KEY

EXPECTED = {"optuna_tpe": optuna.samplers.TPESampler, "optuna_nsga2": optuna.samplers.NSGAIISampler, "optuna_gp": optuna.samplers.GPSampler}


def spec(sampler: str, *, problem: str = "fonseca", n_weights: int = 12, seed: int = 0) -> dict:
    return {
        "problem": {"name": problem},
        "scalarizer": {"name": "tchebycheff"},
        "sampler": {"name": sampler},
        "budget": {"n_weights": n_weights},
        "seed": seed,
    }


def searcher_for(sampler: str, *, stored: pd.DataFrame | None = None, study_dir: str | None = None, **kwargs: object) -> SamplerSearcher:
    full = paretosweep.api.as_spec(spec(sampler, **kwargs))  # type: ignore[arg-type]
    plan = build_plan(full)
    rows = [] if stored is None else stored.to_dict("records")
    searcher, num_samples = sweep_searcher(full, plan, rows, study_dir=study_dir)
    assert num_samples == full.budget.n_weights
    return searcher


def wells(weights: list[float]) -> list[float]:
    """A cheap stand-in for training: the three-wells front point a weight vector's trial would reach."""
    w = np.asarray(weights)
    return list(1 - np.exp(-4 * (1 - w) ** 2))


def drive(searcher: SamplerSearcher, n: int, rows: list[dict] | None = None, *, start: int = 0) -> list[list[float]]:
    """Suggest and complete ``n`` trials one at a time; the weight vectors handed out (their rows appended to ``rows``)."""
    out = []
    for i in range(start, start + n):
        config = searcher.suggest(f"t{i}")
        assert config is not None and config != Searcher.FINISHED
        trial = config["trial"]
        values = wells(trial["weights"])
        row = {**trial, "status": "completed", **{f"f{k + 1}_loss": v for k, v in enumerate(values)}}
        searcher.on_trial_complete(f"t{i}", {ROW_KEY: json.dumps(row)})
        out.append(trial["weights"])
        if rows is not None:
            rows.append(row)
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_name_builds_its_optuna_sampler(name: str) -> None:
    searcher = searcher_for(name)
    assert type(searcher.sampler.optuna_sampler) is EXPECTED[name]
    assert type(make_optuna_sampler(name, seed=0, n_weights=12, m=2)) is EXPECTED[name]


def test_sampler_settings_scale_with_the_budget() -> None:
    assert make_optuna_sampler("optuna_nsga2", seed=0, n_weights=40, m=2)._population_size == nsga2_population(40) == 10
    assert make_optuna_sampler("optuna_nsga2", seed=0, n_weights=40, m=2, population_size=8)._population_size == 8
    gp = make_optuna_sampler("optuna_gp", seed=0, n_weights=64, m=3)
    assert gp._n_startup_trials == gp_startup_trials(64, 3) == 10  # Optuna's default for a large budget
    assert gp_startup_trials(12, 3) == 3 and gp_startup_trials(20, 2) == 5  # a quarter of a small budget, >= m


def test_gp_sampler_is_built_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_optuna_sampler("optuna_gp", seed=1, n_weights=16, m=3)


def test_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="optuna_gp"):
        make_optuna_sampler("optuna_cmaes", seed=0, n_weights=8, m=2)


@pytest.mark.parametrize(("version", "ok"), [("3.6.1", False), ("4.3.0", False), ("4.4.0", True), ("5.0.0", True), ("4.10.0.dev", True)])
def test_gp_needs_an_optuna_with_multi_objective_gp(version: str, ok: bool) -> None:
    if ok:
        check_gp_support(version)
    else:
        with pytest.raises(ConfigError, match=r"`sampler.name: optuna_gp` needs Optuna >= 4.4"):
            check_gp_support(version)


def test_gp_searcher_runs_its_budget_on_three_tasks_and_is_seeded() -> None:
    """12 trials on 3 tasks: 3 random start-up trials, then GP (log-EHVI) suggestions; same seed, same weights."""
    searcher = searcher_for("optuna_gp", problem="three_wells", n_weights=12, seed=3)
    weights = drive(searcher, 12)
    assert searcher.suggest("t-after") == Searcher.FINISHED
    w = np.asarray(weights)
    assert w.shape == (12, 3) and np.allclose(w.sum(axis=1), 1) and w.min() >= 0.01 - 1e-9
    study = searcher.sampler.study
    assert len(study.trials) == 12 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len(study.directions) == 3
    again = drive(searcher_for("optuna_gp", problem="three_wells", n_weights=12, seed=3), 12)
    assert np.allclose(weights, again)
    other = drive(searcher_for("optuna_gp", problem="three_wells", n_weights=12, seed=4), 4)
    assert not np.allclose(weights[:4], other)


def test_gp_plan_has_no_trials_ahead_and_needs_one_trial_per_weight() -> None:
    plan = paretosweep.plan(spec("optuna_gp", n_weights=6))
    assert len(plan.trials) == 0
    with pytest.raises(ConfigError, match="seeds_per_weight"):
        paretosweep.plan({**spec("optuna_gp"), "budget": {"seeds_per_weight": 2}})
    with pytest.raises(ConfigError, match=r"sampler\.floor"):
        paretosweep.plan({**spec("optuna_gp"), "sampler": {"name": "optuna_gp", "floor": 0.6}})


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_saved_searcher_pickles_without_optuna_objects_and_restores_its_study(name: str, tmp_path) -> None:
    """Tune pickles its searcher (``tuner.pkl``, experiment checkpoints): GA samplers hold a lock, so
    no Optuna object may be pickled. The restored searcher reopens the same study, re-seeds its
    sampler from the trial count (two restores agree) and finishes the budget."""
    import pickle

    original = searcher_for(name, n_weights=12)
    drive(original, 5)
    pickle.dumps(original)  # what Tune does at Tuner(...): raised "cannot pickle '_thread.lock'" for NSGA-II
    original.save(str(tmp_path / "searcher.pkl"))
    restored = [searcher_for(name, n_weights=12) for _ in range(2)]
    for searcher in restored:
        searcher.restore(str(tmp_path / "searcher.pkl"))
        assert [t.params for t in searcher.sampler.study.trials] == [t.params for t in original.sampler.study.trials]
        assert type(searcher.sampler.optuna_sampler) is EXPECTED[name]
    first, second = (s.suggest("next")["trial"]["weights"] for s in restored)
    assert first == second
    assert len(drive(restored[0], 6, start=6)) == 6 and restored[0].suggest("over") == Searcher.FINISHED


def test_a_resumed_searcher_continues_the_study_in_its_journal(tmp_path) -> None:
    """Resume: the journal's trials are the study's, the interrupted trial is failed, only the rest of the budget is asked."""
    rows: list[dict] = []
    first = searcher_for("optuna_tpe", n_weights=8, study_dir=str(tmp_path))
    before = drive(first, 4, rows)
    assert first.suggest("interrupted") is not None  # handed out, never completed: the sweep stopped here
    assert (tmp_path / STUDY_FILE).is_file()

    resumed = searcher_for("optuna_tpe", n_weights=8, study_dir=str(tmp_path), stored=pd.DataFrame(rows))
    study = resumed.sampler.study
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 4 + [optuna.trial.TrialState.FAIL]
    assert [t.params for t in study.trials[:4]] == [first.sampler.study.trials[i].params for i in range(4)]
    after = drive(resumed, 4)
    assert resumed.suggest("over") == Searcher.FINISHED  # 4 stored + 4 new = the budget of 8
    assert not any(np.allclose(a, b) for a in after for b in before)  # re-seeded: the start-up points are not replayed
    assert len(study.trials) == 9


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_resumed_searcher_without_journal_is_warm_started_from_the_stored_rows(name: str) -> None:
    """No journal (remote run directory): every stored row is told to the new study, a failed row as failed."""
    rows: list[dict] = []
    drive(searcher_for(name, n_weights=8), 4, rows)
    rows[2] = {**rows[2], "status": "failed", "f1_loss": None, "f2_loss": None}
    resumed = searcher_for(name, n_weights=8, stored=pd.DataFrame(rows))
    study = resumed.sampler.study
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    for trial, row in zip(study.trials, rows, strict=True):
        assert np.allclose(unit_to_simplex(trial.params, 2, floor=0.01), row["weights"])
        if trial.state.name == "COMPLETE":
            assert trial.values == [row["f1_loss"], row["f2_loss"]]
    handed = drive_to_the_end(resumed)
    # 4 stored + 4 asked = the budget; a proposal equal to a stored trial is told its stored result, not trained again
    assert len(study.trials) == 8 and len(handed) <= 4
    assert all(t.state.name in ("COMPLETE", "FAIL") for t in study.trials)


def drive_to_the_end(searcher: SamplerSearcher) -> list[list[float]]:
    """Suggest and complete trials until the searcher says FINISHED; the weight vectors handed out."""
    handed = []
    while (config := searcher.suggest(f"e{len(handed)}")) != Searcher.FINISHED:
        assert config is not None
        trial = config["trial"]
        row = {**trial, "status": "completed", **{f"f{k + 1}_loss": v for k, v in enumerate(wells(trial["weights"]))}}
        searcher.on_trial_complete(f"e{len(handed)}", {ROW_KEY: json.dumps(row)})
        handed.append(trial["weights"])
    return handed
