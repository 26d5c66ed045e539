"""pareto_asha: the rungs, the rung decision (non-dominated rank, then crowding), the Tune scheduler,
and how a stopped trial's row reaches the store and the sampler. No Ray cluster: fake Tune trials."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from ray.tune.schedulers import TrialScheduler

from paretosweep.api import as_spec
from paretosweep.planning import TrialConfig
from paretosweep.sampling import StaticSampler
from paretosweep.sweep._pareto_asha import ParetoASHA, promotion_order, report_count_note, rung_decision, rung_epochs, scheduler_for
from paretosweep.sweep._recorder import SweepRecorder, SweepStatus
from paretosweep.sweep._sampler_searcher import SamplerSearcher, WeightTrials
from paretosweep.sweep._trainable import ROW_KEY, SO_FAR_KEY, stopped_row
from tests.unit.results._rows import new_run, row

CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP
OBJECTIVES = [("a_loss", "min"), ("b_acc", "max")]


# -- rungs ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("grace", "eta", "epochs", "expected"),
    [(1, 3, 27, (1, 3, 9)), (1, 2, 4, (1, 2)), (2, 3, 10, (2, 6)), (1, 3, 3, (1,)), (3, 2, 4, (3,)), (1, 1.5, 5, (1, 2, 3, 4))],
)
def test_rungs_are_grace_times_powers_of_eta_below_the_budget(grace: int, eta: float, epochs: int, expected: tuple[int, ...]) -> None:
    assert rung_epochs(grace, eta, epochs) == expected


def test_rungs_refuse_a_factor_that_does_not_halve() -> None:
    with pytest.raises(ValueError, match="reduction_factor > 1"):
        rung_epochs(1, 1.0, 4)


# -- the decision -------------------------------------------------------------------------
def test_promotion_order_is_rank_then_crowding_within_the_front() -> None:
    points = np.array([[0.0, 3.0], [1.0, 2.0], [3.0, 0.0], [2.0, 2.5], [1.5, 1.5]])
    ranks, crowd = promotion_order(points)
    assert ranks.tolist() == [0, 0, 0, 1, 0]
    # front 0 sorted on objective 1: (0,3) (1,2) (1.5,1.5) (3,0): ends inf; (1,2): 1.5/3 + 1.5/3; (1.5,1.5): 2/3 + 2/3
    assert np.isinf(crowd[[0, 2]]).all() and crowd[1] == pytest.approx(1.0) and crowd[4] == pytest.approx(4 / 3)
    assert np.isinf(crowd[3])  # alone in its front


def test_a_rung_with_fewer_than_eta_trials_lets_even_a_dominated_one_go_on() -> None:
    assert rung_decision(np.array([[1.0, 1.0]]), np.array([5.0, 5.0]), reduction_factor=3)
    assert rung_decision(np.zeros((0, 2)), np.array([5.0, 5.0]), reduction_factor=2)


def test_a_dominated_trial_stops_and_a_dominating_one_goes_on() -> None:
    recorded = np.array([[1.0, 1.0]])
    assert not rung_decision(recorded, np.array([2.0, 1.0]), reduction_factor=2)
    assert rung_decision(recorded, np.array([0.5, 1.0]), reduction_factor=2)


def test_mutually_non_dominated_trials_are_split_by_crowding_and_ties_go_on() -> None:
    # two points: both ends of their front (crowding inf), a tie: the newcomer goes on
    assert rung_decision(np.array([[0.0, 1.0]]), np.array([1.0, 0.0]), reduction_factor=2)
    ends = np.array([[0.0, 3.0], [3.0, 0.0], [1.0, 2.0]])
    # n = 4, keep 2: (1.1, 1.9) is behind both ends (inf) though ahead of (1, 2): it stops
    assert not rung_decision(ends, np.array([1.1, 1.9]), reduction_factor=2)
    # a new end of the front is never behind anyone
    assert rung_decision(ends, np.array([-1.0, 4.0]), reduction_factor=2)
    # eta 4/3: keep floor(4 / (4/3)) = 3, two ahead of it: it goes on
    assert rung_decision(ends, np.array([1.1, 1.9]), reduction_factor=4 / 3)


def test_top_fraction_is_floor_of_n_over_eta() -> None:
    recorded = np.array([[float(i), float(i)] for i in range(8)])  # a chain: rank = position
    for value, n_ahead in ((3.5, 4), (2.5, 3), (0.5, 1)):
        # n = 9, eta 3: keep 3, so it goes on with at most 2 ahead
        assert rung_decision(recorded, np.array([value, value]), reduction_factor=3) == (n_ahead < 3)


# -- the Tune scheduler -------------------------------------------------------------------
def trial(trial_id: str, kind: str = "scalarization") -> Any:
    return SimpleNamespace(config={"trial": {"trial_id": trial_id, "kind": kind}})


def report(epoch: int, a_loss: float, b_acc: float, **extra: Any) -> dict[str, Any]:
    return {"epoch": epoch, "a_loss": a_loss, "b_acc": b_acc, "trial_status": "running", **extra}


def test_the_scheduler_stops_at_rungs_only_on_the_spec_objectives_and_directions() -> None:
    scheduler = ParetoASHA(OBJECTIVES, max_epochs=4, grace_epochs=1, reduction_factor=2)
    assert scheduler.rungs == (1, 2)
    good, bad = trial("good"), trial("bad")
    assert scheduler.on_trial_result(None, good, report(1, 0.5, 0.9)) == CONTINUE  # alone at the rung
    assert scheduler.on_trial_result(None, bad, report(1, 0.6, 0.8)) == STOP  # dominated: more loss, less accuracy
    assert scheduler.stopped == {"bad": 1}
    # higher accuracy is better: (0.6, 0.95) trades off against (0.5, 0.9) and goes on
    assert scheduler.on_trial_result(None, trial("trade"), report(1, 0.6, 0.95)) == CONTINUE
    assert scheduler.on_trial_result(None, good, report(3, 9.0, 0.0)) == CONTINUE  # epoch 3 is no rung
    assert scheduler.on_trial_result(None, good, {ROW_KEY: "{}", "trial_status": "completed"}) == CONTINUE  # the final row
    assert set(scheduler.recorded[1]) == {"good", "bad", "trade"} and not scheduler.recorded[2]


def test_method_trials_always_train_their_budget() -> None:
    scheduler = ParetoASHA(OBJECTIVES, max_epochs=4, grace_epochs=1, reduction_factor=2)
    scheduler.on_trial_result(None, trial("good"), report(1, 0.1, 0.99))
    assert scheduler.on_trial_result(None, trial("m", kind="method"), report(1, 5.0, 0.1)) == CONTINUE
    assert "m" not in scheduler.recorded[1]


def test_a_trial_is_decided_once_per_rung() -> None:
    scheduler = ParetoASHA(OBJECTIVES, max_epochs=4, grace_epochs=1, reduction_factor=2)
    scheduler.on_trial_result(None, trial("good"), report(1, 0.1, 0.99))
    retried = trial("bad")
    assert scheduler.on_trial_result(None, retried, report(1, 0.5, 0.5)) == STOP
    assert scheduler.on_trial_result(None, retried, report(1, 0.5, 0.5)) == CONTINUE  # already recorded there
    assert len(scheduler.recorded[1]) == 2


def test_stored_histories_seed_the_rungs_for_a_resumed_sweep() -> None:
    history = json.dumps([{"epoch": 1, "a_loss": 0.1, "b_acc": 0.9}, {"epoch": 2, "a_loss": 0.05, "b_acc": 0.95}])
    stored = [
        {"trial_id": "old", "kind": "scalarization", "history": history},
        {"trial_id": "m-old", "kind": "method", "history": history},
        {"trial_id": "lost", "kind": "scalarization", "history": None},
    ]
    spec = as_spec({"problem": {"name": "fonseca"}, "budget": {"epochs": 4}, "scheduler": {"name": "pareto_asha", "reduction_factor": 2}})
    scheduler = scheduler_for(spec.scheduler, OBJECTIVES, max_epochs=spec.budget.epochs, stored=stored)
    assert scheduler is not None and set(scheduler.recorded[1]) == {"old"} and set(scheduler.recorded[2]) == {"old"}
    assert scheduler.on_trial_result(None, trial("new"), report(1, 0.2, 0.8)) == STOP
    assert scheduler_for(None, OBJECTIVES, max_epochs=4) is None


def test_a_trainable_that_reports_fewer_epochs_than_the_budget_is_flagged() -> None:
    rows = [{"status": "completed", "epochs_done": 1}, {"status": "stopped", "epochs_done": 1}, {"status": "failed", "epochs_done": None}]
    note = report_count_note(rows, epochs=4, rungs=(1, 2))
    assert note is not None and "at most 1 time(s)" in note and "`budget.epochs` is 4" in note and "once per epoch" in note
    assert "no trial reached a rung" in (report_count_note(rows, epochs=4, rungs=(2, 3)) or "")
    assert report_count_note([{"status": "completed", "epochs_done": 4}, *rows], epochs=4, rungs=(1, 2)) is None
    assert report_count_note([{"status": "failed", "epochs_done": float("nan")}], epochs=4, rungs=(1, 2)) is None


# -- the stopped trial's row ------------------------------------------------------------
def so_far_row(trial_id: str, **extra: Any) -> dict[str, Any]:
    return row(trial_id, 0.4, 0.7, status="stopped", epochs_done=1, epochs=4, history=json.dumps([{"epoch": 1}]), **extra)


def test_only_a_result_tune_ended_early_is_a_stopped_row() -> None:
    payload = {SO_FAR_KEY: json.dumps(so_far_row("s1"))}
    assert stopped_row({**payload, "done": True})["status"] == "stopped"  # type: ignore[index]
    assert stopped_row({**payload, "done": False}) is None  # an interrupted sweep: not stopped by the scheduler
    assert stopped_row({**payload, "done": True, ROW_KEY: "{}"}) is None  # ended normally
    assert stopped_row(None) is None and stopped_row({"done": True}) is None


def test_the_recorder_stores_a_stopped_trial_with_its_newest_checkpoint(tmp_path: Path) -> None:
    store = new_run(tmp_path / "run")
    status = SweepStatus(planned=2)
    recorder = SweepRecorder(store, status)
    checkpoint = SimpleNamespace(path=str(tmp_path / "run" / "_tune" / "exp" / "s1" / "checkpoint_000000"))
    fake = SimpleNamespace(
        config={"trial": {"trial_id": "s1", "kind": "scalarization"}},
        last_result={"epoch": 1, "done": True, SO_FAR_KEY: json.dumps(so_far_row("s1"))},
        checkpoint=checkpoint,
    )
    recorder.on_trial_complete(0, [], fake)
    recorder.on_trial_complete(0, [], fake)  # Tune may say it twice: one row
    running = SimpleNamespace(config={"trial": {"trial_id": "s2"}}, last_result={"epoch": 1, SO_FAR_KEY: "{}"}, checkpoint=None)
    recorder.on_trial_complete(0, [], running)  # not done: an interrupted trial, not recorded
    recorder.flush()
    trials = store.read_trials()
    assert list(trials["trial_id"]) == ["s1"] and trials["status"][0] == "stopped"
    assert trials["checkpoint"][0] == "_tune/exp/s1/checkpoint_000000" and trials["epochs_done"][0] == 1
    assert status.stopped == 1 and status.failed == 0 and status.done == 1
    assert set(store.read_frontier()["status"]) == {"stopped"}


class Recording(StaticSampler):
    def __init__(self, weights: np.ndarray) -> None:
        super().__init__(weights)
        self.told: list[tuple[np.ndarray, Any]] = []

    def tell(self, weights: Any, values: np.ndarray, *, stopped: np.ndarray | None = None) -> None:
        self.told.append((np.asarray(values), stopped))


def test_the_searcher_tells_the_sampler_a_stopped_trial_as_such() -> None:
    spec = as_spec({"problem": {"name": "fonseca"}, "budget": {"n_weights": 2, "epochs": 4}, "scheduler": "pareto_asha"})
    sampler = Recording(np.array([[0.25, 0.75], [0.5, 0.5]]))
    searcher = SamplerSearcher(sampler, WeightTrials(spec), [("f1_loss", "min"), ("f2_loss", "min")])
    first, second = searcher.suggest("t0")["trial"], searcher.suggest("t1")["trial"]  # type: ignore[index]
    row_of = {**TrialConfig.from_dict(first).row_fields(), "status": "stopped", "f1_loss": 0.3, "f2_loss": 0.6}
    searcher.on_trial_complete("t0", {"epoch": 1, "done": True, SO_FAR_KEY: json.dumps(row_of)})
    done = {**TrialConfig.from_dict(second).row_fields(), "status": "completed", "f1_loss": 0.4, "f2_loss": 0.5}
    searcher.on_trial_complete("t1", {ROW_KEY: json.dumps(done)})
    (stopped_values, stopped_flags), (done_values, done_flags) = sampler.told
    assert stopped_values.tolist() == [[0.3, 0.6]] and stopped_flags.tolist() == [True]
    assert done_values.tolist() == [[0.4, 0.5]] and done_flags is None  # no flag when none stopped
