"""The map from Optuna's unit cube to the simplex, and the Optuna samplers' plan-time checks."""

from __future__ import annotations

import numpy as np
import pytest

import paretosweep
from paretosweep.errors import ConfigError
from paretosweep.sampling import param_names, simplex_to_unit, unit_to_simplex


def test_two_tasks_is_u_and_one_minus_u_with_the_floor() -> None:
    assert np.allclose(unit_to_simplex([0.3], 2, floor=0.0), [0.3, 0.7])
    assert np.allclose(unit_to_simplex({"u0": 0.0}, 2, floor=0.01), [0.01, 0.99])


def test_spacings_of_sorted_uniforms_cover_the_simplex() -> None:
    rng = np.random.default_rng(0)
    w = np.array([unit_to_simplex(u, 4, floor=0.0) for u in rng.random((4000, 3))])
    assert np.allclose(w.sum(axis=1), 1) and w.min() >= 0
    assert np.allclose(w.mean(axis=0), 0.25, atol=0.01)  # uniform on the simplex: every mean 1/m
    assert np.allclose(unit_to_simplex({"u0": 0.9, "u1": 0.2}, 3, floor=0.0), [0.2, 0.7, 0.1])
    assert param_names(3) == ["u0", "u1"]


@pytest.mark.parametrize(("m", "floor"), [(2, 0.0), (3, 0.01), (5, 0.05)])
def test_stored_weights_map_back_to_parameters_that_give_them_again(m: int, floor: float) -> None:
    """``simplex_to_unit`` inverts ``unit_to_simplex`` on its image: a resumed study is told the exact weights."""
    rng = np.random.default_rng(m)
    for u in rng.random((50, m - 1)):
        w = unit_to_simplex(u, m, floor=floor)
        back = simplex_to_unit(w, floor=floor)
        assert list(back) == param_names(m) and all(0.0 <= x <= 1.0 for x in back.values())
        assert np.allclose(unit_to_simplex(back, m, floor=floor), w, atol=1e-12)
        assert np.allclose(sorted(back.values()), np.sort(u), atol=1e-12)  # the sorted preimage


def test_optuna_plan_has_no_trials_ahead_and_needs_one_trial_per_weight() -> None:
    plan = paretosweep.plan({"problem": {"name": "fonseca"}, "sampler": {"name": "optuna_tpe"}, "budget": {"n_weights": 6}})
    assert len(plan.trials) == 0
    with pytest.raises(ConfigError, match="seeds_per_weight"):
        paretosweep.plan({"problem": {"name": "fonseca"}, "sampler": {"name": "optuna_nsga2"}, "budget": {"seeds_per_weight": 2}})
    with pytest.raises(ConfigError, match=r"sampler\.floor"):
        paretosweep.plan({"problem": {"name": "fonseca"}, "sampler": {"name": "optuna_nsga2", "floor": 0.6}})
