"""The driver hands the store a problem's exact front (fonseca) and a resume finds it again, without Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from paretosweep.api import as_spec
from paretosweep.frontier import hypervolume, igd_plus
from paretosweep.planning import build_plan
from paretosweep.problems import make_problem
from paretosweep.sweep._driver import EXACT_FRONT_POINTS, attach_exact_front, open_store


def fonseca(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "fon",
        "problem": {"name": "fonseca"},
        "budget": {"n_weights": 4, "epochs": 1},
        "storage": str(tmp_path / "run"),
        **extra,
    }


def result(trial_id: str, f1: float, f2: float) -> dict[str, Any]:
    return {"trial_id": trial_id, "status": "completed", "kind": "scalarization", "f1_loss": f1, "f2_loss": f2}


def test_fonseca_runs_get_the_exact_front_and_keep_it_on_resume(tmp_path: Path) -> None:
    spec = as_spec(fonseca(tmp_path))
    plan = build_plan(spec)
    store = open_store(plan, spec.run_dir, resume=False)
    assert attach_exact_front(store, spec)
    exact = make_problem("fonseca", {}).exact_front(EXACT_FRONT_POINTS)
    np.testing.assert_array_equal(store.exact_front, exact.points)
    store.ingest([result("a", 0.2, 0.9), result("b", 0.6, 0.6)])
    store.write()
    store.ingest([result("c", 0.9, 0.2)])
    store.write()
    before = store.read_progress()
    ref, dirs = exact.reference_point, ["min", "min"]
    done = np.array([[0.2, 0.9], [0.6, 0.6], [0.9, 0.2]])
    exact_hv = hypervolume(exact.points, reference_point=ref, directions=dirs)
    assert before["hv_ratio"].tolist() == [hypervolume(done[:n], reference_point=ref, directions=dirs) / exact_hv for n in (2, 3)]
    assert before["igd_plus"][1] == igd_plus(done, exact.points, dirs)

    resumed = open_store(plan, spec.run_dir, resume=True)  # what run_sweep(resume=True) does
    assert attach_exact_front(resumed, spec)
    assert resumed.read_progress().equals(before)
    np.testing.assert_array_equal(resumed.exact_front, exact.points)


def test_no_exact_front_when_the_problem_has_none(tmp_path: Path) -> None:
    spec = as_spec(
        {
            "name": "syn",
            "problem": {"name": "synthetic", "params": {"n_samples": 50}},
            "budget": {"n_weights": 2, "epochs": 1},
            "storage": str(tmp_path / "run"),
        }
    )
    store = open_store(build_plan(spec), spec.run_dir, resume=False)
    assert not attach_exact_front(store, spec) and store.exact_front is None
