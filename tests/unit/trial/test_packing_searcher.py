"""PackingSearcher driven by hand (no Tune run): packs from a result-driven searcher, results split back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ray.tune.search import Searcher

import paretosweep
from paretosweep.planning import build_plan
from paretosweep.sweep._driver import searcher_for
from paretosweep.sweep._packing_searcher import PackingSearcher, packing_search
from paretosweep.sweep._trainable import ROW_KEY


def config(n: int, *, seed: int = 0, lr: float = 0.01, kind: str = "scalarization") -> dict[str, Any]:
    weights = None if kind == "method" else [n / 100, 1 - n / 100]
    return {
        "trial_id": f"c{n}",
        "kind": kind,
        "weights": weights,
        "seed": seed,
        "lr": lr,
        "method": "mgda" if kind == "method" else None,
        "method_params": {},
    }


class RoundSearcher(Searcher):
    """A small result-driven searcher: hands out rounds; the next round only once the last one is told."""

    def __init__(self, rounds: list[list[dict[str, Any]]]) -> None:
        super().__init__()
        self.rounds = [list(r) for r in rounds]
        self.live: dict[str, dict[str, Any]] = {}
        self.told: dict[str, tuple[dict[str, Any] | None, bool]] = {}  # config id -> (row, error)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        while self.rounds and not self.rounds[0]:
            if self.live:
                return None
            self.rounds.pop(0)
        if not self.rounds:
            return None if self.live else Searcher.FINISHED
        config = self.rounds[0].pop(0)
        self.live[trial_id] = config
        return {"trial": config}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        config = self.live.pop(trial_id)
        row = json.loads(result[ROW_KEY]) if result and not error else None
        self.told[config["trial_id"]] = (row, error)

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as file:
            json.dump({"rounds": self.rounds, "live": self.live, "told": self.told}, file)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as file:
            state = json.load(file)
        self.rounds, self.live, self.told = state["rounds"], state["live"], {k: tuple(v) for k, v in state["told"].items()}


def rows_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    configs = answer["pack"] if "pack" in answer else [answer["trial"]]
    return [{"trial_id": c["trial_id"], "status": "completed", "loss": float(c["trial_id"][1:])} for c in configs]


def finish(searcher: Searcher, tune_id: str, answer: dict[str, Any]) -> None:
    rows = rows_of(answer)
    payload = rows if "pack" in answer else rows[0]
    searcher.on_trial_complete(tune_id, {"trial_status": "completed", ROW_KEY: json.dumps(payload)})


def ids(answer: dict[str, Any]) -> list[str]:
    return [c["trial_id"] for c in (answer["pack"] if "pack" in answer else [answer["trial"]])]


def test_packs_fill_then_wait_then_split_results_per_member() -> None:
    inner = RoundSearcher([[config(i) for i in range(5)], [config(10), config(11)]])
    searcher = PackingSearcher(inner, 2)
    first, second, third = (searcher.suggest(f"t{i}") for i in range(3))
    assert ids(first) == ["c0", "c1"] and ids(second) == ["c2", "c3"]
    assert "trial" in third and ids(third) == ["c4"]  # the round ran out: a smaller pack (of one, sent plainly)
    assert searcher.suggest("t3") is None  # the next round waits on running trials
    for i, answer in enumerate((first, second, third)):
        finish(searcher, f"t{i}", answer)
    assert sorted(inner.told) == ["c0", "c1", "c2", "c3", "c4"]
    assert all(not error and row["trial_id"] == cid and row["loss"] == float(cid[1:]) for cid, (row, error) in inner.told.items())
    last = searcher.suggest("t4")
    assert ids(last) == ["c10", "c11"]
    finish(searcher, "t4", last)
    assert searcher.suggest("t5") == Searcher.FINISHED
    assert len(inner.told) == 7


def test_groups_by_seed_and_lr_and_methods_go_alone() -> None:
    round_ = [config(0, kind="method"), config(1), config(2, seed=1), config(3), config(4, lr=0.1), config(5, seed=1)]
    searcher = PackingSearcher(RoundSearcher([round_]), 2)
    answers = []
    while (answer := searcher.suggest(f"t{len(answers)}")) not in (None, Searcher.FINISHED):
        answers.append(answer)
    assert [ids(a) for a in answers] == [["c0"], ["c1", "c3"], ["c2", "c5"], ["c4"]]
    for answer in answers[1:3]:
        assert len({(c["seed"], c["lr"]) for c in answer["pack"]}) == 1


def test_a_lost_pack_is_told_as_errors() -> None:
    inner = RoundSearcher([[config(i) for i in range(3)]])
    searcher = PackingSearcher(inner, 3)
    answer = searcher.suggest("t0")
    partial = [rows_of(answer)[0]]  # only one member's row came back
    searcher.on_trial_complete("t0", {ROW_KEY: json.dumps(partial)})
    assert inner.told["c0"][1] is False and inner.told["c1"] == (None, True) and inner.told["c2"] == (None, True)
    assert searcher.suggest("t1") == Searcher.FINISHED


def test_save_and_restore_keep_held_and_live_members(tmp_path: Path) -> None:
    round_ = [config(1), config(2, seed=1), config(3)]
    searcher = PackingSearcher(RoundSearcher([round_, [config(9)]]), 2)
    first = searcher.suggest("t0")  # c2 (seed 1) is held for later
    path = str(tmp_path / "searcher.pkl")
    searcher.save(path)
    restored = PackingSearcher(RoundSearcher([]), 2)
    restored.restore(path)
    assert not list(tmp_path.glob("*.inner"))
    finish(restored, "t0", first)
    assert ids(restored.suggest("t1")) == ["c2"]
    assert restored.suggest("t2") is None
    assert sorted(restored.inner.told) == ["c1", "c3"]


def test_pack_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="pack_size"):
        PackingSearcher(RoundSearcher([]), 0)


def circle(w: list[float]) -> list[float]:
    d = 1.0 / np.asarray(w)
    return list(d / np.linalg.norm(d))


@pytest.mark.parametrize("pack_size", [3, "auto"])
def test_adaptive_sampler_gets_every_result_through_packs(pack_size: Any) -> None:
    spec = paretosweep.api.as_spec(
        {
            "problem": {"name": "fonseca"},
            "scalarizer": {"name": "tchebycheff"},
            "sampler": {"name": "adaptive", "batch": 2, "tolerance": 1e-4},
            "budget": {"n_weights": 9, "pack_size": pack_size},
        }
    )
    plan = build_plan(spec)
    inner, num_samples = searcher_for(spec.model_copy(update={"budget": spec.budget.model_copy(update={"pack_size": 1})}), plan)
    searcher, cap = packing_search(spec, inner, num_samples)
    assert isinstance(searcher, PackingSearcher) and cap == 9
    seen: list[str] = []
    n = 0
    while True:
        batch = []
        while (answer := searcher.suggest(f"t{n}")) not in (None, Searcher.FINISHED):
            batch.append((f"t{n}", answer))
            n += 1
        finished = answer == Searcher.FINISHED  # the budget is handed out; the last packs may still run
        assert batch or finished, "the searcher waits although nothing runs"
        for tune_id, answer in batch:
            configs = answer["pack"] if "pack" in answer else [answer["trial"]]
            assert len(configs) <= searcher.pack_size
            rows = [
                {"trial_id": c["trial_id"], "status": "completed", **dict(zip(["f1_loss", "f2_loss"], circle(c["weights"])))}
                for c in configs
            ]
            seen += [c["trial_id"] for c in configs]
            searcher.on_trial_complete(tune_id, {ROW_KEY: json.dumps(rows if "pack" in answer else rows[0])})
        if finished:
            break
    assert len(seen) == 9 and len(set(seen)) == 9
    assert len(inner.sampler.values) == 9 and np.isfinite(np.array(inner.sampler.values)).all()  # told, not failed
    assert not inner._live  # every member's result reached the adaptive searcher


def test_pack_size_one_leaves_the_searcher_alone() -> None:
    spec = paretosweep.api.as_spec({"problem": {"name": "fonseca"}, "sampler": {"name": "adaptive"}, "budget": {"n_weights": 6}})
    inner = RoundSearcher([])
    assert packing_search(spec, inner, 6) == (inner, 6)


def test_optuna_study_gets_every_result_through_packs() -> None:
    import optuna

    spec = paretosweep.api.as_spec(
        {"problem": {"name": "fonseca"}, "sampler": {"name": "optuna_tpe"}, "budget": {"n_weights": 7, "pack_size": 3}}
    )
    plan = build_plan(spec)
    inner, num_samples = searcher_for(spec.model_copy(update={"budget": spec.budget.model_copy(update={"pack_size": 1})}), plan)
    searcher, _ = packing_search(spec, inner, num_samples)
    answers = []
    while (answer := searcher.suggest(f"t{len(answers)}")) not in (None, Searcher.FINISHED):
        answers.append(answer)
    assert [len(ids(a)) for a in answers] == [3, 3, 1]
    for i, answer in enumerate(answers):
        configs = answer["pack"] if "pack" in answer else [answer["trial"]]
        rows = [
            {"trial_id": c["trial_id"], "status": "completed", **dict(zip(["f1_loss", "f2_loss"], circle(c["weights"])))} for c in configs
        ]
        searcher.on_trial_complete(f"t{i}", {ROW_KEY: json.dumps(rows if "pack" in answer else rows[0])})
    study = inner.sampler.study
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 7
