"""`paretosweep run` → `frontier` → `export` through the CLI on a real tiny sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import paretosweep
from paretosweep.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.ray]
runner = CliRunner()


@pytest.fixture(scope="module")
def cli_run(local_ray: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    spec = root / "spec.yaml"
    spec.write_text(
        "name: cli\nproblem: {name: synthetic, params: {n_tasks: 3, n_samples: 600}}\n"
        "sampler: {name: das_dennis}\nbudget: {n_weights: 6, epochs: 2}\n"
        f"storage: {root / 'run'}\n"
    )
    result = runner.invoke(app, ["run", str(spec)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "6 completed" in text and "frontier.parquet" in text and "paretosweep dashboard" in text
    again = runner.invoke(app, ["run", str(spec)])
    assert again.exit_code == 2 and "--resume" in again.output
    return root / "run"


def test_frontier_table_lists_every_frontier_point(cli_run: Path) -> None:
    result = runner.invoke(app, ["frontier", str(cli_run)])
    assert result.exit_code == 0
    front = paretosweep.load_frontier(str(cli_run))
    assert f"frontier: {len(front)} points" in result.output
    for trial_id in front.trial_id:
        assert trial_id in result.output


@pytest.mark.parametrize("pick", ["knee", "utopia", "extremes", "best:t1_loss"])
def test_export_json_gives_frontier_weights_and_a_spec(cli_run: Path, pick: str) -> None:
    result = runner.invoke(app, ["export", str(cli_run), "--pick", pick, "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    front = paretosweep.load_frontier(str(cli_run)).set_index("trial_id")
    assert records and len(records) <= (3 if pick == "extremes" else 1)
    for record in records:
        row = front.loc[record["trial_id"]]
        assert record["weights"] == pytest.approx(list(row.weights))
        assert record["objectives"]["t0_loss"] == pytest.approx(row.t0_loss)
        assert paretosweep.parse_spec(record["spec"]).problem.name == "synthetic"
        [again] = paretosweep.plan(record["spec"]).trials  # the spec reproduces exactly this trial, elsewhere
        assert again.trial_id == record["trial_id"] and record["spec"]["storage"] == f"runs/cli-{record['trial_id']}"
    if pick == "best:t1_loss":
        assert records[0]["trial_id"] == front.t1_loss.idxmin()


def test_export_yaml_and_csv_to_a_file(cli_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "choice.yaml"
    assert runner.invoke(app, ["export", str(cli_run), "--format", "yaml", "-o", str(out)]).exit_code == 0
    assert yaml.safe_load(out.read_text())[0]["trial_id"] in set(paretosweep.load_frontier(str(cli_run)).trial_id)
    csv_out = tmp_path / "all.csv"
    assert runner.invoke(app, ["export", str(cli_run), "--pick", "all", "--format", "csv", "-o", str(csv_out)]).exit_code == 0
    assert len(pd.read_csv(csv_out)) == len(paretosweep.load_frontier(str(cli_run)))


def test_unknown_pick_and_format_are_clear_errors(cli_run: Path) -> None:
    result = runner.invoke(app, ["export", str(cli_run), "--pick", "kne"])
    assert result.exit_code == 2 and "Did you mean `knee`" in result.output
    result = runner.invoke(app, ["export", str(cli_run), "--format", "xml"])
    assert result.exit_code == 2 and "--format" in result.output
