"""Packed trials: P scalarization trials (weight vectors) trained at once as a vectorised ensemble.

The P members' models are built as their unpacked trials build them (``torch.manual_seed(seed)``
then ``problem.make_model(seed)``; once per distinct seed, since that gives the same model) and
stacked with :func:`torch.func.stack_module_state`. The stacked parameters are then laid out in
one flat tensor (:func:`_flat_parameters`) whose views are the ``[P, ...]`` parameters. A training
step computes ``[P, m]`` task losses: with the problem's own ``packed_task_losses(params,
buffers, batch, device)`` when it has one (the built-ins do: a few large kernels, faster than
vmap), else its ``task_losses`` under :func:`torch.func.vmap` of
:func:`torch.func.functional_call` (a small wrapper module whose forward calls
``problem.task_losses(model, batch, device)``, so user problems need no functional variant; a
packed hook inherited by a class that overrides ``task_losses`` / ``evaluate`` is ignored). On
CPU the members run in consecutive groups of at most :data:`CPU_GROUP` (or the problem's
``packed_cpu_group``) so each group's activations stay in cache; measured on recsys at P=64,
groups of 16 were 1.4x faster than one group of 64. Each member's scalarized loss ``s(L_p, w_p)``
is computed for all members at once and the P losses are *summed*: members share no parameter,
so the gradient of the sum with respect to member p's slice is exactly the gradient of
``s(L_p, w_p)``.

Optimiser: one ``torch.optim.Adam`` (or SGD with momentum 0.9, as in :func:`train_trial`) over
the flat tensor. Both are elementwise (Adam's moments, bias correction and update are computed
per element; SGD's momentum buffer likewise), so each member's slice follows exactly the
trajectory of its own optimiser; all members of one pack therefore share one learning rate
(:func:`train_packed` splits a pack by ``lr`` when they differ).

Data: all members see the same batches, drawn from one generator seeded with the *first*
member's seed (an unpacked trial seeds its generator with its own seed). A member whose seed
equals the first member's seed is therefore the same computation as its unpacked trial (up to
float rounding of the batched kernels); :func:`make_packs` only groups trials of equal seed and
lr, so in a sweep every packed member is equivalent to its unpacked trial.

Divergence: a member whose task losses (or held-out metrics) become non-finite is marked
``diverged`` (same message as an unpacked trial), its loss is masked out and its gradients
zeroed; the other members go on. Evaluation: once per epoch, with the problem's
``packed_evaluate(params, buffers, device) -> [metrics per member]`` per group when it has one,
else per member by copying its slice into one ordinary model and calling ``problem.evaluate``.
A problem with a test split is evaluated on it once after the last epoch, the same way
(``packed_evaluate_test``, else ``evaluate_test`` per member), for the members still alive.

A problem whose ``task_losses`` cannot run under ``vmap`` (or whose ``packed_task_losses`` raises) (data-dependent Python control flow,
``.item()``, in-place buffer updates such as BatchNorm's running statistics, ...) is detected on
the first step: a warning names the reason and the members are trained one by one with
:func:`train_trial` (same results, no speed-up). Comparison *methods* are never packed.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.problems import Problem, has_test_split
from paretosweep.scalarizers import effective_weights, scalarize
from paretosweep.trial._held_out import as_test_metrics
from paretosweep.trial._trainer import Report, TrialOutcome, _make_optimizer, train_trial

logger = logging.getLogger(__name__)

#: ``pack_size: auto``: at most this many members per pack (the largest pack size measured).
AUTO_PACK_MAX = 64
#: ``pack_size: auto`` on CPU: members x model parameters per pack at most (2^18). Measured
#: (benchmarks/RESULTS.md, throughput): recsys (3,235 parameters) gains 7x at P=16 and 8x at P=64;
#: multimnist (22,350 parameters, convolution-bound) gains 1.0x to 1.3x at any P, so a large pack
#: buys it nothing but memory and a coarser spread of weight vectors over the workers.
AUTO_PACK_PARAMS_CPU = 2**18
#: ``pack_size: auto`` on a GPU: members x parameters per pack at most (2^26: with gradients and
#: Adam's two moments about 1 GiB of float32 state, well inside any GPU that trains the model).
AUTO_PACK_PARAMS_GPU = 2**26
#: On CPU a pack's step runs its members in groups of at most this many (see :func:`_member_groups`).
CPU_GROUP = 16


class _LossModule(nn.Module):
    """``forward(batch) = problem.task_losses(model, batch, device)``; parameters named ``model.*``."""

    def __init__(self, problem: Problem, model: nn.Module, device: torch.device) -> None:
        super().__init__()
        self.model = model
        self._problem = problem
        self._device = device

    def forward(self, batch: Any) -> torch.Tensor:
        return self._problem.task_losses(self.model, batch, self._device)


def auto_pack_size(n_trials: int, device: torch.device | str = "cpu", n_params: int | None = None) -> int:
    """``pack_size: auto`` from the model's size and the trial's device.

    ``min(64, n_trials, 2^floor(log2(budget / n_params)))`` with ``budget`` =
    :data:`AUTO_PACK_PARAMS_CPU` (2^18) on CPU or :data:`AUTO_PACK_PARAMS_GPU` (2^26) on a GPU;
    without ``n_params``, ``min(64, n_trials)`` on a GPU and ``min(16, n_trials)`` on CPU.

    Examples:
        >>> auto_pack_size(100, "cpu", n_params=3_235), auto_pack_size(100, "cpu", n_params=22_350)
        (64, 8)
        >>> auto_pack_size(100, "cuda", n_params=22_350), auto_pack_size(5, "cpu", n_params=10)
        (64, 5)
    """
    gpu = torch.device(device).type == "cuda"
    if n_params is None:
        cap = AUTO_PACK_MAX if gpu else 16
    else:
        budget = AUTO_PACK_PARAMS_GPU if gpu else AUTO_PACK_PARAMS_CPU
        fits = max(1, budget // max(1, n_params))
        cap = min(AUTO_PACK_MAX, 1 << (fits.bit_length() - 1))  # largest power of 2 <= fits
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


def _flat_parameters(
    params: dict[str, torch.Tensor], groups: Sequence[slice]
) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor], list[dict[str, torch.Tensor]]]:
    """One flat tensor holding every stacked parameter; views of it and of its grad; per group of members, leaf views.

    Returns ``(flat, values, grads, group_leaves)``: ``values[k]`` / ``grads[k]`` are ``[P, ...]``
    views of ``flat`` / ``flat.grad`` (to read, and to zero a dead member's gradient);
    ``group_leaves[g][k]`` are the leaves a training step differentiates, group by group.

    ``flat`` is laid out parameter by parameter, members leading, so a group of consecutive
    members of one parameter is one contiguous slice. Each view's ``.grad`` is the matching view
    of ``flat.grad``, which autograd accumulates into in place: the optimiser steps one tensor
    (a few large elementwise ops per step, not a few per parameter tensor), with the same
    elementwise arithmetic, hence the same trajectory per member.
    """
    flat = torch.cat([t.detach().reshape(-1) for t in params.values()])
    flat.grad = torch.zeros_like(flat)
    views: list[dict[str, torch.Tensor]] = [{} for _ in groups]
    values: dict[str, torch.Tensor] = {}
    grads: dict[str, torch.Tensor] = {}
    offset = 0
    for name, tensor in params.items():
        per_member = tensor[0].numel()
        values[name] = flat[offset : offset + tensor.numel()].view(tensor.shape)
        grads[name] = flat.grad[offset : offset + tensor.numel()].view(tensor.shape)
        for group, sl in zip(views, groups, strict=True):
            lo, hi = offset + sl.start * per_member, offset + sl.stop * per_member
            view = flat[lo:hi].view(sl.stop - sl.start, *tensor.shape[1:]).requires_grad_()
            view.grad = flat.grad[lo:hi].view(view.shape)
            group[name] = view
        offset += tensor.numel()
    return flat, values, grads, views


def _packed_hook(problem: Problem, hook: str, plain: str) -> Any:
    """``problem.<hook>`` if it has one that belongs to its ``<plain>`` method, else None.

    A subclass that overrides ``task_losses`` (or ``evaluate``) but inherits the packed variant
    would be trained (or evaluated) with its parent's formula: the hook is used only when it is
    defined on the class that defines ``<plain>`` or on a subclass of it.
    """
    method = getattr(problem, hook, None)
    if not callable(method):
        return None
    mro = type(problem).__mro__
    owner = next((c for c in mro if hook in vars(c)), None)
    plain_owner = next((c for c in mro if plain in vars(c)), None)
    if owner is None:  # set on the instance
        return method
    if plain_owner is not None and not issubclass(owner, plain_owner):
        return None
    return method


def _member_groups(n: int, device: torch.device, cpu_group: int = CPU_GROUP) -> list[slice]:
    """Consecutive groups of at most ``cpu_group`` members on CPU (one group on a GPU).

    On CPU a group's activations should stay in cache: a problem with large activations per
    member sets a smaller ``packed_cpu_group`` (multimnist: 4, measured).
    """
    size = n if device.type == "cuda" else max(1, cpu_group)
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _load_member(model: nn.Module, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], i: int) -> nn.Module:
    """``model`` with member ``i``'s slice of the stacked ``params`` / ``buffers`` copied in (to evaluate it alone)."""
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            tensor.copy_(params[name][i])
        for name, tensor in model.named_buffers():
            if name in buffers:
                tensor.copy_(buffers[name][i])
    return model


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
                "problem `%s` cannot be trained packed (%s failed: %s); "
                "training its %d weight vectors one by one instead.",
                getattr(problem, "name", type(problem).__name__), error.args[0], error.__cause__ or error, len(members),
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


def _train_vectorised(
    problem: Problem, trials: list[TrialConfig], spec: SweepSpec, *, device: torch.device, report: Report | None
) -> list[TrialOutcome]:
    started = time.perf_counter()
    budget, sc = spec.budget, spec.scalarizer
    n = len(trials)
    built: dict[int, nn.Module] = {}  # one model per seed, built as train_trial builds it
    for t in trials:
        if t.seed not in built:
            torch.manual_seed(t.seed)
            built[t.seed] = problem.make_model(seed=t.seed).to(device)
    models = [built[t.seed] for t in trials]
    for model in models:
        model.train()
    params, buffers = stack_module_state(models)  # leaves [P, ...] (params require grad)
    base = copy.deepcopy(models[0])  # the architecture; functional_call swaps every tensor of it
    wrapper = _LossModule(problem, base, device)
    evaluator = models[0]  # an ordinary module each member's slice is copied into for evaluation
    del models, built
    groups = _member_groups(n, device, int(getattr(problem, "packed_cpu_group", CPU_GROUP)))
    flat, params, grads, group_params = _flat_parameters(params, groups)
    group_buffers = [{k: b[sl] for k, b in buffers.items()} for sl in groups]
    optimizer = _make_optimizer([{"params": [flat]}], budget.optimizer, trials[0].lr)
    weights = torch.tensor([list(t.weights or ()) for t in trials], dtype=torch.float32, device=device)
    m = weights.shape[1]
    z_fixed = _ideal(spec, problem, m, device) if sc.name != "linear" else None
    z_running: torch.Tensor | None = None
    generator = torch.Generator().manual_seed(trials[0].seed)

    def member_losses(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], batch: Any) -> torch.Tensor:
        return functional_call(wrapper, ({f"model.{k}": v for k, v in p.items()}, {f"model.{k}": v for k, v in b.items()}), (batch,))

    packed_task_losses = _packed_hook(problem, "packed_task_losses", "task_losses")
    packed_evaluate = _packed_hook(problem, "packed_evaluate", "evaluate")
    if callable(packed_task_losses):  # the problem's own packed formulation (faster than vmap)

        def batched(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], batch: Any) -> torch.Tensor:
            return packed_task_losses(p, b, batch, device)

    else:
        batched = vmap(member_losses, in_dims=(0, 0, None), randomness="different")

    how = "its packed_task_losses" if callable(packed_task_losses) else "torch.func.vmap over its task_losses"

    def step_losses(batch: Any) -> torch.Tensor:
        """``[P, m]`` task losses, computed group by group (small tensors stay in cache on CPU)."""
        parts = [batched(p, b, batch) for p, b in zip(group_params, group_buffers, strict=True)]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    outcomes = [TrialOutcome(status="completed") for _ in trials]
    alive = torch.ones(n, dtype=torch.bool, device=device)
    alive_list = [True] * n
    steps = [0] * n
    weight_sum: torch.Tensor | None = None
    final: torch.Tensor | None = None  # each member's effective weights at its last step
    first = True
    for epoch in range(budget.epochs):
        if not any(alive_list):
            break
        for step, batch in enumerate(problem.train_batches(epoch=epoch, generator=generator)):
            if budget.steps_per_epoch is not None and step >= budget.steps_per_epoch:
                break
            if first:
                try:
                    losses = step_losses(batch)
                except Exception as error:
                    raise _Unvectorisable(how) from error
                first = False
            else:
                losses = step_losses(batch)  # [P, m]
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
            scalar = scalarize(sc.name, losses, weights, z, mu=sc.mu)
            total = torch.where(alive, scalar, torch.zeros_like(scalar)).sum()
            assert flat.grad is not None
            flat.grad.zero_()  # in place: the members' .grad are views of it
            total.backward()
            if not bool(alive.all()):
                dead = ~alive
                for grad in grads.values():
                    grad[dead] = 0.0
            optimizer.step()
            effective = effective_weights(sc.name, losses, weights, z, mu=sc.mu)  # [P, m], as an unpacked trial records them
            applied = torch.where(alive[:, None], effective, torch.zeros_like(effective))
            weight_sum = applied.clone() if weight_sum is None else weight_sum + applied
            final = applied.clone() if final is None else torch.where(alive[:, None], effective, final)
            for i in range(n):
                steps[i] += alive_list[i]
        packed_metrics = None
        if callable(packed_evaluate) and any(alive_list):  # the problem evaluates all members at once
            packed_metrics = [
                metrics
                for sl, b in zip(groups, group_buffers, strict=True)
                for metrics in packed_evaluate({k: v[sl] for k, v in params.items()}, b, device)
            ]
        for i, trial in enumerate(trials):
            if not alive_list[i]:
                continue
            if packed_metrics is not None:
                metrics = packed_metrics[i]
            else:
                metrics = problem.evaluate(_load_member(evaluator, params, buffers, i), device)
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
    if has_test_split(problem) and any(alive_list):  # once, after training: the test split, reported only
        packed_test = _packed_hook(problem, "packed_evaluate_test", "evaluate_test")
        if callable(packed_test):
            tested = [
                metrics
                for sl, b in zip(groups, group_buffers, strict=True)
                for metrics in packed_test({k: v[sl] for k, v in params.items()}, b, device)
            ]
        else:
            tested = [problem.evaluate_test(_load_member(evaluator, params, buffers, i), device) if alive_list[i] else {} for i in range(n)]  # type: ignore[attr-defined]
        for i in range(n):
            if alive_list[i]:
                outcomes[i].test_metrics = as_test_metrics(tested[i], problem)
    elapsed = time.perf_counter() - started
    for i, trial in enumerate(trials):
        if steps[i] and weight_sum is not None and final is not None:  # as an unpacked trial computes them (float32)
            outcomes[i].effective_weights_mean = (weight_sum[i] / steps[i]).cpu().tolist()
            outcomes[i].effective_weights_final = final[i].cpu().tolist()
        outcomes[i].train_seconds = elapsed / n
    return outcomes
