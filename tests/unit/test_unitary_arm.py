"""The unitary-scalarization arm (Kurin et al. 2022) in the compare config and in the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from paretosweep import api
from paretosweep.comparison import compare, method_labels
from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.results._schema import Objective
from paretosweep.trial import train_trial

COMPARE = Path(__file__).resolve().parents[2] / "configs" / "compare.yaml"


def test_the_compare_config_runs_the_unitary_arm_at_the_sweeps_compute() -> None:
    plan = api.plan(COMPARE)
    sweep = [t for t in plan.trials if t.kind == "scalarization"]
    unitary = [t for t in plan.trials if t.kind == "method" and t.method == "unitary"]
    assert [t.method_params for t in unitary] == [{"weight_decay": 1e-4}]
    assert {(t.lr, t.seed) for t in unitary} == {(t.lr, t.seed) for t in sweep}
    names = {t.method for t in plan.trials if t.kind == "method"}
    assert {"equal", "unitary", "upgrad", "dualproj", "alignedmtl", "famo", "stch"} <= names


def test_weight_decay_reaches_the_built_in_loop() -> None:
    """Same seed and budget: ``weight_decay: 0`` trains exactly as ``equal``; a large one changes the result."""
    problem = make_problem("synthetic", {"n_tasks": 2, "n_samples": 200})
    spec = SweepSpec.model_validate(
        {"problem": {"name": "synthetic", "params": {"n_tasks": 2, "n_samples": 200}}, "budget": {"epochs": 2, "steps_per_epoch": 5}}
    )

    def metrics(name: str, **options: float) -> dict[str, float]:
        outcome = train_trial(problem, TrialConfig("m-0", "method", None, 0, 0.01, name, options), spec, device=torch.device("cpu"))
        assert outcome.status == "completed", outcome.error
        return outcome.metrics

    equal = metrics("equal")
    assert metrics("unitary", weight_decay=0.0) == equal
    decayed = metrics("unitary", weight_decay=0.5)
    assert any(decayed[k] != pytest.approx(v, rel=1e-6) for k, v in equal.items())


def test_each_weight_decay_is_its_own_arm_in_the_verdict() -> None:
    unitary = [json.dumps({"weight_decay": 1e-4}), json.dumps({"weight_decay": 1e-2})]
    rows = [
        ("s1", "scalarization", None, None, [0.2, 0.8], 0, 1.0, 0.2),
        ("s2", "scalarization", None, None, [0.8, 0.2], 0, 0.2, 1.0),
        ("s3", "scalarization", None, None, [0.5, 0.5], 0, 0.4, 0.4),
        ("m1", "method", "equal", "{}", None, 0, 0.7, 0.7),
        ("m2", "method", "unitary", unitary[0], None, 0, 0.30, 0.35),
        ("m3", "method", "unitary", unitary[0], None, 1, 0.32, 0.33),
        ("m4", "method", "unitary", unitary[0], None, 2, 0.31, 0.34),
        ("m5", "method", "unitary", unitary[1], None, 0, 0.9, 0.9),
    ]
    columns = ["trial_id", "kind", "method", "hparams", "weights", "seed", "a_loss", "b_loss"]
    trials = pd.DataFrame(rows, columns=columns).assign(status="completed", train_seconds=1.0)
    objectives = [Objective("a", "a_loss", "min"), Objective("b", "b_loss", "min")]
    verdict = compare(trials, objectives)
    arms = dict(zip(method_labels(verdict), verdict.to_dict("records")))
    assert set(arms) == {"equal", "unitary weight_decay=0.0001", "unitary weight_decay=0.01"}
    assert arms["equal"]["verdict"] == "dominated (1 seed)" and arms["equal"]["epsilon"] == pytest.approx(-0.3)
    assert arms["unitary weight_decay=0.01"]["verdict"] == "dominated (1 seed)"
    regularised = arms["unitary weight_decay=0.0001"]
    assert regularised["n_seeds"] == 3 and regularised["epsilon_mean"] == pytest.approx(0.09)
    assert regularised["verdict"] == "escapes"  # every seed beats s3 = (0.4, 0.4) in both objectives
