"""AdaptiveSearcher driven by hand (no Tune run): rounds wait on running trials, ids match the plan."""

from __future__ import annotations

import json

import numpy as np
from ray.tune.search import Searcher

import paretosweep
from paretosweep.planning import build_plan
from paretosweep.sweep._adaptive_searcher import AdaptiveSearcher, adaptive_search
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
    searcher, num_samples = adaptive_search(spec, plan, list(plan.trials), None)
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
        if c == Searcher.FINISHED:
            break
        assert 1 <= len(configs) <= 2
        handed += len(configs)
        for tid, config in configs:
            searcher.on_trial_complete(tid, result(config["trial"]))
    assert handed == 7


def test_stored_trials_are_told_not_rerun() -> None:
    spec = paretosweep.api.as_spec(SPEC)
    plan = build_plan(spec)
    done = {t.trial_id: json.loads(result(t.to_dict())[ROW_KEY]) for t in plan.trials}
    searcher = AdaptiveSearcher(spec, [("f1_loss", "min"), ("f2_loss", "min")], done=done)
    config = searcher.suggest("a")
    assert config["trial"]["trial_id"] not in done  # straight to the first adaptive round
    assert len(searcher.sampler.weights) == 3


def test_a_failed_trial_is_told_as_nan() -> None:
    spec = paretosweep.api.as_spec(SPEC)
    searcher = AdaptiveSearcher(spec, [("f1_loss", "min"), ("f2_loss", "min")])
    c = searcher.suggest("a")
    searcher.on_trial_complete("a", None, error=True)
    assert np.isnan(searcher.sampler.values[0]).all()
    assert c["trial"]["kind"] == "scalarization"
