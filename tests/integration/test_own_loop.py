"""The user's own training loop on a local Ray: YAML and Python trainables, checkpoints, retries, bad trainables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import paretosweep
from paretosweep.results import read_trial_log
from tests.trainables_for_tests import TASKS, TwoTaskNet

pytestmark = pytest.mark.usefixtures("local_ray")
ROOT = Path(__file__).resolve().parents[2]


def sweep(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "own",
        "storage": str(tmp_path / "run"),
        "tasks": TASKS,
        "budget": {"n_weights": 3, "epochs": 2, "lr": 0.02},
        "reference_point": {"a_loss": 5.0, "b_acc": 0.0},
        **extra,
    }


def test_a_yaml_trainable_sweeps_with_checkpoints_and_keeps_the_frontiers(tmp_path: Path) -> None:
    spec = sweep(
        tmp_path,
        problem={"trainable": "tests.trainables_for_tests:regression", "config": {"width": 6}},
        methods=[{"name": "pcgrad"}, {"name": "mgda", "upper_bound": False}],
    )
    summary = paretosweep.run(spec)
    run = tmp_path / "run"
    trials = paretosweep.load_trials(run)
    assert summary.completed == 5 and set(trials["status"]) == {"completed"}
    assert set(trials["epochs_done"]) == {2}
    assert all(len(json.loads(h)) == 2 for h in trials["history"])
    frontier = paretosweep.load_frontier(run)
    on_front = {str(t) for ids in frontier["seed_trial_ids"] for t in ids}
    for row in trials.itertuples():
        if row.trial_id in on_front:  # default retention: the frontier's checkpoints stay, loadable into the model
            saved = paretosweep.load_checkpoint(run, row.trial_id)
            assert saved["epoch"] == 1
            model = TwoTaskNet(6)
            model.load_state_dict(saved["model"])
            assert (run / row.checkpoint).is_dir()
        else:
            assert row.checkpoint is None or row.checkpoint != row.checkpoint  # null: deleted at the end
            with pytest.raises(paretosweep.RunDirectoryError, match="keep: all"):
                paretosweep.load_checkpoint(run, row.trial_id)
    kept_dirs = {p.parent for p in run.glob("_tune/*/*/checkpoint_*/checkpoint.pt")}
    assert len(kept_dirs) == len(on_front & set(trials["trial_id"]))


def test_a_python_function_defined_here_trains_and_a_crash_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    from tests.trainables_for_tests import regression

    marker = tmp_path / "markers"
    marker.mkdir()
    seen: list[str] = []

    def train(ctx: Any) -> None:  # a closure: Ray pickles it by value, as from a notebook
        seen.append(ctx.trial_id)
        regression(ctx)

    spec = sweep(
        tmp_path,
        problem={"config": {"fail_once_at": 1, "marker_dir": str(marker)}},
        budget={"n_weights": 2, "epochs": 3, "lr": 0.02},
        max_retries=1,
        checkpoints={"keep": "all"},
    )
    summary = paretosweep.run(spec, trainable=train)
    trials = paretosweep.load_trials(tmp_path / "run")
    assert summary.completed == 2
    for row in trials.itertuples():
        assert json.loads(row.hparams)["attempts"] == 2
        assert (marker / f"{row.trial_id}.failed").read_text() == "False"  # the crash came before any restore
        assert [h["epoch"] for h in json.loads(row.history)] == [1, 2, 3]  # epoch 1 kept, 2 and 3 after the retry
        assert paretosweep.load_checkpoint(tmp_path / "run", row.trial_id)["epoch"] == 2


def test_bad_trainables_fail_their_trial_with_a_message_and_the_sweep_goes_on(tmp_path: Path) -> None:
    spec = sweep(
        tmp_path,
        problem={"trainable": "tests.trainables_for_tests:misbehaving"},
        budget={"epochs": 1},
        sampler={"name": "explicit", "weights": [[w, 1 - w] for w in (0.0, 0.25, 0.5, 0.75, 1.0)]},
        max_retries=1,
    )
    summary = paretosweep.run(spec)
    run = tmp_path / "run"
    trials = paretosweep.load_trials(run).set_index("trial_id")
    by_w = {round(float(w[0]), 2): row for w, (_, row) in zip(trials["weights"], trials.iterrows(), strict=True)}
    assert summary.completed == 1 and by_w[0.5]["status"] == "completed"
    assert by_w[0.0]["error"].startswith("ValueError: the user's code broke") and "(failed 2 attempts)" in by_w[0.0]["error"]
    assert "returned without calling ctx.report" in by_w[0.25]["error"]
    assert "without the objective column(s) ['b_acc']" in by_w[0.75]["error"]
    assert "unknown ['typo']" in by_w[1.0]["error"] and "tests.trainables_for_tests:misbehaving" in by_w[1.0]["error"]
    for w in (0.25, 0.75, 1.0):  # misuse of the context is not retried: the same code would fail again
        assert json.loads(by_w[w]["hparams"])["attempts"] == 1
    failed_id = next(t for t, row in trials.iterrows() if row["error"] and "user's code broke" in row["error"])
    log = read_trial_log(run, failed_id)
    assert "Traceback" in log and "misbehaving" in log and "ValueError: the user's code broke" in log
    shown = subprocess.run(
        [sys.executable, "-m", "paretosweep", "logs", str(run), "--trial", failed_id], capture_output=True, text=True, cwd=ROOT
    )
    assert shown.returncode == 0 and "ValueError: the user's code broke" in shown.stdout


def test_built_in_problems_checkpoint_through_the_same_path(tmp_path: Path) -> None:
    spec = {
        "name": "builtin",
        "storage": str(tmp_path / "run"),
        "problem": {"name": "multimnist", "params": {"n_train": 256, "n_test": 128}},
        "budget": {"n_weights": 2, "epochs": 1, "steps_per_epoch": 3},
        "checkpoints": {"keep": "all"},
    }
    paretosweep.run(spec)
    trials = paretosweep.load_trials(tmp_path / "run")
    assert set(trials["status"]) == {"completed"}
    from paretosweep.problems import make_problem

    problem = make_problem("multimnist", {"n_train": 256, "n_test": 128})
    for trial_id in trials["trial_id"]:
        saved = paretosweep.load_checkpoint(tmp_path / "run", trial_id)
        assert set(saved) == {"model", "optimizer", "epoch", "generator"} and saved["epoch"] == 0
        model = problem.make_model(seed=0)
        model.load_state_dict(saved["model"])
        assert isinstance(saved["generator"], torch.Tensor)


def test_a_trainable_that_cannot_be_imported_or_called_is_refused_before_ray(tmp_path: Path) -> None:
    for trainable, message in (
        ("tests.no_such_module:train", "could not be imported"),
        ("tests.trainables_for_tests:nothing_here", "has no attribute `nothing_here`"),
        ("tests.trainables_for_tests:not_a_trainable", "cannot be called as `train(ctx)`"),
    ):
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(sweep(tmp_path, problem={"trainable": trainable})))
        done = subprocess.run([sys.executable, "-m", "paretosweep", "run", str(path)], capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 2, done.stdout + done.stderr  # a bad spec
        assert message in done.stdout + done.stderr and "problem.trainable" in done.stdout + done.stderr
        assert not (tmp_path / "run").exists()


def test_a_trial_whose_worker_dies_keeps_its_last_checkpoint(tmp_path: Path) -> None:
    spec = sweep(
        tmp_path,
        problem={"trainable": "tests.trainables_for_tests:dies_after_a_checkpoint"},
        budget={"n_weights": 2, "epochs": 2},
        checkpoints={"keep": "all"},
    )
    summary = paretosweep.run(spec)
    trials = paretosweep.load_trials(tmp_path / "run")
    assert summary.completed == 0 and set(trials["status"]) == {"failed"}
    for trial_id in trials["trial_id"]:  # the row Tune's error handler records still points at the checkpoint
        assert paretosweep.load_checkpoint(tmp_path / "run", trial_id)["epoch"] == 0


def test_checkpoints_go_to_a_pyarrow_uri_storage_and_load_back_from_it(tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/run"  # a pyarrow filesystem URI (the one scheme that needs no service offline)
    spec = {**sweep(tmp_path, problem={"trainable": "tests.trainables_for_tests:regression"}), "storage": uri}
    spec["budget"] = {"n_weights": 2, "epochs": 2, "lr": 0.02}
    spec["checkpoints"] = {"keep": "all"}
    paretosweep.run(spec)
    trials = paretosweep.load_trials(uri)
    assert set(trials["status"]) == {"completed"}
    for row in trials.itertuples():
        assert row.checkpoint.startswith("_tune/") and (tmp_path / "run" / row.checkpoint / "checkpoint.pt").is_file()
        assert paretosweep.load_checkpoint(uri, row.trial_id)["epoch"] == 1


@pytest.mark.slow
def test_verbose_streams_the_trials_output_to_the_console_and_the_default_does_not(tmp_path: Path) -> None:
    outputs = {}
    for flag in ("--verbose", None):
        spec = sweep(tmp_path / str(flag), problem={"trainable": "tests.trainables_for_tests:chatty"}, budget={"n_weights": 2, "epochs": 1})
        path = tmp_path / f"spec{flag}.yaml"
        path.write_text(yaml.safe_dump(spec))
        args = [sys.executable, "-m", "paretosweep", "run", str(path), *([flag] if flag else [])]
        done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        outputs[flag] = done.stdout + done.stderr
    assert outputs["--verbose"].count("hello from inside trial") == 2
    assert "hello from inside trial" not in outputs[None]
