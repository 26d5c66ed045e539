"""``scheduler:`` in the spec: what it accepts, and the bad input refused before Ray, naming the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from paretosweep.cli import app
from paretosweep.config import load_config, parse_spec
from paretosweep.errors import ConfigError

BASE: dict[str, Any] = {"problem": {"name": "fonseca"}, "budget": {"n_weights": 4, "epochs": 4}}


def spec_with(scheduler: Any, **budget: Any) -> dict[str, Any]:
    return {**BASE, "budget": {**BASE["budget"], **budget}, "scheduler": scheduler}


def test_a_scheduler_is_a_name_or_a_block_with_asha_defaults() -> None:
    assert parse_spec(BASE).scheduler is None
    spec = parse_spec(spec_with("pareto_asha"))
    assert spec.scheduler is not None
    assert (spec.scheduler.name, spec.scheduler.grace_epochs, spec.scheduler.reduction_factor) == ("pareto_asha", 1, 3.0)
    given = parse_spec(spec_with({"name": "pareto_asha", "grace_epochs": 2, "reduction_factor": 2}, epochs=9)).scheduler
    assert given is not None and (given.grace_epochs, given.reduction_factor) == (2, 2.0)
    dumped = parse_spec(spec_with("pareto_asha")).model_dump(mode="json")
    assert parse_spec(dumped).scheduler == spec.scheduler  # a stored spec re-validates


@pytest.mark.parametrize(
    ("scheduler", "budget", "match"),
    [
        ({"name": "asha"}, {}, r"`scheduler.name`: .*unknown scheduler `asha`. Did you mean `pareto_asha`\?"),
        ({"name": "pareto_asha", "reduction_factor": 1}, {}, r"`scheduler.reduction_factor`.*should be > 1"),
        ({"name": "pareto_asha", "reduction_factor": 0.5}, {}, r"`scheduler.reduction_factor`.*should be > 1"),
        ({"name": "pareto_asha", "grace_epochs": 4}, {}, r"`scheduler.grace_epochs` \(4\) should be smaller than `budget.epochs` \(4\)"),
        ({"name": "pareto_asha", "grace_epochs": 0}, {}, r"`scheduler.grace_epochs`"),
        ("pareto_asha", {"epochs": 1}, r"`budget.epochs` is 1: every trial reports once.*Raise `budget.epochs` or drop `scheduler`"),
        ("pareto_asha", {"pack_size": 4}, r"`budget.pack_size: 4`.*can only stop a whole Ray trial.*Set `budget.pack_size: 1`"),
        ("pareto_asha", {"pack_size": "auto"}, r"`budget.pack_size: auto`.*Set `budget.pack_size: 1`"),
        ({"name": "pareto_asha", "grace": 1}, {}, r"`scheduler.grace`: unknown key. Allowed here: name, grace_epochs, reduction_factor"),
    ],
)
def test_bad_scheduler_input_names_the_field_and_the_fix(scheduler: Any, budget: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_spec(spec_with(scheduler, **budget))


def test_a_yaml_spec_and_the_cli_refuse_it_before_ray_starts(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    scheduler = "scheduler: {name: pareto_asha, grace_epochs: 3}"
    path.write_text(f"problem: {{name: fonseca}}\nbudget: {{epochs: 3}}\n{scheduler}\nstorage: {tmp_path / 'run'}\n")
    with pytest.raises(ConfigError, match="`scheduler.grace_epochs` \\(3\\) should be smaller"):
        load_config(path)
    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    assert result.exit_code == 2 and "grace_epochs" in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()
