"""``warm_start:`` is checked before Ray starts, with the field and the fix in the message."""

from __future__ import annotations

import pytest

from paretosweep import ConfigError, parse_spec

BASE = {"problem": {"name": "fonseca"}, "budget": {"epochs": 3}}


def test_a_shared_warm_start_parses_and_round_trips() -> None:
    spec = parse_spec({**BASE, "warm_start": {"from": "shared", "epochs": 1}})
    assert spec.warm_start is not None and spec.warm_start.epochs == 1
    dumped = spec.model_dump(mode="json")
    assert dumped["warm_start"] == {"from": "shared", "epochs": 1}
    assert parse_spec(dumped) == spec


def test_a_nearest_warm_start_needs_the_adaptive_sampler_and_round_trips() -> None:
    spec = parse_spec({**BASE, "sampler": {"name": "adaptive"}, "warm_start": {"from": "nearest", "epochs": 1}})
    assert spec.warm_start is not None and (spec.warm_start.from_, spec.warm_start.epochs) == ("nearest", 1)
    dumped = spec.model_dump(mode="json")
    assert dumped["warm_start"] == {"from": "nearest", "epochs": 1}
    assert parse_spec(dumped) == spec


@pytest.mark.parametrize(
    ("warm_start", "budget", "message"),
    [
        ({"from": "shared", "epochs": 3}, {"epochs": 3}, r"`warm_start.epochs` \(3\) should be smaller than `budget.epochs` \(3\)"),
        ({"from": "shared", "epochs": 0}, {"epochs": 3}, r"warm_start.epochs.*greater than or equal to 1"),
        ({"from": "neighbour", "epochs": 1}, {"epochs": 3}, r"warm_start.from.*'shared' or 'nearest'"),
        (
            {"from": "nearest", "epochs": 1},
            {"epochs": 3},
            r"`warm_start: \{from: nearest\}`.*`sampler.name` is `auto`.*sampler: \{name: adaptive\}",
        ),
        ({"from": "nearest", "epochs": 3}, {"epochs": 3}, r"`warm_start.epochs` \(3\) should be smaller.*a neighbour's checkpoint"),
        ({"epochs": 1}, {"epochs": 3, "pack_size": 2}, r"`warm_start` with `budget.pack_size: 2`.*Set `budget.pack_size: 1`"),
    ],
)
def test_bad_warm_starts_are_refused_with_the_fix(warm_start: dict, budget: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec({**BASE, "budget": budget, "warm_start": warm_start})
