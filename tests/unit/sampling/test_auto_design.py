"""Sampler ``auto``: the lattice when it is fine enough, the Riesz-energy design otherwise."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

import paretosweep
from paretosweep.sampling import MIN_LATTICE_DIVISIONS, resolve_design


def synthetic(m: int, n: int, sampler: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"problem": {"name": "synthetic", "params": {"n_tasks": m, "n_samples": 600}}, "budget": {"n_weights": n}}
    if sampler is not None:
        spec["sampler"] = sampler
    return spec


@pytest.mark.parametrize(
    ("m", "n", "design"),
    [
        (2, 2, "das_dennis"),
        (2, 16, "das_dennis"),
        (3, 9, "energy"),
        (3, 10, "das_dennis"),
        (8, 40, "energy"),
        (8, 120, "das_dennis"),
        (16, 200, "energy"),
    ],
)
def test_the_rule(m: int, n: int, design: str) -> None:
    """das_dennis for 2 tasks, or when the lattice within n has H >= 3 (C(m+2, 3) <= n points)."""
    assert MIN_LATTICE_DIVISIONS == 3
    assert resolve_design("auto", m, n)[0] == design


def test_eight_tasks_and_forty_weights_plan_forty_floored_energy_points() -> None:
    plan = paretosweep.plan(synthetic(8, 40))
    assert plan.design == "energy" and plan.weights.shape == (40, 8)
    assert plan.weights.min() >= 0.01 - 1e-12 and np.allclose(plan.weights.sum(axis=1), 1.0)  # floored
    assert len({tuple(w) for w in np.round(plan.weights, 9)}) == 40
    assert plan.notes and "H = 2" in plan.notes[0]


def test_an_explicit_coarse_lattice_is_kept_and_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="paretosweep.planning"):
        plan = paretosweep.plan(synthetic(8, 40, {"name": "das_dennis"}))
    assert plan.design == "das_dennis" and len(plan.weights) == 36
    assert any("uses 36 weight vectors" in r.getMessage() and "{name: energy}" in r.getMessage() for r in caplog.records)
    assert plan.notes == tuple(r.getMessage() for r in caplog.records if r.name == "paretosweep.planning")


def test_auto_keeps_the_lattice_where_it_is_fine_enough() -> None:
    auto, lattice = paretosweep.plan(synthetic(3, 16)), paretosweep.plan(synthetic(3, 16, {"name": "das_dennis"}))
    assert auto.design == "das_dennis" and not auto.notes
    assert np.array_equal(auto.weights, lattice.weights) and [t.trial_id for t in auto.trials] == [t.trial_id for t in lattice.trials]
