"""SamplerSearcher: any sampler's weight vectors as Tune trial configs, results told back per weight vector."""

from __future__ import annotations

import json
import pickle

import numpy as np
from ray.tune.search import Searcher

from paretosweep.api import as_spec
from paretosweep.sampling import StaticSampler
from paretosweep.sweep._sampler_searcher import SamplerSearcher, WeightTrials
from paretosweep.sweep._trainable import ROW_KEY

OBJECTIVES = [("f1_loss", "min"), ("f2_loss", "min")]


class Recording(StaticSampler):
    """A static design that remembers what it was told."""

    def __init__(self, weights: np.ndarray) -> None:
        super().__init__(weights)
        self.told: list[tuple[list[float], np.ndarray]] = []

    def tell(self, weights, values) -> None:  # type: ignore[no-untyped-def]
        self.told.append((list(weights), np.asarray(values)))


def spec(seeds: int = 2):  # type: ignore[no-untyped-def]
    return as_spec({"problem": {"name": "fonseca"}, "budget": {"n_weights": 2, "seeds_per_weight": seeds, "lr": [0.1, 0.2]}})


def complete(searcher: SamplerSearcher, tune_id: str, config: dict, value: float, status: str = "completed") -> None:
    row = {**config, "status": status, "f1_loss": value, "f2_loss": 1 - value}
    searcher.on_trial_complete(tune_id, {ROW_KEY: json.dumps(row)})


def test_each_weight_vector_becomes_seeds_times_lrs_trials_told_once_all_finished() -> None:
    sampler = Recording(np.array([[0.25, 0.75], [0.5, 0.5]]))
    searcher = SamplerSearcher(sampler, WeightTrials(spec()), OBJECTIVES)
    configs = {}
    for i in range(8):
        answer = searcher.suggest(f"t{i}")
        assert answer is not None and answer != Searcher.FINISHED
        configs[f"t{i}"] = answer["trial"]
    assert searcher.suggest("t-end") == Searcher.FINISHED
    first = [c for c in configs.values() if c["weights"] == [0.25, 0.75]]
    assert sorted((c["seed"], c["lr"]) for c in first) == [(0, 0.1), (0, 0.2), (1, 0.1), (1, 0.2)]
    for i, (tune_id, config) in enumerate(configs.items()):
        complete(searcher, tune_id, config, 0.1 * i, status="failed" if i == 3 else "completed")
        assert len(sampler.told) == (0 if i < 3 else 1 if i < 7 else 2)
    weights, values = sampler.told[0]
    assert weights == [0.25, 0.75] and values.shape == (4, 2) and np.isnan(values[3]).all()


def test_stored_trials_are_told_from_the_store_and_not_run_again() -> None:
    s = spec(seeds=1)
    stored = {
        t.trial_id: {**t.to_dict(), "status": "completed", "f1_loss": 0.3, "f2_loss": 0.7}
        for t in WeightTrials(s)(np.array([0.25, 0.75]), 0)
    }
    sampler = Recording(np.array([[0.25, 0.75], [0.5, 0.5]]))
    searcher = SamplerSearcher(sampler, WeightTrials(s), OBJECTIVES, stored=stored)
    handed = [searcher.suggest("a")["trial"], searcher.suggest("b")["trial"]]
    assert all(c["weights"] == [0.5, 0.5] for c in handed) and searcher.suggest("c") == Searcher.FINISHED
    assert len(sampler.told) == 1 and np.allclose(sampler.told[0][1], [[0.3, 0.7], [0.3, 0.7]])


def test_a_weight_vector_asked_again_is_a_retest_on_a_new_seed() -> None:
    s = spec(seeds=2)
    searcher = SamplerSearcher(StaticSampler(np.array([[0.5, 0.5], [0.5, 0.5]])), WeightTrials(s), OBJECTIVES)
    configs = [searcher.suggest(f"t{i}")["trial"] for i in range(6)]
    seeds = [(c["seed"], c["lr"]) for c in configs]
    assert seeds[:4] == [(0, 0.1), (0, 0.2), (1, 0.1), (1, 0.2)] and seeds[4:] == [(2, 0.1), (2, 0.2)]
    assert len({c["trial_id"] for c in configs}) == 6


def test_method_trials_go_first_and_the_searcher_pickles() -> None:
    from paretosweep.planning import build_plan

    s = as_spec(
        {
            "problem": {"name": "synthetic", "params": {"n_tasks": 2, "n_samples": 60}},
            "budget": {"n_weights": 2},
            "methods": [{"name": "pcgrad"}],
        }
    )
    methods = [t for t in build_plan(s).trials if t.kind == "method"]
    searcher = SamplerSearcher(
        StaticSampler(np.array([[0.5, 0.5]])), WeightTrials(s), [("t0_loss", "min"), ("t1_loss", "min")], first=methods
    )
    assert searcher.suggest("m")["trial"]["kind"] == "method"
    restored = pickle.loads(pickle.dumps(searcher))
    assert restored.suggest("s")["trial"]["weights"] == [0.5, 0.5]
