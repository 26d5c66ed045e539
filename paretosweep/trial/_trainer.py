"""The training loop of one trial — no Ray in here, so it runs and tests on its own.

A trial trains ``problem.make_model(seed)`` for ``budget.epochs`` epochs, either on the scalarized
loss ``s(L(θ), w)`` of one weight vector (kind ``scalarization``) or with a comparison method that
owns the backward step (kind ``method``). After every epoch it evaluates the validation split
(``problem.evaluate``) and calls ``report(metrics)``. A non-finite loss or metric stops it with
status ``diverged``. A completed trial of a problem with a test split is evaluated on it once
at the end (``TrialOutcome.test_metrics``, reported only; see ``_held_out``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig, build_scalarizer
from paretosweep.problems import Problem
from paretosweep.trial._held_out import final_test_metrics

Report = Callable[[dict[str, Any]], None]


class Diverged(Exception):
    """A loss or metric became NaN or infinite."""


@dataclass
class TrialOutcome:
    """What a finished trial produced (the row of ``trials.parquet`` is built from it)."""

    status: str  # completed | diverged | failed
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    epochs_done: int = 0
    effective_weights_mean: list[float] | None = None
    effective_weights_final: list[float] | None = None
    train_seconds: float = 0.0
    method_hparams: dict[str, Any] = field(default_factory=dict)
    #: ``test_<column>`` values of the trained model on the problem's test split (reported only; empty without one)
    test_metrics: dict[str, float] = field(default_factory=dict)


def _make_optimizer(params: list[dict[str, Any]], name: str, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr)


def _check_finite(values: torch.Tensor | dict[str, float], where: str) -> None:
    finite = torch.isfinite(values).all().item() if isinstance(values, torch.Tensor) else all(math.isfinite(v) for v in values.values())
    if not finite:
        shown = values.detach().cpu().tolist() if isinstance(values, torch.Tensor) else values
        raise Diverged(f"non-finite value at {where}: {shown}")


def _build_backward(
    spec: SweepSpec,
    problem: Problem,
    trial: TrialConfig,
    model: torch.nn.Module,
    device: torch.device,
    cleanup: contextlib.ExitStack,
):
    """The per-step backward and the extra parameters it trains, for a sweep trial or a method.

    A method that needs the shared representation Z (MGDA-UB) gets the output of
    ``problem.shared_representation(model)`` from this step's forward pass, captured by a forward
    hook that ``cleanup`` removes when the trial ends (also on error).
    """
    if trial.kind == "scalarization":
        assert trial.weights is not None
        weights = torch.tensor(trial.weights, dtype=torch.float32, device=device)
        scalarizer = build_scalarizer(spec, problem)

        def backward(losses: torch.Tensor) -> torch.Tensor:
            scalarizer(losses, weights).backward()
            return scalarizer.effective_weights(losses, weights)  # what the step applied (see scalarizers)

        return backward, None

    from paretosweep.methods import create

    assert trial.method is not None
    method = create(trial.method, n_tasks=len(problem.tasks), **trial.method_params).to(device)
    shared = list(problem.shared_parameters(model))
    shared_ids = {id(p) for p in shared}
    task_specific = [p for p in model.parameters() if id(p) not in shared_ids]
    if method.needs_representation:
        from paretosweep.errors import ParetoSweepError
        from paretosweep.methods import RepresentationTap
        from paretosweep.problems import has_shared_representation

        if not has_shared_representation(problem):  # refused at plan time; this guards direct calls
            raise ParetoSweepError(
                f"Method `{trial.method}` {trial.method_params} needs the shared representation, but problem "
                f"`{problem.name}` has no `shared_representation(model)`; add it or set `upper_bound: false`."
            )
        module = problem.shared_representation(model)  # type: ignore[attr-defined]
        tap = cleanup.enter_context(RepresentationTap(module))

        def backward_z(losses: torch.Tensor) -> torch.Tensor:
            z = tap.take()  # this step's forward output of the module, still in the graph
            return method.backward(losses, shared, task_specific=task_specific, representation=z)  # type: ignore[call-arg]

        return backward_z, method

    def backward(losses: torch.Tensor) -> torch.Tensor:
        return method.backward(losses, shared, task_specific=task_specific)

    return backward, method


def train_trial(
    problem: Problem,
    trial: TrialConfig,
    spec: SweepSpec,
    *,
    device: torch.device,
    report: Report | None = None,
) -> TrialOutcome:
    """Train and evaluate one trial; never raises for a diverging run (status ``diverged``).

    Exceptions other than divergence propagate: the caller records them as ``failed``.
    """
    with contextlib.ExitStack() as cleanup:  # hooks a method's trial registers on the model
        return _train(problem, trial, spec, device, report, cleanup)


def _train(
    problem: Problem,
    trial: TrialConfig,
    spec: SweepSpec,
    device: torch.device,
    report: Report | None,
    cleanup: contextlib.ExitStack,
) -> TrialOutcome:
    started = time.perf_counter()
    budget = spec.budget
    torch.manual_seed(trial.seed)
    model = problem.make_model(seed=trial.seed).to(device)
    model.train()
    backward, method = _build_backward(spec, problem, trial, model, device, cleanup)
    groups: list[dict[str, Any]] = [{"params": list(model.parameters())}]
    if method is not None and any(p.requires_grad for p in method.parameters()):
        groups.append({"params": [p for p in method.parameters() if p.requires_grad]})
    # A method that writes its own finished update into .grad (MTAdam) is stepped by plain SGD.
    replaces = method is not None and getattr(method, "replaces_optimizer", False)
    optimizer = torch.optim.SGD(groups, lr=trial.lr) if replaces else _make_optimizer(groups, budget.optimizer, trial.lr)
    generator = torch.Generator().manual_seed(trial.seed)

    outcome = TrialOutcome(status="completed", method_hparams=method.hparams() if method is not None else {})
    weight_sum: torch.Tensor | None = None
    steps = 0
    try:
        for epoch in range(budget.epochs):
            epoch_loss_sum: torch.Tensor | None = None
            epoch_steps = 0
            for step, batch in enumerate(problem.train_batches(epoch=epoch, generator=generator)):
                if budget.steps_per_epoch is not None and step >= budget.steps_per_epoch:
                    break
                losses = problem.task_losses(model, batch, device)
                _check_finite(losses, f"epoch {epoch + 1}, step {step + 1} (task losses)")
                optimizer.zero_grad(set_to_none=True)
                applied = backward(losses).detach()
                optimizer.step()
                weight_sum = applied.clone() if weight_sum is None else weight_sum + applied
                outcome.effective_weights_final = applied.cpu().tolist()
                detached = losses.detach()
                epoch_loss_sum = detached if epoch_loss_sum is None else epoch_loss_sum + detached
                epoch_steps += 1
                steps += 1
            if method is not None and epoch_loss_sum is not None:
                method.on_epoch_end(epoch, epoch_loss_sum / max(epoch_steps, 1))
            metrics = problem.evaluate(model, device)
            _check_finite(metrics, f"epoch {epoch + 1} (held-out metrics)")
            outcome.metrics = dict(metrics)
            outcome.history.append({"epoch": epoch + 1, **metrics})
            outcome.epochs_done = epoch + 1
            if report is not None:
                report({"epoch": epoch + 1, **metrics})
    except Diverged as error:
        outcome.status = "diverged"
        outcome.error = str(error)
    if outcome.status == "completed":
        outcome.test_metrics = final_test_metrics(problem, model, device)
    if weight_sum is not None and steps:
        outcome.effective_weights_mean = (weight_sum / steps).cpu().tolist()
    outcome.train_seconds = time.perf_counter() - started
    return outcome
