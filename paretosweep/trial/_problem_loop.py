"""The built-in training loop, written as a function trainable on :class:`TrialContext`.

Problems that follow the Problem protocol (the built-in ones, ``problem.name: mymod:make``) are
trained by :func:`train_problem`, the same way a user's ``train(ctx)`` is: one training path.
Per epoch: ``problem.train_batches`` (at most ``budget.steps_per_epoch`` steps), ``ctx.backward``
on ``problem.task_losses``, an optimiser step, then ``problem.evaluate`` (the validation split),
reported with a checkpoint ``{"model", "optimizer", "epoch", "generator"}``; a retried or restored
trial resumes after its last reported epoch. The test split (``evaluate_test``) is measured after
the last epoch, and at the epochs where the spec's scheduler may stop the trial
(``ctx.config["rung_epochs"]``), so a trial stopped there has test values too; it is reported as
``test_<column>``.

A comparison method's loop-level regularisation (``unitary``'s ``dropout`` and
``early_stopping``, see :func:`paretosweep.methods.regularisation_of`):

* ``dropout: p``: a :class:`~paretosweep.methods.RepresentationDropout` hook on
  ``problem.shared_representation(model)`` for the whole trial; ``evaluate`` and
  ``evaluate_test`` then run with the model in evaluation mode (``model.eval()``, training mode
  restored after), whatever the problem does, so no held-out value is measured with dropout.
* ``early_stopping: {patience: k}``: after each epoch's evaluation, the mean of the
  ``<task>_loss`` validation columns is tracked by :class:`~paretosweep.methods.EarlyStopping`
  (its state, with the best epoch's model, goes into every checkpoint as ``"early_stopping"``);
  after ``k`` epochs without a strict improvement training stops. Then, and also when the budget
  ends first, the best epoch's model is restored, measured on the test split, and made the
  trial's result with :meth:`TrialContext.select_epoch` (its metrics, its test values, a last
  checkpoint holding its model). ``epochs_done`` counts the epochs trained.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import torch
from torch import nn

from paretosweep.errors import ParetoSweepError
from paretosweep.problems import Problem, column, has_shared_representation
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


def _dropout_module(problem: Problem, model: nn.Module) -> nn.Module:
    if not has_shared_representation(problem):  # refused at plan time; this guards direct calls
        raise ParetoSweepError(
            f"`dropout` applies to the shared representation, but problem `{getattr(problem, 'name', '?')}` has no "
            "`shared_representation(model)`: add it (the trunk whose output the heads read) or set `dropout: 0`."
        )
    return problem.shared_representation(model)  # type: ignore[attr-defined]


@contextlib.contextmanager
def _eval_mode(model: nn.Module, force: bool) -> Iterator[None]:
    """``model.eval()`` inside the block when ``force`` (training mode restored after); nothing otherwise."""
    if not force:
        yield
        return
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def mean_validation_loss(problem: Problem, metrics: Mapping[str, float]) -> float:
    """``(1/m) sum_i metrics["<task_i>_loss"]``: what early stopping monitors (NaN if a column is missing)."""
    values = [metrics.get(column(t.name, "loss"), math.nan) for t in problem.tasks]
    return float(sum(values) / len(values))


def _state_copy(model: nn.Module) -> Callable[[], dict[str, Any]]:
    return lambda: {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_problem(ctx: TrialContext) -> None:
    """Train ``ctx.problem`` for one trial: the built-in loop (see the module docstring)."""
    from paretosweep.methods import EarlyStopping, RepresentationDropout, RepresentationTap, regularisation_of

    problem: Problem = ctx.problem
    config = ctx.config
    regularisation = regularisation_of(ctx.method_options)
    stopping = EarlyStopping(regularisation.patience) if regularisation.patience is not None else None
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
        if stopping is not None and "early_stopping" in ctx.checkpoint:
            stopping.load_state_dict(ctx.checkpoint["early_stopping"])
    shared = list(problem.shared_parameters(model))
    shared_ids = {id(p) for p in shared}
    heads = [p for p in model.parameters() if id(p) not in shared_ids]
    steps_per_epoch = config["steps_per_epoch"]
    epochs = config["epochs"]
    rungs = {int(r) for r in config.get("rung_epochs", ())}
    dropout = regularisation.dropout > 0
    last_epoch = start - 1
    with contextlib.ExitStack() as cleanup:
        module = _representation_module(ctx, problem, model)
        tap = cleanup.enter_context(RepresentationTap(module)) if module is not None else None
        if dropout:
            cleanup.enter_context(RepresentationDropout(_dropout_module(problem, model), regularisation.dropout))
        for epoch in range(start, epochs):
            if stopping is not None and stopping.stopped:
                break
            for step, batch in enumerate(problem.train_batches(epoch=epoch, generator=generator)):
                if steps_per_epoch is not None and step >= steps_per_epoch:
                    break
                losses = problem.task_losses(model, batch, ctx.device)
                optimizer.zero_grad(set_to_none=True)
                ctx.backward(losses, shared=shared, task_specific=heads, representation=tap.take() if tap is not None else None)
                optimizer.step()
            with _eval_mode(model, dropout):
                metrics: dict[str, float] = dict(problem.evaluate(model, ctx.device))
                if (epoch == epochs - 1 and stopping is None) or epoch + 1 in rungs:
                    metrics.update(final_test_metrics(problem, model, ctx.device))
            checkpoint = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "generator": generator.get_state(),
            }
            if stopping is not None:
                stopping.update(ctx.outcome.epochs_done + 1, mean_validation_loss(problem, metrics), _state_copy(model))
                checkpoint["early_stopping"] = stopping.state_dict()
            ctx.report(metrics, checkpoint=checkpoint)
            last_epoch = epoch
        if stopping is not None and stopping.best_epoch is not None:
            model.load_state_dict(stopping.best_state)
            with _eval_mode(model, dropout):
                tests = final_test_metrics(problem, model, ctx.device)
            checkpoint = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": last_epoch,
                "generator": generator.get_state(),
                "early_stopping": stopping.state_dict(),
            }
            ctx.select_epoch(stopping.best_epoch, test_metrics=tests, checkpoint=checkpoint)
