"""The built-in training loop, written as a function trainable on :class:`TrialContext`.

Problems that follow the Problem protocol (the built-in ones, ``problem.name: mymod:make``) are
trained by :func:`train_problem`, the same way a user's ``train(ctx)`` is: one training path.
Per epoch: ``problem.train_batches`` (at most ``budget.steps_per_epoch`` steps), ``ctx.backward``
on ``problem.task_losses``, an optimiser step, then ``problem.evaluate`` (the validation split),
reported with a checkpoint ``{"model", "optimizer", "epoch", "generator"}``; a retried or restored
trial resumes after its last reported epoch. The test split (``evaluate_test``) is measured once
after the last epoch and reported with it as ``test_<column>``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from paretosweep.errors import ParetoSweepError
from paretosweep.problems import Problem, has_shared_representation
from paretosweep.trial._context import TrialContext
from paretosweep.trial._held_out import final_test_metrics


def make_optimizer(params: Iterable[Any], name: str, lr: float) -> torch.optim.Optimizer:
    """``budget.optimizer``: ``adam`` (Adam at ``lr``) or ``sgd`` (SGD with momentum 0.9 at ``lr``)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr)


def _representation_module(ctx: TrialContext, problem: Problem, model: nn.Module) -> nn.Module | None:
    if not ctx.needs_representation:
        return None
    if not has_shared_representation(problem):  # refused at plan time; this guards direct calls
        raise ParetoSweepError(
            f"Method `{ctx.method}` needs the shared representation, but problem `{getattr(problem, 'name', '?')}` has no "
            "`shared_representation(model)`; add it or set `upper_bound: false`."
        )
    return problem.shared_representation(model)  # type: ignore[attr-defined]


def train_problem(ctx: TrialContext) -> None:
    """Train ``ctx.problem`` for one trial: the built-in loop (see the module docstring)."""
    from paretosweep.methods import RepresentationTap

    problem: Problem = ctx.problem
    config = ctx.config
    model = problem.make_model(seed=ctx.seed).to(ctx.device)
    model.train()
    # A method that writes its own finished update into .grad (MTAdam) is stepped by plain SGD.
    if ctx.replaces_optimizer:
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"])
    else:
        optimizer = make_optimizer(model.parameters(), config["optimizer"], config["lr"])
    generator = torch.Generator().manual_seed(ctx.seed)
    start = 0
    if ctx.checkpoint is not None:
        model.load_state_dict(ctx.checkpoint["model"])
        optimizer.load_state_dict(ctx.checkpoint["optimizer"])
        generator.set_state(ctx.checkpoint["generator"])
        start = int(ctx.checkpoint["epoch"]) + 1
    shared = list(problem.shared_parameters(model))
    shared_ids = {id(p) for p in shared}
    heads = [p for p in model.parameters() if id(p) not in shared_ids]
    steps_per_epoch = config["steps_per_epoch"]
    epochs = config["epochs"]
    with contextlib.ExitStack() as cleanup:
        module = _representation_module(ctx, problem, model)
        tap = cleanup.enter_context(RepresentationTap(module)) if module is not None else None
        for epoch in range(start, epochs):
            for step, batch in enumerate(problem.train_batches(epoch=epoch, generator=generator)):
                if steps_per_epoch is not None and step >= steps_per_epoch:
                    break
                losses = problem.task_losses(model, batch, ctx.device)
                optimizer.zero_grad(set_to_none=True)
                ctx.backward(losses, shared=shared, task_specific=heads, representation=tap.take() if tap is not None else None)
                optimizer.step()
            metrics: dict[str, float] = dict(problem.evaluate(model, ctx.device))
            if epoch == epochs - 1:
                metrics.update(final_test_metrics(problem, model, ctx.device))
            checkpoint = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "generator": generator.get_state(),
            }
            ctx.report(metrics, checkpoint=checkpoint)
