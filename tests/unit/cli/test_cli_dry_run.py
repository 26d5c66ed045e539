"""The CLI over every shipped config (--dry-run starts no Ray), its errors and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretosweep.cli import app

CONFIGS = sorted(Path(__file__).resolve().parents[3].joinpath("configs").glob("*.yaml"))
runner = CliRunner()


def test_every_shipped_config_validates_and_plans(tmp_path: Path) -> None:
    assert {p.stem for p in CONFIGS} >= {"quickstart", "fonseca", "cagrad_toy", "synthetic", "multimnist", "recsys"}
    for config in CONFIGS:
        result = runner.invoke(app, ["run", str(config), "--dry-run", "--storage", str(tmp_path / config.stem)])
        assert result.exit_code == 0, (config, result.output)
        assert "planned trials" in result.output
    assert not any(tmp_path.iterdir())  # a dry run writes nothing


def test_dry_run_lists_each_weight_vector(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("problem: {name: fonseca}\nsampler: {name: das_dennis, floor: 0}\nbudget: {n_weights: 3}\n")
    result = runner.invoke(app, ["run", str(spec), "--dry-run"])
    assert result.exit_code == 0
    for weights in ("[0.000, 1.000]", "[0.500, 0.500]", "[1.000, 0.000]"):
        assert weights in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("problem: {name: fonseca}\nbudget: {n_weights: -1}\n", "budget.n_weights"),
        ("problem: {name: fonseka}\n", "Did you mean `fonseca`"),
        ("problem: {name: fonseca}\nscalarizer: {nme: linear}\n", "scalarizer.nme"),
        ("problem: {name: fonseca\n", "not valid YAML at line"),
    ],
)
def test_bad_specs_exit_2_with_the_field_named(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    result = runner.invoke(app, ["run", str(spec), "--dry-run"])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())  # rich may wrap lines


def test_problems_lists_the_built_ins() -> None:
    result = runner.invoke(app, ["problems"])
    assert result.exit_code == 0
    for name in ("fonseca", "cagrad_toy", "synthetic", "multimnist", "recsys"):
        assert name in result.output


def test_frontier_of_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["frontier", str(tmp_path)])
    assert result.exit_code == 2 and "paretosweep run" in " ".join(result.output.split())


def test_dry_run_counts_the_trials_a_sampler_chooses_as_it_runs(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("problem: {name: synthetic}\nsampler: {name: conditioned, verify: 4}\nbudget: {epochs: 2}\n")
    result = runner.invoke(app, ["run", str(spec), "--dry-run"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "0 planned trials; up to 4 more chosen as the sweep runs" in " ".join(result.output.split()), result.output
