"""The newer comparison methods through the per-step path: ``ctx.backward``, checkpoints, the built-in loop.

Each of UPGrad, DualProj, Aligned-MTL, FAMO, STCH and unitary scalarization is created by the
trial context from the registry; over several optimiser steps it must write the same ``.grad`` as
the method used directly, carry its state (FAMO's logits and Adam moments, STCH's running ideal
point) through a checkpoint, and train a real problem through :func:`paretosweep.trial.train_trial`.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
import torch
from torch import nn

import paretosweep
from paretosweep.config import SweepSpec
from paretosweep.methods import create
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.trainables import trainable_problem
from paretosweep.trial import TrialContext, make_context, run_in_context, train_trial

NEW = ("upgrad", "dualproj", "alignedmtl", "famo", "stch", "unitary")
OPTIONS: dict[str, dict[str, Any]] = {"stch": {"preference": [0.3, 0.7], "mu": 0.05}, "unitary": {"weight_decay": 0.01}}
TASKS = {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "loss", "direction": "min"}}
X = torch.randn(32, 3, generator=torch.Generator().manual_seed(1))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.trunk = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
        self.head_a, self.head_b = nn.Linear(8, 1), nn.Linear(8, 1)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.trunk(x)
        return {"a": (self.head_a(z) ** 2).mean(), "b": ((self.head_b(z) - 1) ** 2).mean()}

    def heads(self) -> list[nn.Parameter]:
        return [*self.head_a.parameters(), *self.head_b.parameters()]


def train(ctx: TrialContext) -> None:
    """A user's loop: SGD on `Net`, ``ctx.backward`` with the losses as a mapping, a report per epoch."""
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=ctx.config["lr"])
    for _ in range(ctx.config["epochs"]):
        for i in range(0, len(X), 8):
            opt.zero_grad()
            ctx.backward(model.losses(X[i : i + 8]), shared=list(model.trunk.parameters()))
            opt.step()
        with torch.no_grad():
            losses = model.losses(X)
        ctx.report({"a_loss": float(losses["a"]), "b_loss": float(losses["b"])}, checkpoint={"model": model.state_dict()})


def spec_for(name: str) -> paretosweep.SweepSpec:
    entry = {"name": name, **OPTIONS.get(name, {})}
    return paretosweep.parse_spec(
        {"problem": {"trainable": f"{__name__}:train"}, "tasks": TASKS, "budget": {"epochs": 2}, "methods": [entry]}
    )


def context(name: str, sink: list[Any] | None = None, restored: Any = None) -> TrialContext:
    sweep = spec_for(name)
    reports = sink if sink is not None else []
    trial = TrialConfig("m-1", "method", None, 0, 0.05, name, dict(OPTIONS.get(name, {})))
    return make_context(
        trial,
        sweep,
        trainable_problem(sweep),
        device=torch.device("cpu"),
        sink=lambda metrics, ckpt: reports.append((metrics, ckpt)),
        name="tests:train",
        restored=restored,
    )


def grads(model: nn.Module) -> list[torch.Tensor]:
    return [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]


def sgd_steps(model: Net, backward: Any, steps: range) -> list[list[torch.Tensor]]:
    """``.grad`` after each of the steps (batches of 8 from X), stepping SGD in between."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []
    for step in steps:
        opt.zero_grad()
        backward(model.losses(X[8 * (step % 4) : 8 * (step % 4) + 8]))
        seen.append(grads(model))
        opt.step()
    return seen


@pytest.mark.parametrize("name", NEW)
def test_ctx_backward_writes_what_the_method_writes_step_after_step(name: str) -> None:
    ctx, via_ctx = context(name), Net()
    trunk = list(via_ctx.trunk.parameters())
    got = sgd_steps(via_ctx, lambda losses: ctx.backward(losses, shared=trunk), range(4))

    direct, method = Net(), create(name, n_tasks=2, **OPTIONS.get(name, {}))
    shared, heads = list(direct.trunk.parameters()), direct.heads()
    expected = sgd_steps(
        direct, lambda losses: method.backward(torch.stack([losses["a"], losses["b"]]), shared, task_specific=heads), range(4)
    )
    for step_got, step_expected in zip(got, expected, strict=True):
        for g, e in zip(step_got, step_expected, strict=True):
            torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-7)
    mean, final = ctx.effective_weights()
    assert mean is not None and final is not None and len(final) == 2
    assert ctx.outcome.method_hparams == create(name, n_tasks=2, **OPTIONS.get(name, {})).hparams()


def same_state(a: object, b: object) -> bool:
    """Recursive equality of state dicts (FAMO's state is a dict of extra state)."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("name", ["famo", "stch"])
def test_a_restored_trial_goes_on_with_the_methods_state(name: str) -> None:
    sent: list[Any] = []
    first, model = context(name, sent), Net()
    trunk = list(model.trunk.parameters())
    sgd_steps(model, lambda losses: first.backward(losses, shared=trunk), range(3))
    first.report({"a_loss": 0.5, "b_loss": 0.4}, checkpoint={"epoch": 0})
    buffer = io.BytesIO()  # as Ray's sink does: saved when reported (the state dict aliases live buffers)
    torch.save(sent[-1][1], buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    fresh = create(name, n_tasks=2, **OPTIONS.get(name, {})).state_dict()
    assert not same_state(first._method_object().state_dict(), fresh)  # the state moved: the test can fail

    twin = copy.deepcopy(model)
    again = context(name, [], restored=saved)
    went_on = sgd_steps(model, lambda losses: first.backward(losses, shared=trunk), range(3, 5))
    twin_trunk = list(twin.trunk.parameters())
    resumed = sgd_steps(twin, lambda losses: again.backward(losses, shared=twin_trunk), range(3, 5))
    for step_a, step_b in zip(went_on, resumed, strict=True):
        for a, b in zip(step_a, step_b, strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", NEW)
def test_a_users_loop_runs_each_method_to_completion(name: str) -> None:
    outcome = run_in_context(train, context(name), name="tests:train")
    assert outcome.status == "completed" and outcome.epochs_done == 2
    assert outcome.effective_weights_final is not None and all(abs(w) < 1e6 for w in outcome.effective_weights_final)


@pytest.mark.parametrize("name", NEW)
def test_the_built_in_loop_trains_a_problem_with_each_method(name: str) -> None:
    problem = make_problem("synthetic", {"n_tasks": 3, "n_samples": 300})
    options = {"stch": {"preference": [0.2, 0.3, 0.5]}, "unitary": {"weight_decay": 1e-3}}.get(name, {})
    spec = SweepSpec.model_validate(
        {
            "problem": {"name": "synthetic", "params": {"n_tasks": 3, "n_samples": 300}},
            "budget": {"epochs": 2, "steps_per_epoch": 5},
            "methods": [{"name": name, **options}],
        }
    )
    outcome = train_trial(problem, TrialConfig("m-0", "method", None, 0, 0.01, name, options), spec, device=torch.device("cpu"))
    assert outcome.status == "completed", outcome.error
    assert outcome.epochs_done == 2 and len(outcome.effective_weights_mean or []) == 3
    assert all(torch.isfinite(torch.tensor(list(outcome.metrics.values()))))
