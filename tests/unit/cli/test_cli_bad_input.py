"""What the CLI refuses before Ray starts, how it prints user text, and how it is started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretosweep.cli import app

runner = CliRunner()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _flat(output: str) -> str:
    return " ".join(output.split())  # rich wraps long lines


def test_dry_run_refuses_an_existing_run_directory_unless_resumed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "trials.parquet").write_bytes(b"x")
    spec = _write(tmp_path / "s.yaml", f"problem: {{name: fonseca}}\nbudget: {{n_weights: 3}}\nstorage: {run}\n")
    result = runner.invoke(app, ["run", str(spec), "--dry-run"])
    assert result.exit_code == 2 and "already exists. Pass --resume" in _flat(result.output)
    assert runner.invoke(app, ["run", str(spec), "--dry-run", "--resume"]).exit_code == 0
    assert sorted(p.name for p in run.iterdir()) == ["trials.parquet"]  # the probe left nothing


def test_dry_run_refuses_unwritable_storage_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    spec = _write(tmp_path / "s.yaml", "problem: {name: fonseca}\nbudget: {n_weights: 3}\n")
    result = runner.invoke(app, ["run", str(spec), "--dry-run", "--storage", str(tmp_path / "file" / "run")])
    assert result.exit_code == 2 and "Cannot write to run directory" in _flat(result.output)
    ok = runner.invoke(app, ["run", str(spec), "--dry-run", "--storage", str(tmp_path / "new" / "deep" / "run")])
    assert ok.exit_code == 0 and not (tmp_path / "new").exists()


def test_dry_run_refuses_a_gpu_this_machine_lacks(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.yaml", "problem: {name: fonseca}\nresources: {gpu: 64}\n")
    result = runner.invoke(app, ["run", str(spec), "--dry-run", "--storage", str(tmp_path / "run")])
    assert result.exit_code == 2 and "`resources.gpu` asks for 64 GPU(s) per trial" in _flat(result.output)


def test_user_text_holding_brackets_is_printed_as_written(tmp_path: Path) -> None:
    """rich reads `[nan, 1.0]` or `[red]` as markup; every user text is escaped."""
    spec = _write(tmp_path / "s.yaml", "problem: {name: fonseca}\nsampler: {name: explicit, weights: [[.nan, 1.0]]}\n")
    result = runner.invoke(app, ["run", str(spec), "--dry-run"])
    assert result.exit_code == 2 and "Found `[nan, 1.0]`: it has a non-finite entry" in _flat(result.output)
    named = _write(
        tmp_path / "n.yaml",
        f"name: '[red]mine[/red]'\nproblem: {{name: fonseca}}\nbudget: {{n_weights: 2}}\nstorage: {tmp_path / '[bold]run'}\n",
    )
    result = runner.invoke(app, ["run", str(named), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "[red]mine[/red]:" in result.output and "[bold]run" in _flat(result.output)


def test_debug_prints_the_traceback_of_a_failing_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_factory_cli.py").write_text("def make():\n    raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = _write(tmp_path / "s.yaml", "problem: {name: 'broken_factory_cli:make'}\n")
    plain = runner.invoke(app, ["run", str(spec), "--dry-run"])
    assert plain.exit_code == 2 and "Traceback" not in plain.output
    assert "raised RuntimeError: boom (at " in _flat(plain.output) and "broken_factory_cli.py:2)" in _flat(plain.output)
    debug = runner.invoke(app, ["--debug", "run", str(spec), "--dry-run"])
    assert debug.exit_code == 2 and "Traceback" in debug.output and "RuntimeError: boom" in debug.output


def test_auto_sampler_with_many_tasks_is_noted_in_the_plan(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.yaml", "problem: {name: synthetic, params: {n_tasks: 8, n_samples: 600}}\nbudget: {n_weights: 40}\n")
    result = runner.invoke(app, ["run", str(spec), "--dry-run"])
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "sampler `auto -> energy` (40 weight vectors)" in text and "40 planned trials" in text
    lattice = _write(
        tmp_path / "l.yaml",
        "problem: {name: synthetic, params: {n_tasks: 8, n_samples: 600}}\nsampler: {name: das_dennis}\nbudget: {n_weights: 40}\n",
    )
    result = runner.invoke(app, ["run", str(lattice), "--dry-run"])
    text = _flat(result.output)
    assert result.exit_code == 0 and "36 planned trials" in text
    assert "note: sampler `das_dennis`: for 8 tasks" in text and "it uses 36 weight vectors" in text and "{name: energy}" in text


MODULE = """
from tests.problems_for_tests import make_quadratic


def make(**params):
    return make_quadratic(**params)
"""


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])  # only for `tests.problems_for_tests`
    return env


@pytest.mark.parametrize("where", ["beside the spec", "in the current directory"])
def test_an_import_path_finds_a_module_beside_the_spec_or_in_the_working_directory(tmp_path: Path, where: str) -> None:
    """A real module file, and the real console script / ``python -m paretosweep`` in a subprocess."""
    specs, cwd = tmp_path / "specs", tmp_path / "work"
    specs.mkdir()
    cwd.mkdir()
    (specs if where == "beside the spec" else cwd).joinpath("my_quadratic_mod.py").write_text(MODULE)
    spec = _write(specs / "s.yaml", "problem: {name: 'my_quadratic_mod:make'}\nbudget: {n_weights: 3}\n")
    script = Path(sys.executable).with_name("paretosweep")
    for command in ([str(script)], [sys.executable, "-m", "paretosweep"]):
        done = subprocess.run(
            [*command, "run", str(spec), "--dry-run", "--storage", str(tmp_path / "run")],
            cwd=cwd,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert "problem `my_quadratic_mod:make`" in _flat(done.stdout) and "3 planned trials" in done.stdout


def test_python_dash_m_shows_the_help_under_the_program_name() -> None:
    done = subprocess.run([sys.executable, "-m", "paretosweep", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "paretosweep [OPTIONS] COMMAND" in _flat(done.stdout) and "--debug" in done.stdout
