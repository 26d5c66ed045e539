"""TrialContext without Ray: what ctx.backward leaves in .grad, what ctx.report accepts, checkpoints, AMP."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import paretosweep
from paretosweep.methods import create
from paretosweep.planning import TrialConfig, build_plan, make_scalarizer
from paretosweep.trainables import trainable_problem
from paretosweep.trial import Diverged, TrainableError, TrialContext, make_context, run_in_context

TASKS = {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "acc", "direction": "max", "also": {"loss": "min"}}}


def spec(**extra: Any) -> paretosweep.SweepSpec:
    return paretosweep.parse_spec(
        {"problem": {"trainable": "tests.trainables_for_tests:regression", "config": {"width": 8}}, "tasks": TASKS, **extra}
    )


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.trunk = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
        self.head_a, self.head_b = nn.Linear(8, 1), nn.Linear(8, 1)

    def losses(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        z = self.trunk(x)
        return {"a": (self.head_a(z) ** 2).mean(), "b": ((self.head_b(z) - 1) ** 2).mean()}, z


def context(sweep: paretosweep.SweepSpec, trial: TrialConfig, sink: list[Any] | None = None, **kwargs: Any) -> TrialContext:
    reports = sink if sink is not None else []
    return make_context(
        trial,
        sweep,
        trainable_problem(sweep),
        device=torch.device("cpu"),
        sink=lambda metrics, ckpt: reports.append((metrics, ckpt)),
        name="tests:train",
        **kwargs,
    )


def grads(model: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


X = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("scalarizer", ["linear", "tchebycheff", "smooth_tchebycheff"])
def test_backward_applies_the_trials_scalarizer(scalarizer: str) -> None:
    sweep = spec(scalarizer={"name": scalarizer})
    trial = TrialConfig("s-1", "scalarization", (0.3, 0.7), 0, 0.01)
    ctx = context(sweep, trial)
    assert ctx.weights == {"a": 0.3, "b": 0.7} and ctx.config["width"] == 8 and ctx.config["lr"] == 0.01
    model = Net()
    losses, _ = model.losses(X)
    applied = ctx.backward(losses)
    got = grads(model)

    expected_model = Net()
    expected, _ = expected_model.losses(X)
    s = make_scalarizer(sweep, [0.0, 0.0])
    s(torch.stack([expected["a"], expected["b"]]), torch.tensor([0.3, 0.7])).backward()
    for g, e in zip(got, grads(expected_model), strict=True):
        torch.testing.assert_close(g, e)
    assert applied.shape == (2,) and float(applied.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["pcgrad", "mgda", "cagrad", "uncertainty"])
def test_backward_runs_the_trials_method_like_the_method_itself(method: str) -> None:
    sweep = spec(methods=[{"name": method}])
    trial = TrialConfig("m-1", "method", None, 0, 0.01, method, {})
    model = Net()
    losses, _ = model.losses(X)
    ctx = context(sweep, trial)
    ctx.backward(losses, shared=list(model.trunk.parameters()))
    got = grads(model)

    reference = Net()
    ref_losses, _ = reference.losses(X)
    torch.manual_seed(0)
    direct = create(method, n_tasks=2)
    heads = [*reference.head_a.parameters(), *reference.head_b.parameters()]
    direct.backward(torch.stack([ref_losses["a"], ref_losses["b"]]), list(reference.trunk.parameters()), task_specific=heads)
    for g, e in zip(got, grads(reference), strict=True):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)


def test_shared_parameters_are_found_from_the_graph_when_not_given() -> None:
    sweep = spec(methods=[{"name": "pcgrad"}])
    trial = TrialConfig("m-1", "method", None, 0, 0.01, "pcgrad", {})
    explicit, inferred = Net(), Net()
    context(sweep, trial).backward(explicit.losses(X)[0], shared=list(explicit.trunk.parameters()))
    context(sweep, trial).backward(inferred.losses(X)[0])
    for g, e in zip(grads(inferred), grads(explicit), strict=True):
        torch.testing.assert_close(g, e)


def test_mgda_ub_needs_and_uses_the_representation() -> None:
    sweep = spec(methods=[{"name": "mgda", "upper_bound": True}])
    trial = TrialConfig("m-1", "method", None, 0, 0.01, "mgda", {"upper_bound": True})
    ctx = context(sweep, trial)
    assert ctx.needs_representation
    model = Net()
    losses, z = model.losses(X)
    with pytest.raises(TrainableError, match="representation=z"):
        ctx.backward(losses, shared=list(model.trunk.parameters()))
    losses, z = model.losses(X)
    ctx.backward(losses, shared=list(model.trunk.parameters()), representation=z)
    assert all(p.grad is not None for p in model.trunk.parameters())


@pytest.mark.parametrize("kind", ["scalarization", "method"])
def test_under_a_grad_scaler_the_gradients_are_the_unscaled_ones_times_the_scale(kind: str) -> None:
    sweep = spec(methods=[{"name": "pcgrad"}])
    trial = (
        TrialConfig("s-1", "scalarization", (0.4, 0.6), 0, 0.01)
        if kind == "scalarization"
        else TrialConfig("m-1", "method", None, 0, 0.01, "pcgrad", {})
    )
    plain, scaled = Net(), Net()
    context(sweep, trial).backward(plain.losses(X)[0], shared=list(plain.trunk.parameters()))
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    context(sweep, trial).backward(scaled.losses(X)[0], shared=list(scaled.trunk.parameters()), scaler=scaler)
    for g, e in zip(grads(scaled), grads(plain), strict=True):
        torch.testing.assert_close(g, e * 1024.0, rtol=1e-4, atol=1e-5)


def test_misuse_names_the_trainable_and_the_fix() -> None:
    ctx = context(spec(), TrialConfig("s-1", "scalarization", (0.5, 0.5), 0, 0.01))
    model = Net()
    losses, _ = model.losses(X)
    with pytest.raises(TrainableError, match=r"tests:train.*unknown \['c'\].*missing \['b'\]"):
        ctx.backward({"a": losses["a"], "c": losses["b"]})
    with pytest.raises(TrainableError, match="should be a scalar tensor"):
        ctx.backward({"a": torch.ones(3, requires_grad=True), "b": losses["b"]})
    with pytest.raises(TrainableError, match=r"without the objective column\(s\) \['b_acc'\]"):
        ctx.report({"a_loss": 0.1, "b_loss": 0.2})
    with pytest.raises(TrainableError, match="report numbers"):
        ctx.report({"a_loss": "low", "b_acc": 0.2})
    with pytest.raises(Diverged, match="non-finite"):
        ctx.backward({"a": torch.tensor(float("nan"), requires_grad=True), "b": losses["b"]})
    with pytest.raises(Diverged, match="b_acc"):
        ctx.report({"a_loss": 0.1, "b_acc": float("inf")})


def test_a_trainable_that_never_reports_is_an_error_and_nan_is_diverged() -> None:
    sweep = spec()
    trial = TrialConfig("s-1", "scalarization", (0.5, 0.5), 0, 0.01)
    with pytest.raises(TrainableError, match="returned without calling ctx.report"):
        run_in_context(lambda ctx: None, context(sweep, trial), name="tests:train")

    def nan_at_epoch_2(ctx: TrialContext) -> None:
        ctx.report({"a_loss": 1.0, "b_acc": 0.5, "b_loss": 0.3})
        ctx.report({"a_loss": float("nan"), "b_acc": 0.5})

    outcome = run_in_context(nan_at_epoch_2, context(sweep, trial), name="tests:train")
    assert (outcome.status, outcome.epochs_done) == ("diverged", 1) and "a_loss" in (outcome.error or "")
    assert outcome.metrics == {"a_loss": 1.0, "b_acc": 0.5, "b_loss": 0.3}


def test_reports_go_to_the_sink_with_their_epoch_and_a_restored_trial_goes_on_from_its_checkpoint() -> None:
    sweep = spec(methods=[{"name": "uncertainty"}])
    trial = TrialConfig("m-1", "method", None, 0, 0.05, "uncertainty", {})
    sent: list[Any] = []
    first = context(sweep, trial, sent)
    model = Net()
    for epoch in range(2):
        first.backward(model.losses(X)[0])
        first.report({"a_loss": 0.5 - epoch / 10, "b_acc": 0.6, "b_loss": 0.4, "extra": 3.0}, checkpoint={"epoch": epoch})
    assert [m["epoch"] for m, _ in sent] == [1, 2] and sent[0][0]["extra"] == 3.0
    saved = sent[-1][1]
    assert saved["trainable"] == {"epoch": 1}
    learnt = {k: v.clone() for k, v in first._method_object().state_dict().items()}
    assert any(float(v.abs().sum()) > 0 for v in learnt.values())  # uncertainty weighting learnt its log-variances

    again = context(sweep, trial, [], restored=saved)
    assert again.checkpoint == {"epoch": 1} and again.outcome.epochs_done == 2
    for key, value in again._method_object().state_dict().items():
        torch.testing.assert_close(value, learnt[key])
    again.backward(model.losses(X)[0])
    again.report({"a_loss": 0.2, "b_acc": 0.7, "b_loss": 0.3})
    assert [h["epoch"] for h in again.outcome.history] == [1, 2, 3]
    mean, final = again.effective_weights()
    assert mean is not None and final is not None


def test_a_trainable_spec_plans_from_its_tasks_block_and_refuses_what_it_cannot_run() -> None:
    plan = build_plan(spec(budget={"n_weights": 3}, methods=[{"name": "pcgrad"}]))
    assert plan.task_names == ("a", "b")
    assert [o.column for o in plan.objectives] == ["a_loss", "b_acc"]
    assert plan.metric_columns == ("a_loss", "b_acc", "b_loss")
    assert sum(t.kind == "method" for t in plan.trials) == 1
    with pytest.raises(paretosweep.ConfigError, match="pack_size: 1"):
        build_plan(spec(budget={"pack_size": 4}))
    with pytest.raises(paretosweep.ConfigError, match=r"tasks\.b\.direction"):
        paretosweep.parse_spec({"problem": {"trainable": "m:f"}, "tasks": {"a": {"direction": "min"}, "b": {}}})
    with pytest.raises(paretosweep.ConfigError, match="at least two tasks"):
        paretosweep.parse_spec({"problem": {"trainable": "m:f"}})
    with pytest.raises(paretosweep.ConfigError, match="not both"):
        paretosweep.parse_spec({"problem": {"trainable": "m:f", "name": "fonseca"}, "tasks": TASKS})
