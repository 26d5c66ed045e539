"""Storage credentials never printed, logged or handed on by a local run: every site that shows a run directory.

A local ``paretosweep run`` on ``s3://KEY:SECRET@bucket/...`` moves the credentials to the AWS SDK's
environment variables before anything else (``sweep._credentials``): the loopback endpoint of
``tests._s3`` must see requests signed with the key (so the credentials reached pyarrow that way),
and nothing the CLI prints may hold the key or the secret. On a Ray the driver attaches to, the URI
is refused. The CLI's error line, plan, and summary mask credentials and keep a URI's query intact.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from paretosweep.cli import app
from paretosweep.cli_progress import in_run, print_error, print_plan, print_summary
from paretosweep.config import load_config
from paretosweep.errors import RunDirectoryError
from paretosweep.planning import build_plan
from paretosweep.sweep import SweepSummary
from paretosweep.sweep._credentials import move_storage_credentials
from tests._s3 import refusing_s3

__all__ = ["refusing_s3"]

KEY_ID = "PSFAKEKEYID0456"
SECRET = "PsFakeSecretValue123456789"
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
runner = CliRunner()


@pytest.fixture
def aws_environment() -> Iterator[None]:
    """The AWS variables as they were before the test, restored after it (a local run sets them)."""
    before = {name: os.environ.get(name) for name in AWS_VARIABLES}
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _spec(path: Path, storage: str, **extra: object) -> Path:
    spec = {
        "name": "fon",
        "problem": {"name": "fonseca", "params": {"steps_per_epoch": 2}},
        "sampler": {"name": "das_dennis"},
        "budget": {"n_weights": 2, "epochs": 1},
        "storage": storage,
        **extra,
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_a_local_run_signs_with_the_uri_credentials_from_the_environment_and_prints_neither(
    tmp_path: Path, refusing_s3: tuple[str, list[str]], aws_environment: None
) -> None:
    endpoint, seen = refusing_s3
    storage = f"s3://{KEY_ID}:{SECRET}@nonexistent-bucket/runs/fon?endpoint_override={endpoint}&scheme=http"
    # a process of its own: in this one a Ray may already be initialised, where such a URI is refused
    env = {k: v for k, v in os.environ.items() if k not in {*AWS_VARIABLES, "RAY_ADDRESS"}}
    spec = str(_spec(tmp_path / "fon.yaml", storage))
    result = subprocess.run([sys.executable, "-m", "paretosweep", "run", spec], env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    said = " ".join(output.split())
    assert SECRET not in output and KEY_ID not in output, output
    assert f"Cannot use storage `s3://nonexistent-bucket/runs/fon?endpoint_override={endpoint}&scheme=http`" in said, said
    assert "check the credentials" in said
    assert seen and set(seen) == {KEY_ID}, seen  # pyarrow signed with the URI's key, read from the environment


def test_credentials_in_the_uri_of_a_sweep_on_an_attached_ray_are_refused_before_anything(tmp_path: Path, aws_environment: None) -> None:
    storage = f"s3://{KEY_ID}:{SECRET}@bucket/runs/fon?endpoint_override=127.0.0.1:9&scheme=http"
    os.environ.pop("AWS_ACCESS_KEY_ID", None)
    result = runner.invoke(app, ["run", str(_spec(tmp_path / "fon.yaml", storage)), "--address", "127.0.0.1:9"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "carries credentials" in said and "paretosweep submit" in said and "`s3://***:***@bucket/runs/fon" in said, said
    assert SECRET not in result.output and KEY_ID not in result.output
    assert "AWS_ACCESS_KEY_ID" not in os.environ  # refused before moving anything


def test_move_storage_credentials_returns_a_clean_spec_and_keeps_a_plain_one(tmp_path: Path, aws_environment: None) -> None:
    spec = load_config(_spec(tmp_path / "a.yaml", f"s3://{KEY_ID}:{SECRET}@bucket/run?region=eu-west-1&session_token=T0K"))
    clean = move_storage_credentials(spec, attached=False)
    assert clean.storage == "s3://bucket/run?region=eu-west-1" and clean.run_dir == clean.storage
    assert [os.environ[name] for name in AWS_VARIABLES] == [KEY_ID, SECRET, "T0K"]
    assert SECRET not in clean.model_dump_json()  # what the run stores and hands to every trial
    plain = load_config(_spec(tmp_path / "b.yaml", "s3://bucket/run"))
    assert move_storage_credentials(plain, attached=True) is plain


def test_the_error_line_and_the_plan_mask_credentials(tmp_path: Path) -> None:
    console = Console(record=True, width=400)
    print_error(console, RunDirectoryError(f"Cannot open `s3://{KEY_ID}:{SECRET}@bucket/run?secret_key={SECRET}`."))
    spec = load_config(_spec(tmp_path / "a.yaml", f"s3://{KEY_ID}:{SECRET}@bucket/run"))
    print_plan(console, build_plan(spec))
    text = console.export_text()
    assert SECRET not in text and KEY_ID not in text, text
    assert "`s3://***:***@bucket/run?secret_key=***`" in text and "run dir `s3://***:***@bucket/run`" in text


def test_the_summary_names_the_files_of_a_uri_run_with_its_query_kept(tmp_path: Path) -> None:
    uri = "s3://bucket/runs/fon?endpoint_override=h:9000&scheme=http"
    assert in_run(uri, "trials.parquet") == "s3://bucket/runs/fon/trials.parquet?endpoint_override=h:9000&scheme=http"
    assert in_run(str(tmp_path / "run"), "trials.parquet") == str(tmp_path / "run" / "trials.parquet")
    console = Console(record=True, width=400)
    summary = SweepSummary(
        run_dir=uri, planned=2, ran=2, skipped=0, completed=2, failed=0, frontier_size=2, hypervolume=0.5, wall_seconds=1.0
    )
    print_summary(console, summary)
    text = console.export_text()
    assert "Frontier:  s3://bucket/runs/fon/frontier.parquet?endpoint_override=h:9000&scheme=http" in text, text
    assert f"(paretosweep frontier '{uri}')" in text and f"Dashboard: paretosweep dashboard '{uri}'" in text
    assert "s3:/bucket" not in text  # not mangled by a Path
