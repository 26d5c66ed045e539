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


def test_a_sweep_where_no_trial_completes_exits_1_with_the_first_error(local_ray: None, tmp_path: Path) -> None:
    spec = tmp_path / "failing.yaml"
    spec.write_text(
        "name: failing\nproblem: {name: 'tests.problems_for_tests:make_quadratic', params: {fail_above: -1.0}}\n"
        "scalarizer: {name: linear}\nsampler: {name: explicit, weights: [[0.3, 0.7], [0.6, 0.4]]}\nbudget: {epochs: 1}\n"
        f"storage: {tmp_path / 'run'}\n"
    )
    result = runner.invoke(app, ["run", str(spec)])
    text = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "0 completed, 2 failed or diverged" in text
    assert "No trial completed (2 failed or diverged); the first error, of trial s-" in text
    assert "x crossed fail_above (0.000 > -1.0)" in text
    trials = paretosweep.load_trials(str(tmp_path / "run"))
    assert (trials.status == "failed").all() and trials.error.str.contains("fail_above").all()


MODULE = """
from tests.problems_for_tests import make_quadratic


def make(**params):
    return make_quadratic(**params)
"""


def test_a_module_beside_the_spec_runs_on_a_local_ray_started_by_python_dash_m(tmp_path: Path) -> None:
    """`python -m paretosweep run` from another directory: the spec's directory reaches the local
    Ray's workers (PYTHONPATH), and Ray's token banner is not printed (RAY_AUTH_MODE unset, as for
    a user; HOME and Ray's temp dir are the test's own)."""
    import os
    import subprocess
    import sys
    import tempfile

    specs, work, home = tmp_path / "specs", tmp_path / "work", tmp_path / "home"
    for d in (specs, work, home):
        d.mkdir()
    (specs / "quadratic_beside_spec.py").write_text(MODULE)
    spec = specs / "s.yaml"
    spec.write_text(
        "problem: {name: 'quadratic_beside_spec:make', params: {steps_per_epoch: 3}}\nscalarizer: {name: linear}\n"
        f"budget: {{n_weights: 2, epochs: 1}}\nray: {{num_cpus: 2}}\nstorage: {tmp_path / 'run'}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_AUTH_MODE", "RAY_ADDRESS")}
    with tempfile.TemporaryDirectory(prefix="psr", dir="/tmp") as ray_tmp:  # Ray's socket paths must stay short
        env.update(PYTHONPATH=str(Path(__file__).resolve().parents[2]), HOME=str(home), RAY_TMPDIR=ray_tmp)
        done = subprocess.run(
            [sys.executable, "-m", "paretosweep", "run", str(spec)], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "2 completed, 0 failed" in " ".join(done.stdout.split())
    assert "Token authentication is enabled" not in output
