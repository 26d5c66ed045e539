"""Runs compared on one shared reference point: the CLI's `hypervolume` and the dashboard's summary line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretosweep import api
from paretosweep.cli import app
from paretosweep.frontier import hypervolume
from tests.unit.results._rows import new_run, row

DIRS = ("min", "max")

runner = CliRunner()


def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    store = new_run(a, reference_point=[2.0, 0.2])
    store.ingest([row("a1", 1.0, 0.5), row("a2", 0.5, 0.3)])
    store.write()
    store = new_run(b, reference_point=[3.0, 0.4])
    store.ingest([row("b1", 1.5, 0.9)])
    store.write()
    return a, b


def test_each_run_is_measured_at_its_own_and_at_the_shared_point(tmp_path: Path) -> None:
    a, b = two_runs(tmp_path)
    shared, table = api.compare_runs([str(a), str(b)])
    assert shared == [3.0, 0.2]  # per objective the worst: left_loss is min, right_acc is max
    own = table.set_index("run")["hypervolume"]
    at_shared = table.set_index("run")["hypervolume_shared"]
    assert own[str(a)] == pytest.approx(hypervolume([[1.0, 0.5], [0.5, 0.3]], reference_point=[2.0, 0.2], directions=DIRS))
    assert at_shared[str(a)] == pytest.approx(hypervolume([[1.0, 0.5], [0.5, 0.3]], reference_point=shared, directions=DIRS))
    assert at_shared[str(b)] == pytest.approx(hypervolume([[1.5, 0.9]], reference_point=shared, directions=DIRS))
    assert own[str(b)] != pytest.approx(at_shared[str(b)])


def test_the_cli_prints_the_shared_point(tmp_path: Path) -> None:
    a, b = two_runs(tmp_path)
    result = runner.invoke(app, ["hypervolume", str(a), str(b)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "shared reference point [3.0, 0.2]" in text


def test_runs_with_other_objectives_are_refused(tmp_path: Path) -> None:
    from paretosweep.results import Objective, RunStore

    a, _ = two_runs(tmp_path)
    other = RunStore(tmp_path / "c").create(
        objectives=[Objective("x", "x_loss", "min")], tasks=["x"], metric_columns=["x_loss"], reference_point=[1.0], spec={}
    )
    other.ingest([{"trial_id": "c1", "status": "completed", "kind": "scalarization", "x_loss": 0.5}])
    other.write()
    result = runner.invoke(app, ["hypervolume", str(a), str(tmp_path / "c")])
    assert result.exit_code == 2 and "share their objectives" in " ".join(result.output.split())


def test_the_dashboard_summary_uses_the_shared_point_when_runs_sit_side_by_side(tmp_path: Path) -> None:
    from paretosweep.dashboard._data import RunRegistry
    from paretosweep.dashboard._layout import summary_text

    a, b = two_runs(tmp_path)
    registry = RunRegistry([str(a), str(b)])
    shared = registry.shared_reference()
    assert shared == (3.0, 0.2)
    run_a = registry.get(0)[0]
    assert run_a is not None and run_a.reference_point == (2.0, 0.2)
    line = summary_text(run_a, shared)
    expected = hypervolume([[1.0, 0.5], [0.5, 0.3]], reference_point=shared, directions=DIRS)
    assert f"hypervolume {expected:.6g} at the shared reference point [3.0, 0.2]" in line
    alone = RunRegistry([str(a)])
    assert alone.shared_reference() is None
    assert "at the reference point [2.0, 0.2]" in summary_text(run_a, alone.shared_reference())
