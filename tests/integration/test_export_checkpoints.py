"""`export` carries each chosen point's checkpoints and `export --copy-checkpoint` ships one, on a real tiny sweep."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

import paretosweep
from paretosweep.cli import app
from paretosweep.exports import to_csv, to_json
from paretosweep.results import RunStore, load_trials, resolve, retain_checkpoints
from tests.trainables_for_tests import TASKS, TwoTaskNet

pytestmark = [pytest.mark.slow, pytest.mark.ray]
runner = CliRunner()


@pytest.fixture(scope="module")
def seeded_run(local_ray: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 weight vectors x 2 seeds of the test trainable, 2 epochs, default retention (the frontier's checkpoints)."""
    run = tmp_path_factory.mktemp("export-ckpt") / "run"
    spec = {
        "name": "ckpt",
        "storage": str(run),
        "problem": {"trainable": "tests.trainables_for_tests:regression", "config": {"width": 6}},
        "tasks": TASKS,
        "budget": {"n_weights": 3, "seeds_per_weight": 2, "epochs": 2, "lr": 0.02},
        "reference_point": {"a_loss": 5.0, "b_acc": 0.0},
    }
    summary = paretosweep.run(spec)
    assert summary.completed == 6
    return run


@pytest.fixture()
def pruned_copy(seeded_run: Path, tmp_path: Path) -> Path:
    """A copy of the run whose checkpoints the real retention step then deleted (``keep: none``)."""
    copy = tmp_path / "pruned"
    shutil.copytree(seeded_run, copy)
    assert retain_checkpoints(RunStore(str(copy)).open(), "none") > 0
    return copy


def _model(saved: Any) -> TwoTaskNet:
    model = TwoTaskNet(6)
    model.load_state_dict(saved["model"])
    return model


def test_every_seed_trial_of_the_chosen_point_has_its_checkpoint_file(seeded_run: Path) -> None:
    [record] = paretosweep.export(str(seeded_run), pick="knee")
    trials = load_trials(seeded_run).set_index("trial_id")
    entries = record["checkpoints"]
    assert len(entries) == 2 and entries[0]["trial_id"] == record["trial_id"]  # the lowest seed stands for the point
    assert sorted(e["seed"] for e in entries) == sorted(int(trials.loc[e["trial_id"], "seed"]) for e in entries)
    assert len({e["seed"] for e in entries}) == 2
    for entry in entries:
        path = Path(entry["location"])
        assert entry["reason"] is None and path.is_absolute() and path.is_file()
        assert path.parent == seeded_run / trials.loc[entry["trial_id"], "checkpoint"]
        direct = torch.load(path, weights_only=False)["trainable"]
        via_api = paretosweep.load_checkpoint(seeded_run, entry["trial_id"])
        assert direct["epoch"] == 1 and torch.equal(direct["model"]["head_a.weight"], via_api["model"]["head_a.weight"])
        _model(direct)


def test_json_and_csv_carry_the_same_checkpoints(seeded_run: Path) -> None:
    records = paretosweep.export(str(seeded_run), pick="all")
    assert len(records) >= 2
    back = json.loads(to_json(records))
    assert [r["checkpoints"] for r in back] == [r["checkpoints"] for r in records]
    rows = list(csv.DictReader(io.StringIO(to_csv(records))))
    assert [json.loads(r["checkpoints"]) for r in rows] == [r["checkpoints"] for r in records]
    assert all(Path(e["location"]).is_file() for r in records for e in r["checkpoints"])


def test_a_uri_run_gives_uri_locations_that_open(seeded_run: Path) -> None:
    uri = seeded_run.as_uri()  # file:///...
    [record] = paretosweep.export(uri, pick="knee")
    for entry in record["checkpoints"]:
        assert entry["location"].startswith(uri + "/_tune/")
        fs, path = resolve(entry["location"])
        with fs.open_input_stream(path) as stream:
            assert torch.load(io.BytesIO(stream.read()), weights_only=False)["trainable"]["epoch"] == 1


def test_deleted_checkpoints_are_null_with_the_reason(pruned_copy: Path) -> None:
    [record] = paretosweep.export(str(pruned_copy), pick="knee")
    assert len(record["checkpoints"]) == 2
    for entry in record["checkpoints"]:
        assert entry["location"] is None and "checkpoints: {keep: all}" in entry["reason"]
    assert "kept no checkpoint" in next(csv.DictReader(io.StringIO(to_csv([record]))))["checkpoints"]


def test_cli_copies_the_chosen_checkpoint_and_it_loads(seeded_run: Path, tmp_path: Path) -> None:
    dest = tmp_path / "ship" / "model.pt"
    result = runner.invoke(app, ["export", str(seeded_run), "--copy-checkpoint", str(dest)])
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.stdout)  # stdout stays the export alone
    assert f"Copied the checkpoint of trial {record['trial_id']} to {dest}" in " ".join(result.stderr.split())
    saved = torch.load(dest)  # what the trainable reported, without the trial's counters stored beside it
    assert set(saved) == {"model", "optimizer", "epoch"} and saved["epoch"] == 1
    original = paretosweep.load_checkpoint(seeded_run, record["trial_id"])
    model = _model(saved)
    assert torch.equal(model.trunk[0].weight, original["model"]["trunk.0.weight"])


def test_cli_copies_several_chosen_points_into_a_folder(seeded_run: Path, tmp_path: Path) -> None:
    dest = tmp_path / "points"
    out = tmp_path / "chosen.csv"
    result = runner.invoke(
        app, ["export", str(seeded_run), "--pick", "extremes", "--format", "csv", "-o", str(out), "--copy-checkpoint", str(dest)]
    )
    assert result.exit_code == 0, result.output
    ids = {row["trial_id"] for row in csv.DictReader(out.open())}
    assert {p.name for p in dest.iterdir()} == {f"{t}.pt" for t in ids}
    for t in ids:
        assert torch.load(dest / f"{t}.pt")["epoch"] == 1


def test_cli_copy_without_a_checkpoint_fails_and_names_the_fix(pruned_copy: Path, tmp_path: Path) -> None:
    dest = tmp_path / "model.pt"
    result = runner.invoke(app, ["export", str(pruned_copy), "--copy-checkpoint", str(dest)])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "Cannot copy the chosen point's checkpoint" in message and "checkpoints: {keep: all}" in message
    assert not dest.exists() and result.stdout == ""
