"""The conditioned sampler's pure parts: Dirichlet draws, the spread of the verified weights, the spec's checks."""

from __future__ import annotations

import numpy as np
import pytest

from paretosweep.config import parse_spec
from paretosweep.errors import ConfigError
from paretosweep.frontier import hypervolume
from paretosweep.planning import build_plan
from paretosweep.sampling import make_sampler
from paretosweep.sampling._conditioned import ConditionedSampler, check_conditionable, dirichlet_draws, spread_weights


def test_dirichlet_draws_lie_on_the_simplex_with_the_right_mean_and_concentration() -> None:
    rng = np.random.default_rng(0)
    w = dirichlet_draws(rng, 20000, 3, 1.0)
    assert w.shape == (20000, 3) and (w > 0).all() and np.allclose(w.sum(axis=1), 1.0)
    assert np.allclose(w.mean(axis=0), 1 / 3, atol=0.01)
    # Dir(1) on the 2-simplex is uniform: P(w_1 > 1/2) = (1/2)^2 = 1/4
    assert (w[:, 0] > 0.5).mean() == pytest.approx(0.25, abs=0.015)
    corners = dirichlet_draws(np.random.default_rng(1), 5000, 3, 0.1).max(axis=1).mean()
    centre = dirichlet_draws(np.random.default_rng(1), 5000, 3, 50.0).max(axis=1).mean()
    assert corners > 0.85 and centre < 0.45  # alpha < 1: near a corner; alpha >> 1: near 1/m
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_draws(rng, 1, 3, 0.0)


def test_spread_weights_picks_the_front_by_greedy_hypervolume_and_spreads_along_it() -> None:
    t = np.linspace(0, 1, 41)
    weights = np.stack([t, 1 - t], axis=1)
    front = np.stack([t, 1 - np.sqrt(t)], axis=1)  # convex front, minimised
    dominated = front + 0.3
    values = np.concatenate([front, dominated])
    all_weights = np.concatenate([weights, weights])
    ref = [1.1, 1.1]
    picked = spread_weights(all_weights, values, 5, directions=["min", "min"], reference_point=ref)
    assert len(set(picked.tolist())) == 5 and (picked < 41).all()  # only non-dominated proposals
    # greedy subset selection: each pick is the best addition given the earlier ones
    chosen: list[int] = []
    for i in picked:
        gains = {c: hypervolume(values[[*chosen, c]], reference_point=ref, directions=["min", "min"]) for c in range(41) if c not in chosen}
        assert gains[int(i)] == pytest.approx(max(gains.values()))
        chosen.append(int(i))
    spread = np.sort(t[picked])
    assert np.diff(spread).min() > 0.05  # no two picks crowd together
    evenly = np.array([0, 10, 20, 30, 40])
    assert hypervolume(values[picked], reference_point=ref, directions=["min", "min"]) >= hypervolume(
        values[evenly], reference_point=ref, directions=["min", "min"]
    )


def test_spread_weights_fills_up_with_dominated_and_skips_nan_rows_last() -> None:
    weights = np.array([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1], [0.3, 0.7]])
    values = np.array([[0.0, 1.0], [0.5, 0.5], [np.nan, 0.1], [0.6, 0.6]])  # row 3 dominated by row 1, row 2 NaN
    picked = spread_weights(weights, values, 4, directions=["min", "min"], reference_point=[2.0, 2.0])
    assert set(picked[:2].tolist()) == {0, 1} and picked[2] == 3 and picked[3] == 2
    assert spread_weights(weights, values, 9, directions=["min", "min"], reference_point=[2.0, 2.0]).shape == (4,)


def test_conditioned_sampler_plans_nothing_before_the_stage_then_hands_out_its_weights() -> None:
    sampler = ConditionedSampler(2, 3)
    assert sampler.budget == 3 and sampler.planned.shape == (0, 2) and sampler.finished
    sampler.set_weights(np.array([[0.2, 0.8], [0.5, 0.5], [0.8, 0.2]]))
    assert not sampler.finished and sampler.ask(2).tolist() == [[0.2, 0.8], [0.5, 0.5]]
    sampler.tell([0.2, 0.8], np.array([[1.0, 2.0]]))
    assert sampler.ask(5).tolist() == [[0.8, 0.2]] and sampler.finished and sampler.ask(1).shape == (0, 2)
    with pytest.raises(ConfigError, match=r"sampler\.verify"):
        ConditionedSampler(2, 0)


def _spec(**sampler: object) -> dict[str, object]:
    return {"problem": {"name": "synthetic", "params": {"n_tasks": 2}}, "sampler": {"name": "conditioned", **sampler}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sampler": {"name": "conditioned", "alpha": 0.0}}, r"sampler\.alpha.*should be > 0"),
        ({"sampler": {"name": "conditioned", "alpha": -1.0}}, r"sampler\.alpha.*should be > 0"),
        ({"sampler": {"name": "conditioned", "verify": 0}}, r"sampler\.verify.*1 or more"),
        ({"sampler": {"name": "auto", "verify": 2}}, r"sampler\.verify.*only read by sampler `conditioned`"),
        ({"sampler": {"name": "conditioned", "verify_from": "nowhere"}}, r"verify_from"),
        ({"sampler": {"name": "conditioned", "dense": 1}}, r"dense"),
        ({"sampler": {"name": "conditioned", "film": "heads"}}, r"film"),
    ],
)
def test_bad_conditioned_options_are_refused_by_the_spec(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec({**_spec(), **change})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"budget": {"pack_size": 2}}, r"pack_size: 2.*Set `budget\.pack_size: 1`"),
        ({"scheduler": "pareto_asha", "budget": {"epochs": 3}}, r"with a `scheduler`.*Drop `scheduler`"),
    ],
)
def test_packs_and_schedulers_are_refused_when_planning(change: dict[str, object], message: str) -> None:
    spec = parse_spec({**_spec(), **change})
    with pytest.raises(ConfigError, match=message):
        build_plan(spec)  # what run_sweep does before Ray starts


def test_a_problem_without_a_conditioning_hook_is_refused_with_how_to_add_one() -> None:
    spec = parse_spec({"problem": {"name": "fonseca"}, "sampler": {"name": "conditioned"}})
    with pytest.raises(ConfigError, match=r"problem `fonseca` has no hook.*shared_representation\(model\).*condition\(model, w\)"):
        check_conditionable(spec)
    with pytest.raises(ConfigError, match="has no hook"):
        build_plan(spec)


def test_the_factory_builds_the_conditioned_sampler_and_the_plan_has_verify_trials_at_most() -> None:
    spec = parse_spec({**_spec(verify=4), "budget": {"seeds_per_weight": 2}})
    sampler = make_sampler(spec, [("t0_loss", "min"), ("t1_loss", "min")])
    assert isinstance(sampler, ConditionedSampler) and sampler.budget == 4
    plan = build_plan(spec)
    assert plan.max_trials == 8 and not plan.trials and plan.sampler_note is not None and "verified by real trials" in plan.sampler_note


def test_proposal_rows_never_count_for_the_frontier_even_among_the_trials() -> None:
    import pandas as pd

    from paretosweep.frontier import usable_rows

    frame = pd.DataFrame({"status": ["completed"] * 3, "kind": ["scalarization", "conditioned", "method"]})
    assert usable_rows(frame, np.ones(3, dtype=bool)).tolist() == [True, False, True]
