"""``callbacks: [mlflow, tensorboard, wandb]`` on a real sweep, read back from each tracker's own files."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import paretosweep
from tests.trainables_for_tests import TASKS

OBJECTIVES = ("a_loss", "b_acc")


def sweep(tmp_path: Path, callbacks: list[Any], *, n_weights: int = 3) -> dict[str, Any]:
    return {
        "name": "tracked",
        "storage": str(tmp_path / "run"),
        "tasks": TASKS,
        "problem": {"trainable": "tests.trainables_for_tests:regression"},
        "budget": {"n_weights": n_weights, "epochs": 2, "lr": 0.02},
        "reference_point": {"a_loss": 5.0, "b_acc": 0.0},
        "callbacks": callbacks,
    }


def stored_histories(run: Path) -> dict[str, list[dict[str, float]]]:
    """``trial_id -> [{epoch, a_loss, b_acc, ...}]`` from ``trials.parquet``: what each tracker must show."""
    trials = paretosweep.load_trials(run)
    assert set(trials["status"]) == {"completed"}
    return {row.trial_id: json.loads(row.history) for row in trials.itertuples()}


def tfrecords(path: Path) -> Iterator[bytes]:
    """The records of a TFRecord file (an event file): ``u64 length, u32 crc, data, u32 crc`` each."""
    data = path.read_bytes()
    at = 0
    while at < len(data):
        (n,) = struct.unpack("<Q", data[at : at + 8])
        yield data[at + 12 : at + 12 + n]
        at += 12 + n + 4


def tensorboard_scalars(trial_dir: Path) -> dict[str, dict[int, float]]:
    """``tag -> {step: value}`` of every scalar in a trial directory's event files (tensorboardX's protobuf)."""
    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, dict[int, float]] = {}
    for path in trial_dir.glob("events.out.tfevents.*"):
        for record in tfrecords(path):
            event = Event.FromString(record)
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def wandb_records(path: Path) -> Iterator[Any]:
    """The protobuf records of an offline W&B run file (``run-<id>.wandb``).

    The file is a ``:W&B`` header (7 bytes) then LevelDB-log blocks of 32 KiB, each record a
    7-byte header (crc32 u32, length u16, type u8: 1 full, 2 first, 3 middle, 4 last) and its data.
    """
    from wandb.proto.wandb_internal_pb2 import Record  # type: ignore[attr-defined]  # generated, no stubs

    block, data = 32768, path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    at, pending = 7, b""
    while at + 7 <= len(data):
        if block - at % block < 7:  # a block's tail too short for a header is padding
            at += block - at % block
            continue
        _, n, kind = struct.unpack("<IHB", data[at : at + 7])
        chunk, at = data[at + 7 : at + 7 + n], at + 7 + n
        if kind == 0:
            break
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            yield Record.FromString(pending)
            pending = b""


def item_key(item: Any) -> str:
    """A W&B history item's key (``key``, or ``nested_key`` parts joined by ``/``)."""
    return str(item.key or "/".join(item.nested_key))


def assert_same_history(seen: dict[int, float], history: list[dict[str, float]], column: str, *, rel: float) -> None:
    assert seen == {h["epoch"]: pytest.approx(h[column], rel=rel) for h in history}, column


@pytest.mark.slow
@pytest.mark.usefixtures("local_ray")
def test_mlflow_and_tensorboard_hold_every_trials_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory
    run = tmp_path / "run"
    summary = paretosweep.run(sweep(tmp_path, ["mlflow", "tensorboard"]))
    histories = stored_histories(run)
    assert summary.completed == 3 and len(histories) == 3
    assert all(len(h) == 2 for h in histories.values())

    client = MlflowClient(tracking_uri=f"sqlite:///{run / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tracked")
    assert experiment is not None and experiment.artifact_location == (run / "mlartifacts").as_uri()
    runs = client.search_runs([experiment.experiment_id])
    by_trial = {r.data.params["trial/trial_id"]: r for r in runs}
    assert set(by_trial) == set(histories)
    for trial_id, history in histories.items():
        mlflow_run = by_trial[trial_id]
        assert mlflow_run.info.status == "FINISHED"
        for column in (*OBJECTIVES, "b_loss"):
            steps = {m.step: m.value for m in client.get_metric_history(mlflow_run.info.run_id, column)}
            assert_same_history(steps, history, column, rel=1e-12)

    trial_dirs = {p.name: p for p in run.glob("_tune/*/*") if p.is_dir()}
    assert set(trial_dirs) == set(histories)
    for trial_id, history in histories.items():
        scalars = tensorboard_scalars(trial_dirs[trial_id])
        for column in OBJECTIVES:
            assert_same_history(scalars[f"ray/tune/{column}"], history, column, rel=1e-6)  # float32 on disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.slow
@pytest.mark.usefixtures("local_ray")
def test_wandb_offline_writes_one_run_per_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wandb_dir = tmp_path / "wandb"
    wandb_dir.mkdir()
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(wandb_dir))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    summary = paretosweep.run(sweep(tmp_path, ["wandb"], n_weights=2))
    histories = stored_histories(tmp_path / "run")
    assert summary.completed == 2

    run_files = sorted(wandb_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(run_files) == 2
    seen: dict[str, list[dict[str, Any]]] = {}
    for path in run_files:
        records = list(wandb_records(path))
        (run_record,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        assert run_record.project == "tracked"
        config = {item.key: json.loads(item.value_json) for item in run_record.config.update}
        rows = [
            {item_key(i): json.loads(i.value_json) for i in r.history.item} for r in records if r.WhichOneof("record_type") == "history"
        ]
        assert not any("paretosweep_row" in row for row in rows)  # the stored row is not a metric
        seen[config["trial"]["trial_id"]] = [row for row in rows if "epoch" in row]
    assert set(seen) == set(histories)
    for trial_id, history in histories.items():
        for column in OBJECTIVES:
            assert_same_history({row["epoch"]: row[column] for row in seen[trial_id]}, history, column, rel=1e-12)


@pytest.mark.parametrize(
    ("callbacks", "message"),
    [
        (["mlfow"], "`callbacks.0.name`: Input should be 'mlflow', 'tensorboard' or 'wandb' (found 'mlfow')"),
        ([{"name": "tensorboard", "logdir": "tb"}], "`callbacks[0]` (tensorboard) has no option ['logdir']"),
        (["tensorboard", {"name": "mlflow", "uri": "x"}], "`callbacks[1]` (mlflow) has no option ['uri']"),
        ([{"name": "mlflow", "tracking_uri": "file:///tmp/mlruns"}], "is an MLflow file store, which this MLflow refuses"),
        ([{"name": "wandb", "api_key": "secret"}], "credentials do not belong in a spec"),
        ([{"name": "wandb", "mode": "offline", "projekt": "p"}], "`callbacks[0]` (wandb) has no option ['projekt']"),
        (["wandb"], "`callbacks[0]: wandb` found no W&B credentials"),
    ],
)
def test_bad_callbacks_are_refused_before_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, callbacks: list[Any], message: str) -> None:
    for variable in ("WANDB_API_KEY", "WANDB_MODE", "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc from `wandb login`
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with pytest.raises(paretosweep.ConfigError) as raised:
        paretosweep.run(sweep(tmp_path, callbacks))
    assert message in str(raised.value)
    assert not (tmp_path / "run").exists()  # refused before the run directory and Ray


def test_wandb_offline_from_the_spec_alone_needs_no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paretosweep.config import SweepSpec
    from paretosweep.sweep._callbacks import tracking_callbacks

    for variable in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    spec = SweepSpec.model_validate(sweep(tmp_path, [{"name": "wandb", "mode": "offline", "dir": "relative"}]))
    (callback,) = tracking_callbacks(spec)
    callback.setup()  # Ray's own setup raises "No WandB API key found" unless the mode is lent to it
    assert callback.kwargs == {"mode": "offline", "dir": str(Path("relative").resolve())}
    assert "WANDB_MODE" not in os.environ
