"""Packed trials: P scalarization trials (weight vectors) trained at once as a vectorised ensemble.

The P members' models are built one by one (``problem.make_model(seed)`` per member, so each
starts exactly where its own unpacked trial would) and stacked with
:func:`torch.func.stack_module_state`: every parameter becomes one leaf tensor ``[P, ...]``. A
training step runs the problem's own ``task_losses`` once for all members under
:func:`torch.func.vmap` of :func:`torch.func.functional_call` (a small wrapper module whose
forward calls ``problem.task_losses(model, batch, device)``, so built-in and user problems need
no functional variant), giving ``[P, m]`` task losses. Each member's scalarized loss
``s(L_p, w_p)`` is computed for all members at once and the P losses are *summed*: members share
no parameter, so the gradient of the sum with respect to member p's slice is exactly the
gradient of ``s(L_p, w_p)``.

Optimiser: one ``torch.optim.Adam`` (or SGD with momentum 0.9, as in :func:`train_trial`) over
the stacked tensors. Both are elementwise (Adam's moments, bias correction and update are
computed per element; SGD's momentum buffer likewise), so each member's slice follows exactly
the trajectory of its own optimiser; all members of one pack therefore share one learning rate
(:func:`train_packed` splits a pack by ``lr`` when they differ).

Data: all members see the same batches, drawn from one generator seeded with the *first*
member's seed (an unpacked trial seeds its generator with its own seed). A member whose seed
equals the first member's seed is therefore the same computation as its unpacked trial (up to
float rounding of the batched kernels); :func:`make_packs` only groups trials of equal seed and
lr, so in a sweep every packed member is equivalent to its unpacked trial.

Divergence: a member whose task losses (or held-out metrics) become non-finite is marked
``diverged`` (same message as an unpacked trial), its loss is masked out and its gradients
zeroed; the other members go on. Evaluation: once per epoch per member, by copying its slice into
one ordinary model and calling ``problem.evaluate``.

A problem whose ``task_losses`` cannot run under ``vmap`` (data-dependent Python control flow,
``.item()``, in-place buffer updates such as BatchNorm's running statistics, ...) is detected on
the first step: a warning names the reason and the members are trained one by one with
:func:`train_trial` (same results, no speed-up). Comparison *methods* are never packed.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.problems._protocol import Problem
from paretosweep.trial._trainer import Report, TrialOutcome, _make_optimizer, train_trial

logger = logging.getLogger(__name__)

#: ``pack_size: auto`` on CPU: at most this many members per pack.
AUTO_PACK_CPU = 16
#: ``pack_size: auto`` on a GPU: at most this many members per pack.
AUTO_PACK_GPU = 64


class _LossModule(nn.Module):
    """``forward(batch) = problem.task_losses(model, batch, device)``; parameters named ``model.*``."""

    def __init__(self, problem: Problem, model: nn.Module, device: torch.device) -> None:
        super().__init__()
        self.model = model
        self._problem = problem
        self._device = device

    def forward(self, batch: Any) -> torch.Tensor:
        return self._problem.task_losses(self.model, batch, self._device)


def auto_pack_size(n_trials: int, device: torch.device | str = "cpu") -> int:
    """``pack_size: auto``: ``min(16, n_trials)`` on CPU, ``min(64, n_trials)`` on a GPU."""
    cap = AUTO_PACK_GPU if torch.device(device).type == "cuda" else AUTO_PACK_CPU
    return max(1, min(cap, n_trials))


def make_packs(trials: Sequence[TrialConfig], pack_size: int) -> list[list[TrialConfig]]:
    """Group scalarization trials of equal ``(seed, lr)`` into packs of at most ``pack_size``.

    Method trials stay alone (one per pack). Order is kept within each group, so packs are
    deterministic for a given plan.
    """
    if pack_size < 1:
        raise ValueError(f"pack_size should be >= 1; found {pack_size}")
    groups: dict[tuple[int, float], list[TrialConfig]] = {}
    packs: list[list[TrialConfig]] = []
    for trial in trials:
        if trial.kind != "scalarization" or pack_size == 1:
            packs.append([trial])
            continue
        group = groups.setdefault((trial.seed, trial.lr), [])
        group.append(trial)
        if len(group) == pack_size:
            packs.append(list(group))
            group.clear()
    packs.extend(list(g) for g in groups.values() if g)
    return packs


class _Unvectorisable(Exception):
    """``vmap`` over the problem's ``task_losses`` raised."""


def train_packed(
    problem: Problem,
    trials: list[TrialConfig],
    spec: SweepSpec,
    *,
    device: torch.device,
    report: Report | None = None,
) -> list[TrialOutcome]:
    """Train the scalarization ``trials`` as one vectorised ensemble; one outcome per trial, in order.

    ``train_seconds`` of each outcome is the pack's wall time divided by the number of members
    trained together (its amortised share). Non-scalarization trials, and packs whose problem
    cannot be vectorised, run one by one with :func:`train_trial`. ``report`` (if given) is
    called once per epoch with ``{"epoch", "members_alive"}``.

    Exceptions other than divergence propagate (the caller records the whole pack as failed).
    """
    if not trials:
        return []
    outcomes: dict[int, TrialOutcome] = {}
    by_lr: dict[float, list[int]] = {}
    for i, trial in enumerate(trials):
        if trial.kind != "scalarization":
            outcomes[i] = train_trial(problem, trial, spec, device=device)
        else:
            by_lr.setdefault(trial.lr, []).append(i)
    for indices in by_lr.values():
        members = [trials[i] for i in indices]
        try:
            results = _train_vectorised(problem, members, spec, device=device, report=report)
        except _Unvectorisable as error:
            logger.warning(
                "problem `%s` cannot be trained packed (torch.func.vmap over its task_losses failed: %s); "
                "training its %d weight vectors one by one instead.",
                getattr(problem, "name", type(problem).__name__), error.__cause__ or error, len(members),
            )
            results = [train_trial(problem, t, spec, device=device) for t in members]
        for i, outcome in zip(indices, results, strict=True):
            outcomes[i] = outcome
    return [outcomes[i] for i in range(len(trials))]


def _ideal(spec: SweepSpec, problem: Problem, m: int, device: torch.device) -> torch.Tensor | None:
    """The fixed ideal point ``[m]`` of the spec's scalarizer, or None for ``running_min``."""
    ideal = spec.scalarizer.ideal
    if ideal == "running_min":
        return None
    values = [t.loss_lower_bound for t in problem.tasks] if ideal == "problem" else list(ideal)
    if len(values) != m:
        raise ValueError(f"`scalarizer.ideal` should have {m} entries (one per task); found {len(values)}.")
    return torch.tensor(values, dtype=torch.float32, device=device)


def _scalarize(name: str, losses: torch.Tensor, weights: torch.Tensor, z: torch.Tensor | None, mu: float) -> torch.Tensor:
    """``[P, m]`` losses and weights -> ``[P]`` scalarized losses (as :class:`Scalarizer`, per row)."""
    if name == "linear":
        return (weights * losses).sum(dim=1)
    assert z is not None
    shifted = weights * (losses - z.to(dtype=losses.dtype))
    if name == "tchebycheff":
        return shifted.max(dim=1).values
    return mu * torch.logsumexp(shifted / mu, dim=1)


def _train_vectorised(
    problem: Problem, trials: list[TrialConfig], spec: SweepSpec, *, device: torch.device, report: Report | None
) -> list[TrialOutcome]:
    started = time.perf_counter()
    budget, sc = spec.budget, spec.scalarizer
    n = len(trials)
    torch.manual_seed(trials[0].seed)
    models = [problem.make_model(seed=t.seed).to(device) for t in trials]
    for model in models:
        model.train()
    params, buffers = stack_module_state(models)  # leaves [P, ...] (params require grad)
    base = copy.deepcopy(models[0])  # the architecture; functional_call swaps every tensor of it
    wrapper = _LossModule(problem, base, device)
    evaluator = models[0]  # an ordinary module each member's slice is copied into for evaluation
    del models
    names = list(params)
    optimizer = _make_optimizer([{"params": [params[k] for k in names]}], budget.optimizer, trials[0].lr)
    weights = torch.tensor([list(t.weights or ()) for t in trials], dtype=torch.float32, device=device)
    m = weights.shape[1]
    z_fixed = _ideal(spec, problem, m, device) if sc.name != "linear" else None
    z_running: torch.Tensor | None = None
    generator = torch.Generator().manual_seed(trials[0].seed)

    def member_losses(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], batch: Any) -> torch.Tensor:
        return functional_call(wrapper, ({f"model.{k}": v for k, v in p.items()}, {f"model.{k}": v for k, v in b.items()}), (batch,))

    batched = vmap(member_losses, in_dims=(0, 0, None), randomness="different")

    outcomes = [TrialOutcome(status="completed") for _ in trials]
    alive = torch.ones(n, dtype=torch.bool, device=device)
    alive_list = [True] * n
    steps = [0] * n
    weight_sum: torch.Tensor | None = None
    first = True
    for epoch in range(budget.epochs):
        if not any(alive_list):
            break
        for step, batch in enumerate(problem.train_batches(epoch=epoch, generator=generator)):
            if budget.steps_per_epoch is not None and step >= budget.steps_per_epoch:
                break
            if first:
                try:
                    losses = batched(params, buffers, batch)
                except Exception as error:  # noqa: BLE001 - any failure of vmap means "not vectorisable"
                    raise _Unvectorisable(f"{type(error).__name__}: {error}") from error
                first = False
            else:
                losses = batched(params, buffers, batch)  # [P, m]
            finite = torch.isfinite(losses).all(dim=1)
            newly_dead = alive & ~finite
            if bool(newly_dead.any()):
                detached = losses.detach().cpu()
                for i in newly_dead.nonzero().flatten().tolist():
                    outcomes[i].status = "diverged"
                    outcomes[i].error = f"non-finite value at epoch {epoch + 1}, step {step + 1} (task losses): {detached[i].tolist()}"
                    alive_list[i] = False
                alive = alive & finite
                if not any(alive_list):
                    break
            z = z_fixed
            if sc.ideal == "running_min" and sc.name != "linear":
                current = losses.detach() - sc.ideal_margin
                z_running = current if z_running is None else torch.minimum(z_running, current)
                z = z_running
            scalar = _scalarize(sc.name, losses, weights, z, sc.mu)
            total = torch.where(alive, scalar, torch.zeros_like(scalar)).sum()
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            if not bool(alive.all()):
                dead = ~alive
                for k in names:
                    grad = params[k].grad
                    if grad is not None:
                        grad[dead] = 0.0
            optimizer.step()
            applied = torch.where(alive[:, None], weights, torch.zeros_like(weights))
            weight_sum = applied.clone() if weight_sum is None else weight_sum + applied
            for i in range(n):
                steps[i] += alive_list[i]
        for i, trial in enumerate(trials):
            if not alive_list[i]:
                continue
            with torch.no_grad():
                for name, tensor in evaluator.named_parameters():
                    tensor.copy_(params[name][i])
                for name, tensor in evaluator.named_buffers():
                    if name in buffers:
                        tensor.copy_(buffers[name][i])
            metrics = problem.evaluate(evaluator, device)
            if not all(math.isfinite(v) for v in metrics.values()):
                outcomes[i].status = "diverged"
                outcomes[i].error = f"non-finite value at epoch {epoch + 1} (held-out metrics): {metrics}"
                alive_list[i] = False
                alive[i] = False
                continue
            outcomes[i].metrics = dict(metrics)
            outcomes[i].history.append({"epoch": epoch + 1, **metrics})
            outcomes[i].epochs_done = epoch + 1
        if report is not None:
            report({"epoch": epoch + 1, "members_alive": sum(alive_list)})
    elapsed = time.perf_counter() - started
    for i, trial in enumerate(trials):
        if steps[i] and weight_sum is not None:  # as an unpacked trial computes them (float32)
            outcomes[i].effective_weights_mean = (weight_sum[i] / steps[i]).cpu().tolist()
            outcomes[i].effective_weights_final = weights[i].cpu().tolist()
        outcomes[i].train_seconds = elapsed / n
    return outcomes
