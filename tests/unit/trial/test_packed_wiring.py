"""Packed trials in the sweep, without Ray workers: spec, searcher, recorder."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from paretosweep.config import SweepSpec
from paretosweep.planning import build_plan
from paretosweep.sweep._driver import open_store, searcher_for
from paretosweep.sweep._recorder import SweepRecorder, SweepStatus
from paretosweep.sweep._trainable import ROW_KEY, outcome_row, pack_id, trial_hparams
from paretosweep.trial import train_packed


def _spec(tmp_path: Path, pack_size: Any, n_weights: int = 6) -> SweepSpec:
    return SweepSpec.model_validate(
        {
            "problem": {"name": "fonseca", "params": {"steps_per_epoch": 5}},
            "sampler": {"name": "das_dennis"},
            "budget": {"n_weights": n_weights, "epochs": 1, "pack_size": pack_size},
            "storage": str(tmp_path / "run"),
        }
    )


@pytest.mark.parametrize("bad", [0, -3, "big"])
def test_pack_size_is_validated(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(ValueError, match="pack_size"):
        _spec(tmp_path, bad)


def test_pack_size_does_not_change_trial_ids(tmp_path: Path) -> None:
    one = build_plan(_spec(tmp_path, 1))
    four = build_plan(_spec(tmp_path, 4))
    assert [t.trial_id for t in one.trials] == [t.trial_id for t in four.trials]


@pytest.mark.parametrize(("pack_size", "expected"), [(1, [1] * 6), (4, [4, 2]), ("auto", [6])])
def test_a_static_design_goes_out_in_packs(tmp_path: Path, pack_size: Any, expected: list[int]) -> None:
    plan = build_plan(_spec(tmp_path, pack_size))
    searcher, num_samples = searcher_for(plan.spec, plan)
    assert num_samples == 6  # an upper bound on Tune trials: packs need fewer
    sizes = []
    for i in range(len(expected)):
        config = searcher.suggest(f"t{i}")
        assert isinstance(config, dict)
        sizes.append(len(config["pack"]) if "pack" in config else 1)
        if "trial" in config:
            assert config["trial"]["kind"] == "scalarization"
    assert sizes == expected
    assert searcher.suggest("extra") == "FINISHED"


def test_recorder_ingests_every_row_of_a_pack(tmp_path: Path) -> None:
    spec = _spec(tmp_path, 4, n_weights=4)
    plan = build_plan(spec)
    store = open_store(plan, spec.run_dir, resume=False)
    status = SweepStatus(planned=len(plan.trials))
    recorder = SweepRecorder(store, status)
    trials = list(plan.trials)
    from paretosweep.problems import make_problem

    outcomes = train_packed(make_problem("fonseca", {"steps_per_epoch": 5}), trials, spec, device=torch.device("cpu"))
    rows = []
    for trial, outcome in zip(trials, outcomes, strict=True):
        hparams = {**trial_hparams(spec, trial), "pack_id": pack_id(trials), "pack_size": len(trials)}
        rows.append(outcome_row(trial, outcome, started_at=0.0, epochs=1, node="n", device="cpu", hparams=hparams))
    recorder.on_trial_result(1, [], SimpleNamespace(), {ROW_KEY: json.dumps(rows)})
    recorder.on_trial_result(1, [], SimpleNamespace(), {ROW_KEY: json.dumps(rows)})  # idempotent
    recorder.on_experiment_end([])
    stored = store.read_trials()
    assert sorted(stored["trial_id"]) == sorted(t.trial_id for t in trials)
    assert status.done == 4 and status.failed == 0
    assert {json.loads(h)["pack_id"] for h in stored["hparams"]} == {pack_id(trials)}


def test_recorder_fails_every_member_of_a_lost_pack(tmp_path: Path) -> None:
    spec = _spec(tmp_path, 4, n_weights=4)
    plan = build_plan(spec)
    store = open_store(plan, spec.run_dir, resume=False)
    status = SweepStatus(planned=len(plan.trials))
    recorder = SweepRecorder(store, status)
    lost = SimpleNamespace(
        config={"pack": [t.to_dict() for t in plan.trials]},
        get_pickled_error=lambda: RuntimeError("worker died"),
        get_error=lambda: None,
    )
    recorder.on_trial_error(1, [], lost)
    recorder.on_experiment_end([])
    stored = store.read_trials()
    assert len(stored) == 4 and (stored["status"] == "failed").all()
    assert stored["error"].str.contains("worker died").all()


class _Clock:
    """A monotonic clock the test moves by hand (``time.monotonic`` of the recorder)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_recorder_writes_a_pack_once_and_paces_costly_rewrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One write per packed result (not one per 8 rows); a rewrite that took 1 s waits pace x 1 s before the next."""
    from paretosweep.sweep import _recorder

    clock = _Clock()
    monkeypatch.setattr(_recorder.time, "monotonic", clock)
    spec = _spec(tmp_path, 1, n_weights=40)
    plan = build_plan(spec)
    store = open_store(plan, spec.run_dir, resume=False)
    real_write = store.write

    def slow_write(**kwargs: Any) -> dict[str, Any]:
        clock.now += 1.0  # this rewrite costs one second
        return real_write(**kwargs)

    monkeypatch.setattr(store, "write", slow_write)
    recorder = SweepRecorder(store, SweepStatus(planned=len(plan.trials)), flush_every=2, flush_seconds=60.0, pace=10.0)
    rows = [
        {
            "trial_id": t.trial_id,
            "status": "completed",
            "kind": "scalarization",
            "weights": list(t.weights),
            "f1_loss": 1.0 - i / 40,
            "f2_loss": i / 40,
        }
        for i, t in enumerate(plan.trials)
    ]

    recorder.on_trial_result(1, [], SimpleNamespace(), {ROW_KEY: json.dumps(rows[:16])})  # a pack of 16
    assert recorder.flushes == 1 and len(store.read_trials()) == 16
    for row in rows[16:24]:  # 8 single results within 10 x 1 s of that rewrite: held back
        clock.now += 0.5
        recorder.on_trial_result(1, [], SimpleNamespace(), {ROW_KEY: json.dumps(row)})
    assert recorder.flushes == 1 and len(store.read_trials()) == 16 and recorder.status.done == 24
    recorder.on_step_end(1, [])  # Tune's loop between results: still not due
    assert recorder.flushes == 1
    clock.now += 6.0  # 10 s since the last rewrite ended: due, written without waiting for another result
    recorder.on_step_end(1, [])
    assert recorder.flushes == 2 and len(store.read_trials()) == 24
    recorder.on_step_end(1, [])  # nothing new: nothing written
    assert recorder.flushes == 2
    recorder.on_trial_result(1, [], SimpleNamespace(), {ROW_KEY: json.dumps(rows[24])})  # 1 row < flush_every
    assert recorder.flushes == 2 and len(store.read_trials()) == 24
    clock.now += 61.0  # rows never wait longer than flush_seconds, however costly the rewrite
    recorder.on_trial_result(1, [], SimpleNamespace(), {ROW_KEY: json.dumps(rows[25])})
    assert recorder.flushes == 3 and len(store.read_trials()) == 26
    recorder.on_experiment_end([])
    assert list(store.read_progress().trials_done) == [16, 24, 26]
