"""Static designs under a scheduler are asked in a seeded shuffle; the planned points and trial ids stay the same."""

from __future__ import annotations

from typing import Any

import numpy as np

from paretosweep.config import parse_spec
from paretosweep.planning import build_plan
from paretosweep.sampling import make_sampler

OBJECTIVES = [("f1", "min"), ("f2", "min"), ("f3", "min")]


def spec(scheduler: bool, seed: int = 0, **sampler: Any) -> Any:
    raw: dict[str, Any] = {
        "problem": {"name": "synthetic", "params": {"n_tasks": 3}},
        "budget": {"n_weights": 15, "epochs": 4},
        "seed": seed,
        "sampler": {"name": "das_dennis", **sampler},
    }
    if scheduler:
        raw["scheduler"] = {"name": "pareto_asha"}
    return parse_spec(raw)


def asked(s: Any) -> np.ndarray:
    sampler = make_sampler(s, OBJECTIVES)
    out = [sampler.ask(1) for _ in range(sampler.budget)]
    assert sampler.finished
    return np.concatenate(out)


def test_without_a_scheduler_the_design_is_asked_in_its_own_order() -> None:
    s = spec(scheduler=False)
    np.testing.assert_array_equal(asked(s), make_sampler(s, OBJECTIVES).planned)


def test_with_a_scheduler_the_same_points_come_in_a_seeded_shuffle() -> None:
    plain, shuffled = make_sampler(spec(False), OBJECTIVES).planned, asked(spec(True))
    np.testing.assert_array_equal(make_sampler(spec(True), OBJECTIVES).planned, plain)  # planned: unchanged
    assert not np.array_equal(shuffled, plain)
    order = np.random.default_rng(0).permutation(len(plain))  # the documented rule
    np.testing.assert_array_equal(shuffled, plain[order])
    np.testing.assert_array_equal(asked(spec(True)), shuffled)  # deterministic
    assert not np.array_equal(asked(spec(True, seed=1)), shuffled)  # the spec seed draws it
    ids = {t.trial_id for t in build_plan(spec(True)).trials}
    assert ids == {t.trial_id for t in build_plan(spec(False)).trials}


def test_an_explicit_design_under_a_scheduler_is_shuffled_too() -> None:
    weights = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]
    got = asked(spec(True, name="explicit", weights=weights))
    np.testing.assert_array_equal(got, np.asarray(weights)[np.random.default_rng(0).permutation(5)])
