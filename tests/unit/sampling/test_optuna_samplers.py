"""The Optuna sampler each `sampler.name` builds (TPE, NSGA-II, GP), seeded, and the searcher driven by hand."""

from __future__ import annotations

import json
import warnings

import numpy as np
import optuna
import pytest
from ray.tune.search import Searcher

import paretosweep
from paretosweep.errors import ConfigError
from paretosweep.planning import build_plan
from paretosweep.sampling._optuna import check_gp_support, gp_startup_trials, make_optuna_sampler, nsga2_population
from paretosweep.sweep._optuna_searcher import OptunaWeightSearcher, optuna_search
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


def searcher_for(sampler: str, **kwargs: object) -> OptunaWeightSearcher:
    full = paretosweep.api.as_spec(spec(sampler, **kwargs))  # type: ignore[arg-type]
    plan = build_plan(full)
    searcher, num_samples = optuna_search(full, plan, list(plan.trials))
    assert num_samples == full.budget.n_weights
    return searcher


def wells(weights: list[float]) -> list[float]:
    """A cheap stand-in for training: the three-wells front point a weight vector's trial would reach."""
    w = np.asarray(weights)
    return list(1 - np.exp(-4 * (1 - w) ** 2))


def drive(searcher: OptunaWeightSearcher, n: int) -> list[list[float]]:
    """Suggest and complete ``n`` trials one at a time; the weight vectors handed out."""
    out = []
    for i in range(n):
        config = searcher.suggest(f"t{i}")
        assert config is not None and config != Searcher.FINISHED
        trial = config["trial"]
        values = wells(trial["weights"])
        row = {"trial_id": trial["trial_id"], "status": "completed", **{f"f{k + 1}_loss": v for k, v in enumerate(values)}}
        searcher.on_trial_complete(f"t{i}", {ROW_KEY: json.dumps(row)})
        out.append(trial["weights"])
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_name_builds_its_optuna_sampler(name: str) -> None:
    searcher = searcher_for(name)
    assert type(searcher.sampler) is EXPECTED[name]
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
    study = searcher._inner._ot_study
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


def test_a_saved_searcher_restores_its_study_and_goes_on_as_the_original(tmp_path) -> None:
    original = searcher_for("optuna_tpe", n_weights=12)
    drive(original, 5)
    original.save(str(tmp_path / "searcher.pkl"))
    restored = searcher_for("optuna_tpe", n_weights=12)
    restored.restore(str(tmp_path / "searcher.pkl"))
    assert len(restored._inner._ot_study.trials) == 5
    ahead = [original.suggest("next")["trial"]["weights"]]
    assert [restored.suggest("next")["trial"]["weights"]] == ahead  # same study, same seeded sampler state
