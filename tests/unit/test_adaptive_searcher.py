"""The adaptive sampler behind the sweep's searcher, driven by hand (no Tune run): rounds wait on running trials, ids match the plan."""

from __future__ import annotations

import json

import numpy as np
from ray.tune.search import Searcher

import paretosweep
from paretosweep.planning import build_plan
from paretosweep.sweep._driver import searcher_for
from paretosweep.sweep._sampler_searcher import SamplerSearcher
from paretosweep.sweep._trainable import ROW_KEY


def circle(w: list[float]) -> list[float]:
    d = 1.0 / np.asarray(w)
    return list(d / np.linalg.norm(d))


def result(config: dict, status: str = "completed") -> dict:
    f1, f2 = circle(config["weights"])
    return {ROW_KEY: json.dumps({"trial_id": config["trial_id"], "status": status, "f1_loss": f1, "f2_loss": f2})}


SPEC = {
    "problem": {"name": "fonseca"},
    "scalarizer": {"name": "tchebycheff"},
    "sampler": {"name": "adaptive", "batch": 2, "tolerance": 1e-4},
    "budget": {"n_weights": 7},
}


def test_rounds_wait_for_running_trials_and_stop_at_the_budget() -> None:
    spec = paretosweep.api.as_spec(SPEC)
    plan = build_plan(spec)
    searcher, num_samples = searcher_for(spec, plan)
    assert num_samples == 7
    first = [searcher.suggest(f"t{i}") for i in range(3)]
    assert [c["trial"]["trial_id"] for c in first] == [t.trial_id for t in plan.trials]  # the planned initial design
    assert searcher.suggest("t3") is None  # the next round depends on the running trials
    for i, c in enumerate(first):
        searcher.on_trial_complete(f"t{i}", result(c["trial"]))
    handed = 3
    n = 3
    while True:
        configs = []
        while (c := searcher.suggest(f"t{n}")) not in (None, Searcher.FINISHED):
            configs.append((f"t{n}", c))
            n += 1
        assert len(configs) <= 2
        handed += len(configs)
        for tid, config in configs:
            searcher.on_trial_complete(tid, result(config["trial"]))
        if c == Searcher.FINISHED:  # the budget is handed out (its last trials may still run)
            break
    assert handed == 7


def test_stored_trials_are_told_not_rerun() -> None:
    spec = paretosweep.api.as_spec(SPEC)
    plan = build_plan(spec)
    done = {t.trial_id: json.loads(result(t.to_dict())[ROW_KEY]) for t in plan.trials}
    searcher, _ = searcher_for(
        spec, plan, [{**row, "kind": "scalarization", "weights": t.weights} for t, row in zip(plan.trials, done.values())]
    )
    config = searcher.suggest("a")
    assert config["trial"]["trial_id"] not in done  # straight to the first adaptive round
    assert len(searcher.sampler.weights) == 3


def test_a_failed_trial_is_told_as_nan() -> None:
    spec = paretosweep.api.as_spec(SPEC)
    searcher, _ = searcher_for(spec, build_plan(spec))
    c = searcher.suggest("a")
    searcher.on_trial_complete("a", None, error=True)
    assert np.isnan(searcher.sampler.values[0]).all()
    assert c["trial"]["kind"] == "scalarization"


def drive(searcher: SamplerSearcher, oracle) -> list[dict]:
    """Run the searcher to the end by hand, every round completed at once; the configs handed out."""
    handed: list[dict] = []
    n = 0
    while True:
        configs = []
        while (c := searcher.suggest(f"t{n}")) not in (None, Searcher.FINISHED):
            configs.append((f"t{n}", c["trial"]))
            n += 1
        for tid, config in configs:
            searcher.on_trial_complete(tid, oracle(config))
        handed += [c for _, c in configs]
        if c == Searcher.FINISHED:
            return handed


def test_seeds_are_averaged_and_retests_run_on_new_seeds() -> None:
    """seeds_per_weight 2: both seeds told, the sampler uses their mean; re-tests get a fresh seed and id."""
    rng = np.random.default_rng(0)

    def noisy(config: dict) -> dict:
        f1, f2 = np.asarray(circle(config["weights"])) + rng.normal(scale=0.05, size=2)
        return {ROW_KEY: json.dumps({"trial_id": config["trial_id"], "status": "completed", "f1_loss": f1, "f2_loss": f2})}

    spec = paretosweep.api.as_spec(
        {
            **SPEC,
            "sampler": {"name": "adaptive", "batch": 2, "tolerance": 0.02, "retests": 4, "retest_margin": 0.2},
            "budget": {"n_weights": 16, "seeds_per_weight": 2},
        }
    )
    plan = build_plan(spec)
    searcher, num_samples = searcher_for(spec, plan)
    assert num_samples == 16 * 2 + 4
    handed = drive(searcher, noisy)
    ids = [c["trial_id"] for c in handed]
    assert len(ids) == len(set(ids)) <= num_samples
    by_weight: dict[tuple, list[int]] = {}
    for c in handed:
        by_weight.setdefault(tuple(np.round(c["weights"], 9)), []).append(c["seed"])
    assert len(by_weight) == 16
    extra = {w: s for w, s in by_weight.items() if len(s) > 2}
    assert 1 <= sum(len(s) - 2 for s in extra.values()) <= 4  # re-tests happened, at most `retests`
    for seeds in by_weight.values():
        assert seeds[:2] == [0, 1] and len(set(seeds)) == len(seeds)  # the planned seeds, then new ones (2, 3, ...)
    assert len(searcher.sampler.weights) == len(handed)  # every trial told; the sampler averages per weight vector


def test_focus_and_refine_reach_the_sampler() -> None:
    spec = paretosweep.api.as_spec(
        {**SPEC, "sampler": {"name": "adaptive", "focus": ["f1_loss <= 0.3"], "refine": {"focus": 0.5, "knee": 0.25}}}
    )
    searcher, _ = searcher_for(spec, build_plan(spec))
    s = searcher.sampler
    assert np.allclose(s.focus.upper, [0.3, np.inf]) and s.shares() == {"focus": 0.5, "knee": 0.25}
    handed = drive(searcher, result)
    assert len(handed) == 7 and all(c["kind"] == "scalarization" for c in handed)
