"""The unitary-scalarization arm (Kurin et al. 2022): weight decay, dropout and early stopping, in the
compare config, the built-in loop, a user's loop, and the verdict."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from paretosweep import api
from paretosweep.comparison import compare, method_labels
from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError
from paretosweep.methods import EarlyStopping, MethodParamError, RepresentationDropout, regularisation_of
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.results._schema import Objective
from paretosweep.trial import TrainableError, TrialOutcome, make_context, run_in_context, train_trial
from tests.problems_for_regularisation import make_overshoot

COMPARE = Path(__file__).resolve().parents[2] / "configs" / "compare.yaml"


def test_the_compare_config_runs_the_unitary_arm_at_the_sweeps_compute() -> None:
    plan = api.plan(COMPARE)
    sweep = [t for t in plan.trials if t.kind == "scalarization"]
    unitary = [t for t in plan.trials if t.kind == "method" and t.method == "unitary"]
    assert [t.method_params for t in unitary] == [{"weight_decay": 1e-4, "dropout": 0.1, "early_stopping": {"patience": 2}}]
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


# --- dropout on the shared representation ---------------------------------------------------------


def test_the_dropout_hook_drops_in_training_mode_and_is_the_identity_in_evaluation_mode() -> None:
    trunk = nn.Linear(4, 64)
    x = torch.randn(32, 4)
    with torch.no_grad():
        clean = trunk(x)
    with RepresentationDropout(trunk, 0.5):
        trunk.train()
        torch.manual_seed(0)
        dropped = trunk(x)
        zeroed = dropped == 0
        assert 0.3 < float(zeroed.float().mean()) < 0.7  # about half of the units
        assert torch.allclose(dropped[~zeroed], clean[~zeroed] * 2.0, atol=1e-6)  # the others scaled by 1/(1-p)
        trunk.eval()
        assert torch.equal(trunk(x), trunk(x)) and torch.allclose(trunk(x), clean)
    trunk.train()
    assert torch.allclose(trunk(x), clean) and not trunk._forward_hooks  # removed with the block


@pytest.mark.parametrize("p", [1.0, -0.1, "0.1", True, float("nan")])
def test_the_dropout_probability_is_checked(p: object) -> None:
    with pytest.raises(MethodParamError, match=r"`dropout` should be a number >= 0 and < 1"):
        RepresentationDropout(nn.Identity(), p)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dropout": 1.0}, r"`methods\[1\]\.dropout` should be a number >= 0 and < 1\. Found `methods\[1\]\.dropout = 1\.0`"),
        ({"dropout": "high"}, r"`methods\[1\]\.dropout` should be a number >= 0 and < 1"),
        ({"early_stopping": {"patience": 0}}, r"`methods\[1\]\.early_stopping\.patience` should be an integer >= 1"),
        ({"early_stopping": {"patience": 2.5}}, r"`methods\[1\]\.early_stopping\.patience` should be an integer >= 1"),
        ({"early_stopping": 3}, r"`methods\[1\]\.early_stopping` should be a mapping `\{patience: N\}`"),
        ({"early_stopping": {"patience": 2, "delta": 0.1}}, r"`methods\[1\]\.early_stopping` should be a mapping"),
    ],
)
def test_bad_regularisation_options_are_refused_at_plan_time_naming_the_field(options: dict[str, object], message: str) -> None:
    spec = {"problem": {"name": "synthetic", "params": {"n_tasks": 2, "n_samples": 200}}, "budget": {"n_weights": 2, "epochs": 1}}
    with pytest.raises(MethodParamError, match=message):
        api.plan({**spec, "methods": [{"name": "equal"}, {"name": "unitary", **options}]})


def test_dropout_on_a_problem_without_a_shared_representation_is_refused_with_how_to_add_it() -> None:
    spec = {"problem": {"name": "tests.problems_for_tests:make_quadratic"}, "budget": {"n_weights": 2, "epochs": 1}}
    with pytest.raises(
        ConfigError, match=r"`methods\[0\]\.dropout`.*no `shared_representation\(model\)`.*or set `methods\[0\]\.dropout: 0`"
    ):
        api.plan({**spec, "methods": [{"name": "unitary", "dropout": 0.1}]})
    plan = api.plan({**spec, "methods": [{"name": "unitary", "dropout": 0.0, "early_stopping": {"patience": 1}}]})
    assert [t.method for t in plan.trials if t.kind == "method"] == ["unitary"]


def _synthetic() -> tuple[Any, SweepSpec]:
    params = {"n_tasks": 2, "n_samples": 200}
    spec = SweepSpec.model_validate({"problem": {"name": "synthetic", "params": params}, "budget": {"epochs": 2, "steps_per_epoch": 5}})
    return make_problem("synthetic", params), spec


def test_dropout_trains_with_the_hook_and_evaluates_without_it() -> None:
    problem, spec = _synthetic()

    def run(**options: Any) -> TrialOutcome:
        outcome = train_trial(problem, TrialConfig("m-0", "method", None, 0, 0.01, "unitary", options), spec, device=torch.device("cpu"))
        assert outcome.status == "completed", outcome.error
        return outcome

    plain, dropped = run(), run(dropout=0.5)
    assert plain.metrics == run(dropout=0.0).metrics  # the default: no dropout
    assert any(dropped.metrics[k] != pytest.approx(v, rel=1e-6) for k, v in plain.metrics.items())
    # What was reported is the trained model measured without dropout: a fresh model (no hook) loaded
    # with the checkpoint gives the same validation and test values, and the trunk kept no hook.
    model = problem.make_model(seed=0)
    model.load_state_dict(dropped.checkpoint["trainable"]["model"])
    assert problem.evaluate(model, torch.device("cpu")) == pytest.approx(dropped.metrics)
    tests = {f"test_{k}": v for k, v in problem.evaluate_test(model, torch.device("cpu")).items()}
    assert tests == pytest.approx(dropped.test_metrics)
    assert dropped.method_hparams["dropout"] == 0.5 and dropped.method_hparams["early_stopping"] is None


# --- early stopping ---------------------------------------------------------------------------------


def test_early_stopping_counts_strict_improvements_and_keeps_the_best_state() -> None:
    stopping = EarlyStopping(patience=2)
    values = [3.0, 2.0, 2.0, float("nan")]
    decisions = [stopping.update(e, v, functools.partial(dict, epoch=e)) for e, v in enumerate(values, start=1)]
    assert decisions == [False, False, False, True]
    assert (stopping.best_epoch, stopping.best, stopping.best_state) == (2, 2.0, {"epoch": 2})
    again = EarlyStopping(patience=2)
    again.load_state_dict(stopping.state_dict())
    assert again.stopped and again.best_epoch == 2
    with pytest.raises(MethodParamError, match="patience"):
        EarlyStopping(patience=0)
    assert regularisation_of({}).patience is None and regularisation_of({}).dropout == 0.0


def test_early_stopping_keeps_the_best_epochs_model_and_counts_the_epochs_trained() -> None:
    problem: Any = make_overshoot()
    spec = SweepSpec.model_validate({"problem": {"name": "tests.problems_for_regularisation:make_overshoot"}, "budget": {"epochs": 8}})
    trial = TrialConfig("m-0", "method", None, 0, 0.1, "unitary", {"early_stopping": {"patience": 2}})
    outcome = train_trial(problem, trial, spec, device=torch.device("cpu"))
    assert outcome.status == "completed", outcome.error
    means = [(h["a_loss"] + h["b_loss"]) / 2 for h in outcome.history]
    best = int(np.argmin(means)) + 1
    assert 1 < best < len(means)  # validation got worse after the best epoch: the choice matters
    assert outcome.epochs_done == len(outcome.history) == best + 2 < 8  # stopped after `patience` epochs without improvement
    assert outcome.metrics == {k: v for k, v in outcome.history[best - 1].items() if k != "epoch"}
    saved = outcome.checkpoint["trainable"]
    x = float(saved["model"]["x"])
    assert (x**2, (x + 2) ** 2) == pytest.approx((outcome.metrics["a_loss"], outcome.metrics["b_loss"]))  # the best epoch's model
    assert outcome.test_metrics == pytest.approx({"test_a_loss": (x - 1) ** 2, "test_b_loss": (x + 1) ** 2})  # measured on it
    assert saved["early_stopping"]["best_epoch"] == best and saved["epoch"] == outcome.epochs_done - 1
    full = train_trial(problem, TrialConfig("m-0", "method", None, 0, 0.1, "unitary", {}), spec, device=torch.device("cpu"))
    assert full.epochs_done == 8 and [h["a_loss"] for h in full.history[: outcome.epochs_done]] == [h["a_loss"] for h in outcome.history]
    assert full.metrics == {k: v for k, v in full.history[-1].items() if k != "epoch"}  # no early stopping: the last epoch


def test_a_user_loop_reads_the_arms_options_and_selects_its_epoch() -> None:
    spec = SweepSpec.model_validate(
        {
            "problem": {"trainable": "tests.trainables_for_tests:regression"},
            "tasks": {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "loss", "direction": "min"}},
        }
    )
    from paretosweep.trainables import trainable_problem

    described = trainable_problem(spec)
    seen: list[dict[str, object]] = []
    trial = TrialConfig("m-0", "method", None, 0, 0.1, "unitary", {"dropout": 0.2, "early_stopping": {"patience": 3}})

    def train(ctx: object) -> None:
        seen.append(ctx.method_options)  # type: ignore[attr-defined]
        for loss in (3.0, 1.0, 2.0):
            ctx.report({"a_loss": loss, "b_loss": loss})  # type: ignore[attr-defined]
        with pytest.raises(TrainableError, match=r"select one of them, 1\.\.3"):
            ctx.select_epoch(4)  # type: ignore[attr-defined]
        ctx.select_epoch(2, checkpoint={"model": "best"})  # type: ignore[attr-defined]

    sent: list[tuple[dict[str, float], object]] = []
    ctx = make_context(trial, spec, described, device=torch.device("cpu"), sink=lambda m, c: sent.append((m, c)), name="t")
    outcome = run_in_context(train, ctx, name="t")
    assert seen == [{"weight_decay": 1e-4, "dropout": 0.2, "early_stopping": {"patience": 3}}]
    assert outcome.epochs_done == 3 and outcome.metrics == {"a_loss": 1.0, "b_loss": 1.0}
    assert sent[-1][0] == {"selected_epoch": 2.0} and sent[-1][1]["trainable"] == {"model": "best"}  # type: ignore[index]
    assert "epoch" not in sent[-1][0]  # not an epoch: a scheduler does not count it
    assert ctx.config["rung_epochs"] == ()
