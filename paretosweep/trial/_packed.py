"""Packed trials: P scalarization trials (weight vectors) trained at once as a vectorised ensemble.

The P members' models are built as their unpacked trials build them (``torch.manual_seed(seed)``
then ``problem.make_model(seed)``; once per distinct seed) and stacked (``_stacked``). A step
computes ``[P, m]`` task losses with the problem's own ``packed_task_losses(params, buffers,
batch, device)`` when it has one (the built-ins do: a few large kernels, faster than vmap), else
its ``task_losses`` under :func:`torch.func.vmap` of :func:`torch.func.functional_call`, so
user problems need no functional variant. Each member's scalarized loss ``s(L_p, w_p)`` (the
trial's one :class:`~paretosweep.scalarizers.Scalarizer`, row by row) is computed for all
members at once and the P losses are *summed*: members share no parameter, so the gradient of
the sum with respect to member p's slice is exactly the gradient of ``s(L_p, w_p)``.

One Adam (or SGD with momentum 0.9, as in :func:`~paretosweep.trial.train_trial`) over the flat
tensor: both are elementwise, so each member follows its own optimiser's trajectory; a pack
shares one learning rate (:func:`train_packed` splits by ``lr``). All members see the same
batches, from a generator seeded with the *first* member's seed; ``make_packs`` groups trials of
equal seed and lr, so every packed member is the same computation as its unpacked trial (up to
float rounding of the batched kernels).

A member whose losses or held-out metrics become non-finite is ``diverged``: its loss is masked
and its gradients zeroed; the others go on. Evaluation: each epoch, ``packed_evaluate`` per
group when the problem has it, else each member's slice copied into one ordinary model for
``evaluate``; the test split once after the last epoch, the same way. A problem whose
``task_losses`` cannot run under ``vmap`` (data-dependent control flow, ``.item()``, in-place
buffer updates such as BatchNorm's) is detected on the first step: a warning names the reason
and the members are trained one by one with ``train_trial`` (same results, no speed-up).
Comparison *methods* are never packed.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig, build_scalarizer
from paretosweep.problems import Problem, has_test_split
from paretosweep.trial._held_out import as_test_metrics
from paretosweep.trial._outcome import TrialOutcome
from paretosweep.trial._problem_loop import make_optimizer
from paretosweep.trial._stacked import CPU_GROUP, LossModule, flat_parameters, load_member, member_groups, packed_hook
from paretosweep.trial._trainer import Report, train_trial

logger = logging.getLogger(__name__)


class _Unvectorisable(Exception):
    """The problem's batched losses (packed hook or ``vmap`` over ``task_losses``) raised on the first step."""


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
                "problem `%s` cannot be trained packed (%s failed: %s); training its %d weight vectors one by one instead.",
                getattr(problem, "name", type(problem).__name__),
                error.args[0],
                error.__cause__ or error,
                len(members),
            )
            results = [train_trial(problem, t, spec, device=device) for t in members]
        outcomes.update(zip(indices, results, strict=True))
    return [outcomes[i] for i in range(len(trials))]


def _train_vectorised(
    problem: Problem, trials: list[TrialConfig], spec: SweepSpec, *, device: torch.device, report: Report | None
) -> list[TrialOutcome]:
    """The loop of one pack: step every live member on each batch, evaluate each epoch, test once at the end."""
    started = time.perf_counter()
    pack = _Pack(problem, trials, spec, device)
    generator = torch.Generator().manual_seed(trials[0].seed)
    first = True
    for epoch in range(spec.budget.epochs):
        if not pack.any_alive:
            break
        for step, batch in enumerate(problem.train_batches(epoch=epoch, generator=generator)):
            if spec.budget.steps_per_epoch is not None and step >= spec.budget.steps_per_epoch:
                break
            try:
                losses = pack.losses(batch)
            except Exception as error:
                if first:
                    raise _Unvectorisable(pack.how) from error
                raise
            first = False
            if not pack.drop_diverged(losses, f"epoch {epoch + 1}, step {step + 1} (task losses)"):
                break
            pack.step(losses)
        pack.evaluate(epoch)
        if report is not None:
            report({"epoch": epoch + 1, "members_alive": sum(pack.alive_list)})
    pack.test()
    return pack.finish(time.perf_counter() - started)


class _Pack:
    """One pack's members: stacked parameters, optimiser, scalarizer, and what each member has done."""

    def __init__(self, problem: Problem, trials: list[TrialConfig], spec: SweepSpec, device: torch.device) -> None:
        self.problem, self.trials, self.device = problem, trials, device
        built: dict[int, nn.Module] = {}  # one model per seed, built as train_trial builds it
        for t in trials:
            if t.seed not in built:
                torch.manual_seed(t.seed)
                built[t.seed] = problem.make_model(seed=t.seed).to(device)
        models = [built[t.seed].train() for t in trials]
        params, buffers = stack_module_state(models)  # leaves [P, ...] (params require grad)
        wrapper = LossModule(problem, copy.deepcopy(models[0]), device)  # the architecture functional_call fills
        self.evaluator = models[0]  # an ordinary module each member's slice is copied into for evaluation
        self.groups = member_groups(len(trials), device, int(getattr(problem, "packed_cpu_group", CPU_GROUP)))
        self.flat, self.params, self.grads, self.group_params = flat_parameters(params, self.groups)
        self.buffers = buffers
        self.group_buffers = [{k: b[sl] for k, b in buffers.items()} for sl in self.groups]
        self.optimizer = make_optimizer([{"params": [self.flat]}], spec.budget.optimizer, trials[0].lr)
        self.weights = torch.tensor([list(t.weights or ()) for t in trials], dtype=torch.float32, device=device)
        self.scalarizer = build_scalarizer(spec, problem)
        hooked = packed_hook(problem, "packed_task_losses", "task_losses")
        if callable(hooked):
            self.batched: Any = lambda p, b, batch: hooked(p, b, batch, device)
            self.how = "its packed_task_losses"
        else:

            def member_losses(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], batch: Any) -> torch.Tensor:
                named = ({f"model.{k}": v for k, v in p.items()}, {f"model.{k}": v for k, v in b.items()})
                return functional_call(wrapper, named, (batch,))

            self.batched = vmap(member_losses, in_dims=(0, 0, None), randomness="different")
            self.how = "torch.func.vmap over its task_losses"
        n = len(trials)
        self.outcomes = [TrialOutcome(status="completed") for _ in trials]
        self.alive = torch.ones(n, dtype=torch.bool, device=device)
        self.alive_list = [True] * n
        self.steps = [0] * n
        self.weight_sum: torch.Tensor | None = None
        self.final: torch.Tensor | None = None  # each member's effective weights at its last step

    @property
    def any_alive(self) -> bool:
        return any(self.alive_list)

    def losses(self, batch: Any) -> torch.Tensor:
        """``[P, m]`` task losses, computed group by group (small tensors stay in cache on CPU)."""
        parts = [self.batched(p, b, batch) for p, b in zip(self.group_params, self.group_buffers, strict=True)]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _diverge(self, i: int, where: str, values: Any) -> None:
        self.outcomes[i].status = "diverged"
        self.outcomes[i].error = f"non-finite value at {where}: {values}"
        self.alive_list[i] = False
        self.alive[i] = False

    def drop_diverged(self, losses: torch.Tensor, where: str) -> bool:
        """Mark the members whose losses turned non-finite as diverged; whether any member is alive."""
        newly_dead = self.alive & ~torch.isfinite(losses).all(dim=1)
        if bool(newly_dead.any()):
            detached = losses.detach().cpu()
            for i in newly_dead.nonzero().flatten().tolist():
                self._diverge(i, where, detached[i].tolist())
        return self.any_alive

    def step(self, losses: torch.Tensor) -> None:
        """One optimiser step of every live member on its scalarized loss; record the weights applied."""
        scalar = self.scalarizer(losses, self.weights)  # [P]
        total = torch.where(self.alive, scalar, torch.zeros_like(scalar)).sum()
        assert self.flat.grad is not None
        self.flat.grad.zero_()  # in place: the members' .grad are views of it
        total.backward()
        if not bool(self.alive.all()):
            for grad in self.grads.values():
                grad[~self.alive] = 0.0
        self.optimizer.step()
        effective = self.scalarizer.effective_weights(losses, self.weights)  # [P, m], as an unpacked trial records them
        applied = torch.where(self.alive[:, None], effective, torch.zeros_like(effective))
        self.weight_sum = applied.clone() if self.weight_sum is None else self.weight_sum + applied
        self.final = applied.clone() if self.final is None else torch.where(self.alive[:, None], effective, self.final)
        for i, alive in enumerate(self.alive_list):
            self.steps[i] += alive

    def _per_member(self, hook: str, plain: str) -> list[dict[str, float]]:
        """``plain`` (``evaluate`` / ``evaluate_test``) of every member; the packed hook per group when there is one."""
        packed = packed_hook(self.problem, hook, plain)
        if callable(packed):
            return [
                metrics
                for sl, b in zip(self.groups, self.group_buffers, strict=True)
                for metrics in packed({k: v[sl] for k, v in self.params.items()}, b, self.device)
            ]
        evaluate = getattr(self.problem, plain)
        return [
            evaluate(load_member(self.evaluator, self.params, self.buffers, i), self.device) if alive else {}
            for i, alive in enumerate(self.alive_list)
        ]

    def evaluate(self, epoch: int) -> None:
        """The held-out metrics of every live member after an epoch (a non-finite one diverges it)."""
        if not self.any_alive:
            return
        for i, metrics in enumerate(self._per_member("packed_evaluate", "evaluate")):
            if not self.alive_list[i]:
                continue
            if not all(math.isfinite(v) for v in metrics.values()):
                self._diverge(i, f"epoch {epoch + 1} (held-out metrics)", metrics)
                continue
            outcome = self.outcomes[i]
            outcome.metrics = dict(metrics)
            outcome.history.append({"epoch": epoch + 1, **metrics})
            outcome.epochs_done = epoch + 1

    def test(self) -> None:
        """The test split, once after training, for the members still alive (reported only)."""
        if not has_test_split(self.problem) or not self.any_alive:
            return
        for i, metrics in enumerate(self._per_member("packed_evaluate_test", "evaluate_test")):
            if self.alive_list[i]:
                self.outcomes[i].test_metrics = as_test_metrics(metrics, self.problem)

    def finish(self, elapsed: float) -> list[TrialOutcome]:
        """The outcomes: effective weights (mean and last, float32 as unpacked), each member's share of the
        time, and each trained member's checkpoint ``{"model": state_dict, "epoch"}`` (the pack's optimiser
        state is shared by its members, so it is not part of one member's checkpoint)."""
        for i, outcome in enumerate(self.outcomes):
            if self.steps[i] and self.weight_sum is not None and self.final is not None:
                outcome.effective_weights_mean = (self.weight_sum[i] / self.steps[i]).cpu().tolist()
                outcome.effective_weights_final = self.final[i].cpu().tolist()
            outcome.train_seconds = elapsed / len(self.outcomes)
            if outcome.status == "completed" and outcome.epochs_done:
                member = load_member(self.evaluator, self.params, self.buffers, i)
                state = {k: v.detach().clone() for k, v in member.state_dict().items()}
                outcome.checkpoint = {"model": state, "epoch": outcome.epochs_done - 1}
        return self.outcomes
