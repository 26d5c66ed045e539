"""``TrialContext``: what a training function gets for one trial of a sweep.

A trainable is any function ``train(ctx)``. It owns its model, data, optimiser, schedule,
clipping and precision; the context owns what makes it a trial of the sweep::

    def train(ctx):
        model = Net().to(ctx.device)
        opt = torch.optim.AdamW(model.parameters(), lr=ctx.config["lr"])
        for epoch in range(ctx.config["epochs"]):
            for x, y in loader:
                opt.zero_grad()
                ctx.backward({"a": loss_a(model, x, y), "b": loss_b(model, x, y)}, shared=model.trunk.parameters())
                opt.step()
            ctx.report({"a_loss": ..., "b_loss": ...}, checkpoint={"model": model.state_dict()})

``ctx.backward(losses)`` applies the trial's scalarizer (``s(L, w)``, then one backward) or its
comparison method (which writes ``.grad`` as its paper defines, see ``paretosweep.methods``);
the user steps their optimiser. ``ctx.report(metrics, checkpoint=...)`` is ``tune.report``: the
metrics must hold the objective columns; the checkpoint (any ``torch.save``-able object) is
stored through Ray Tune in the run's storage. Neither needs Ray here: the reporting sink is
given (Ray Tune's in a sweep, a list in :func:`paretosweep.trial.train_trial`).

Weight conditioning (``sampler: conditioned``): the conditioned training draws a weight vector per
batch, ``w = ctx.sample_weights(batch_size)`` (``[m]``, or ``[batch_size, m]`` with
``sampler.per_sample: true``), and ``ctx.backward(losses)`` applies the scalarizer at that ``w``
(``losses`` ``[m]``, or ``[batch_size, m]`` per sample). The trainable conditions its model on
``w`` (e.g. FiLM on its trunk, or ``w`` concatenated to the input), and, when ``ctx.conditioned``,
ends by measuring it on every proposal weight vector, ``ctx.evaluate_proposals(lambda w:
metrics_of(model, w))`` (see ``paretosweep.trial._conditioned``). In every other trial
``ctx.sample_weights`` returns the trial's own fixed weights, so the same code trains a
verification trial, which starts from the conditioned checkpoint (``ctx.checkpoint``)::

    for x, y in loader:
        w = ctx.sample_weights(len(x))
        opt.zero_grad()
        ctx.backward(losses_of(model(x, w), y))
        opt.step()

Mixed precision: pass the ``torch.amp.GradScaler`` as ``scaler=`` and the *unscaled* losses.
A scalarizer then backpropagates ``scaler.scale(s(L, w))``. A comparison method computes its
weights and gradients from the unscaled losses, exactly as without AMP, and the gradients it
wrote are then multiplied by the scale, so ``scaler.step(opt)`` / ``scaler.update()`` work as
usual (its own learnable weights, e.g. uncertainty weighting's, step unscaled). Methods' per-task
backward passes are therefore not protected from fp16 underflow: use bf16 autocast there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig, make_scalarizer
from paretosweep.trial._graph import graph_leaves
from paretosweep.trial._outcome import Diverged, TrainableError, TrialOutcome

#: ``sink(metrics, checkpoint)``: where ``ctx.report`` sends each report (``tune.report`` in a sweep).
Sink = Callable[[dict[str, float], Any], None]


class TrialContext:
    """One trial's weights, configuration and device, and the two calls a trainable makes.

    Attributes:
        trial_id: the trial's id (unique in the run).
        tasks: task names, in weight order.
        weights: ``{task: weight}`` of a scalarization trial; None for a comparison method.
        method: the comparison method's name (None for a scalarization trial).
        config: ``problem.config`` plus the trial's ``lr``, ``epochs``, ``steps_per_epoch``,
            ``optimizer``, ``seed`` and ``rung_epochs`` (the epochs, counted as ``ctx.report``
            counts them, at which the spec's ``scheduler`` may stop this trial: its rungs
            ``ceil(grace_epochs * reduction_factor^k) < epochs`` for a scalarization trial, ``()``
            without a scheduler or for a comparison method, which is never stopped; a loop with
            a test split measures it there too, so a stopped trial's row has test values).
        method_options: the comparison method's options, defaults filled in (``{}`` for a
            scalarization trial). The ``unitary`` arm's ``dropout`` and ``early_stopping``
            (``{"patience": k}`` or None) are for the loop to apply: the built-in loop does; a
            user's loop can with ``paretosweep.methods.regularisation_of(ctx.method_options)``,
            `RepresentationDropout` and `EarlyStopping`, ending with :meth:`select_epoch`.
        seed: the trial's seed (``torch.manual_seed`` is already set to it).
        device: the GPU Ray gave the trial, else the CPU.
        checkpoint: the object last reported with ``checkpoint=`` when the trial is retried or
            restored; None for a fresh trial. The epochs reported before it, the effective-weight
            counts and a comparison method's state (its ``state_dict``) are restored with it, so
            the next ``ctx.report`` is the epoch after the checkpoint's.
        problem: the Problem object of a problem-protocol spec (None for a function trainable).
    """

    def __init__(
        self,
        trial: TrialConfig,
        spec: SweepSpec,
        *,
        tasks: Sequence[str],
        objective_columns: Sequence[str],
        metric_columns: Sequence[str],
        lower_bounds: Sequence[float],
        device: torch.device,
        sink: Sink,
        name: str,
        restored: Mapping[str, Any] | None = None,
        problem: Any = None,
        test_columns: Mapping[str, str] | None = None,
    ) -> None:
        self.trial_id = trial.trial_id
        self.tasks = tuple(tasks)
        self.weights = None if trial.weights is None else dict(zip(self.tasks, trial.weights, strict=True))
        self.method = trial.method
        budget = spec.budget
        self.config: dict[str, Any] = {
            **spec.problem.config,
            "lr": trial.lr,
            "epochs": budget.epochs,
            "steps_per_epoch": budget.steps_per_epoch,
            "optimizer": budget.optimizer,
            "seed": trial.seed,
            "rung_epochs": _rung_epochs(spec) if trial.kind == "scalarization" else (),
        }
        self.seed = trial.seed
        self.device = device
        self.checkpoint: Any = None
        self.problem = problem
        self._trial, self._spec, self._name, self._sink = trial, spec, name, sink
        self._objectives = tuple(objective_columns)
        self._metrics = tuple(metric_columns)
        self._tests = dict(test_columns or {})
        self._lower_bounds = tuple(lower_bounds)
        self._method: Any = None
        self._scalarizer: Any = None
        self._method_optimizer: torch.optim.Optimizer | None = None
        self._task_specific: dict[frozenset[int], list[Tensor]] = {}
        self._weight_sum: Tensor | None = None
        self._final: Tensor | None = None
        self._steps = 0
        self._epoch_loss_sum: Tensor | None = None
        self._epoch_steps = 0
        self.outcome = TrialOutcome(status="completed")
        self._method_state: dict[str, Any] | None = None
        torch.manual_seed(trial.seed)
        if restored is not None:
            self._restore(restored)

    # -- checkpoints: the trainable's object, wrapped with the context's own state ---------
    def _wrap(self, checkpoint: Any) -> dict[str, Any]:
        """What is saved for ``ctx.report(..., checkpoint=obj)``: ``obj`` and what the trial has counted so far."""
        state: dict[str, Any] = {
            "epochs_done": self.outcome.epochs_done,
            "history": list(self.outcome.history),
            "metrics": dict(self.outcome.metrics),
            "weight_sum": self._weight_sum,
            "final": self._final,
            "steps": self._steps,
            "test_metrics": dict(self.outcome.test_metrics),
        }
        if self._method is not None:
            state["method"] = self._method.state_dict()
            if self._method_optimizer is not None:
                state["method_optimizer"] = self._method_optimizer.state_dict()
        return {"trainable": checkpoint, "context": state}

    def _restore(self, saved: Mapping[str, Any]) -> None:
        """Continue from a saved :meth:`_wrap`: ``ctx.checkpoint`` is the trainable's object, the counts go on."""
        self.checkpoint = saved["trainable"]
        state = saved["context"]
        self.outcome.epochs_done = int(state["epochs_done"])
        self.outcome.history = list(state["history"])
        self.outcome.metrics = dict(state["metrics"])
        self.outcome.test_metrics = dict(state.get("test_metrics") or {})
        self._weight_sum, self._final, self._steps = state["weight_sum"], state["final"], int(state["steps"])
        self._method_state = state if "method" in state else None

    #: True in the weight-conditioned training of ``sampler: conditioned`` (see :meth:`sample_weights`).
    conditioned = False

    def sample_weights(self, batch_size: int | None = None) -> Tensor:
        """The ``[m]`` weight vector to condition this batch of ``batch_size`` samples on.

        In a trial, its fixed weights (equal weights ``1/m`` for a comparison method). The
        conditioned training's context draws them from a Dirichlet distribution instead, and
        returns ``[batch_size, m]``, one per sample, with ``sampler.per_sample``.
        """
        del batch_size  # one fixed weight vector for every sample of a trial
        m = len(self.tasks)
        weights = self._trial.weights if self._trial.weights is not None else [1.0 / m] * m
        return torch.tensor(weights, dtype=torch.float32, device=self.device)

    # -- what the trial's backward step is ------------------------------------------------
    @property
    def needs_representation(self) -> bool:
        """The trial's method differentiates w.r.t. the shared representation (MGDA-UB): pass ``representation=``."""
        return bool(self._method_object() is not None and self._method_object().needs_representation)

    @property
    def replaces_optimizer(self) -> bool:
        """The trial's method writes the finished update into ``.grad`` (MTAdam): step it with plain SGD at ``lr``."""
        return bool(self._method_object() is not None and getattr(self._method_object(), "replaces_optimizer", False))

    @property
    def method_options(self) -> dict[str, Any]:
        """The comparison method's options with their defaults (``{}`` for a scalarization trial)."""
        method = self._method_object()
        return {} if method is None else dict(method.hparams())

    def _method_object(self) -> Any:
        if self._trial.kind != "method":
            return None
        if self._method is None:
            from paretosweep.methods import create

            assert self._trial.method is not None
            self._method = create(self._trial.method, n_tasks=len(self.tasks), **self._trial.method_params).to(self.device)
            own = [p for p in self._method.parameters() if p.requires_grad]
            if own:
                from paretosweep.trial._problem_loop import make_optimizer

                self._method_optimizer = make_optimizer(own, self._spec.budget.optimizer, self._trial.lr)
            self.outcome.method_hparams = self._method.hparams()
            if self._method_state is not None:  # a restored trial: the method's learnt weights and statistics
                self._method.load_state_dict(self._method_state["method"])
                if self._method_optimizer is not None and "method_optimizer" in self._method_state:
                    self._method_optimizer.load_state_dict(self._method_state["method_optimizer"])
        return self._method

    # -- ctx.backward ---------------------------------------------------------------------
    def backward(
        self,
        losses: Mapping[str, Tensor] | Tensor,
        *,
        shared: Iterable[nn.Parameter] | None = None,
        task_specific: Iterable[nn.Parameter] | None = None,
        representation: Tensor | None = None,
        scaler: Any = None,
    ) -> Tensor:
        """Write ``.grad`` for this batch's task losses as the trial's scalarizer or method defines.

        Args:
            losses: ``{task: scalar loss}`` (every task, no other key), or an ``[m]`` tensor in task order.
            shared: the parameters every task uses (the trunk). Gradient methods need them; with a
                mapping of losses the default is the parameters every task's loss reaches.
            task_specific: the other parameters the losses reach (default: found from the graph).
            representation: the shared representation Z of this batch (``ctx.needs_representation``).
            scaler: a ``torch.amp.GradScaler`` when training with mixed precision (see the module docstring).

        Returns:
            ``[m]`` the effective weights the step applied (normalised coefficients of the task gradients).

        Raises:
            TrainableError: unknown or missing task names, a non-scalar loss, missing ``shared``
                or ``representation`` for a method that needs them.
            Diverged: a non-finite loss (the trial stops with status ``diverged``).
        """
        stacked, separate = self._stack(losses)
        if not bool(torch.isfinite(stacked.detach()).all()):
            raise Diverged(f"non-finite value at step {self._steps + 1} (task losses): {stacked.detach().cpu().tolist()}")
        if self._trial.kind == "scalarization":
            applied = self._scalarized_backward(stacked, scaler)
        else:
            applied = self._method_backward(stacked, separate, shared, task_specific, representation, scaler)
        self._record(applied.detach(), stacked.detach())
        return applied

    def _stack(self, losses: Mapping[str, Tensor] | Tensor) -> tuple[Tensor, list[Tensor] | None]:
        if isinstance(losses, Tensor):
            if losses.dim() != 1 or losses.shape[0] != len(self.tasks):
                raise TrainableError(
                    f"trainable `{self._name}` called ctx.backward with a tensor of shape {list(losses.shape)}; give "
                    f"one scalar loss per task, [{len(self.tasks)}] in task order {list(self.tasks)}, or a mapping task -> loss."
                )
            return losses, None
        unknown = sorted(set(losses) - set(self.tasks))
        missing = [t for t in self.tasks if t not in losses]
        if unknown or missing:
            raise TrainableError(
                f"trainable `{self._name}` called ctx.backward with tasks {sorted(losses)}: "
                + (f"unknown {unknown}, " if unknown else "")
                + (f"missing {missing}; " if missing else "")
                + f"give one loss for each task the spec declares, {list(self.tasks)}."
            )
        separate = [losses[t] for t in self.tasks]
        for task, loss in zip(self.tasks, separate, strict=True):
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                raise TrainableError(
                    f"trainable `{self._name}`: the loss of task `{task}` should be a scalar tensor (mean over the batch); "
                    f"found {type(loss).__name__}{'' if not isinstance(loss, Tensor) else ' of shape ' + str(list(loss.shape))}."
                )
        return torch.stack([loss.reshape(()) for loss in separate]), separate

    def _scalarized_backward(self, stacked: Tensor, scaler: Any) -> Tensor:
        if self._scalarizer is None:
            self._scalarizer = make_scalarizer(self._spec, self._lower_bounds)
        assert self._trial.weights is not None
        weights = torch.tensor(self._trial.weights, dtype=torch.float32, device=stacked.device)
        loss = self._scalarizer(stacked.float(), weights)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        return self._scalarizer.effective_weights(stacked.float(), weights)

    def _method_backward(
        self,
        stacked: Tensor,
        separate: list[Tensor] | None,
        shared: Iterable[nn.Parameter] | None,
        task_specific: Iterable[nn.Parameter] | None,
        representation: Tensor | None,
        scaler: Any,
    ) -> Tensor:
        method = self._method_object()
        shared_list = list(shared) if shared is not None else self._shared_from_graph(separate, method)
        heads = list(task_specific) if task_specific is not None else self._heads(stacked, shared_list)
        kwargs: dict[str, Any] = {}
        if method.needs_representation:
            if representation is None:
                raise TrainableError(
                    f"trainable `{self._name}`: method `{self.method}` (MGDA-UB) needs the shared representation: "
                    "call ctx.backward(losses, shared=..., representation=z) with this batch's trunk output z "
                    "(ctx.needs_representation says when)."
                )
            kwargs["representation"] = representation
        written = [p for p in (*shared_list, *heads) if p.requires_grad]
        before = [None if p.grad is None else p.grad.detach().clone() for p in written] if scaler is not None else []
        if self._method_optimizer is not None:
            self._method_optimizer.zero_grad(set_to_none=True)
        applied = method.backward(stacked.float(), shared_list, task_specific=heads, **kwargs)
        if scaler is not None:  # the method's math in unscaled units; the gradients it wrote, scaled for the scaler
            scale = float(scaler.get_scale())
            for p, old in zip(written, before, strict=True):
                if p.grad is not None:
                    p.grad = p.grad * scale if old is None else old + (p.grad - old) * scale
        if self._method_optimizer is not None:
            self._method_optimizer.step()
        return applied

    def _shared_from_graph(self, separate: list[Tensor] | None, method: Any) -> list[nn.Parameter]:
        if separate is None:
            if method.needs_shared_grads:
                raise TrainableError(
                    f"trainable `{self._name}`: method `{self.method}` needs per-task gradients of the shared parameters; "
                    "pass them, ctx.backward(losses, shared=model.trunk.parameters()), or give the losses as a mapping "
                    "task -> loss so the shared parameters can be found."
                )
            return []
        reached = [{id(p): p for p in graph_leaves([loss])} for loss in separate]
        common = [p for key, p in reached[0].items() if all(key in r for r in reached[1:])]
        if method.needs_shared_grads and not common:
            raise TrainableError(
                f"trainable `{self._name}`: method `{self.method}` needs shared parameters, but no parameter is reached "
                "by every task's loss: pass `shared=` explicitly."
            )
        return common  # type: ignore[return-value]

    def _heads(self, stacked: Tensor, shared: list[nn.Parameter]) -> list[Tensor]:
        key = frozenset(id(p) for p in shared)
        if key not in self._task_specific:  # the leaf set does not change between steps of a trial
            ids = set(key)
            self._task_specific[key] = [p for p in graph_leaves([stacked]) if id(p) not in ids]
        return self._task_specific[key]

    def _record(self, applied: Tensor, losses: Tensor) -> None:
        applied = applied.float()
        self._weight_sum = applied.clone() if self._weight_sum is None else self._weight_sum + applied
        self._final = applied
        self._steps += 1
        self._epoch_loss_sum = losses.float() if self._epoch_loss_sum is None else self._epoch_loss_sum + losses.float()
        self._epoch_steps += 1

    # -- ctx.report -----------------------------------------------------------------------
    def report(self, metrics: Mapping[str, Any], *, checkpoint: Any = None) -> None:
        """Report one epoch's (or evaluation's) metrics, optionally with a checkpoint, like ``tune.report``.

        ``metrics`` must hold every objective column (``<task>_<metric>`` as the spec declares);
        other declared metric columns are stored too, and ``test_<column>`` keys (problems with
        a test split) are kept for the trial's row but never sent to Ray Tune, so nothing that
        steers the sweep sees them. Every report counts as one epoch.

        Raises:
            TrainableError: an objective column is missing, or a value is not a number.
            Diverged: an objective or metric is NaN or infinite.
        """
        values = {str(k): self._number(k, v) for k, v in metrics.items()}
        tests = {k: v for k, v in values.items() if k in self._tests.values()}
        plain = {k: v for k, v in values.items() if k not in tests}
        missing = [c for c in self._objectives if c not in plain]
        if missing:
            raise TrainableError(
                f"trainable `{self._name}` reported {sorted(plain)}, without the objective column(s) {missing}: "
                f"ctx.report(...) must hold every objective column {list(self._objectives)} (declared in `tasks:`)."
            )
        epoch = self.outcome.epochs_done + 1
        bad = {k: v for k, v in plain.items() if k in self._metrics and not math.isfinite(v)}
        if bad:
            raise Diverged(f"non-finite value at epoch {epoch} (reported metrics): {bad}")
        stored = {k: plain[k] for k in self._metrics if k in plain}
        self.outcome.metrics = stored
        self.outcome.history.append({"epoch": epoch, **stored})
        self.outcome.epochs_done = epoch
        self.outcome.test_metrics.update(tests)
        method = self._method_object()
        if method is not None and self._epoch_loss_sum is not None:
            method.on_epoch_end(epoch - 1, self._epoch_loss_sum / max(self._epoch_steps, 1))
        self._epoch_loss_sum, self._epoch_steps = None, 0
        self._sink({**plain, "epoch": epoch}, None if checkpoint is None else self._wrap(checkpoint))

    def select_epoch(self, epoch: int, *, test_metrics: Mapping[str, Any] | None = None, checkpoint: Any = None) -> None:
        """Make reported epoch ``epoch`` (1-based, as ``ctx.report`` counts) the trial's result: early stopping.

        The row's metrics become that epoch's (from the history); its ``test_<column>`` values
        become ``test_metrics`` (measured on that epoch's model; none given: none stored); and
        ``checkpoint`` (that epoch's model, restored) becomes the trial's newest checkpoint.
        ``epochs_done``, ``history`` and the compute stay those of the epochs trained, and the
        status stays ``completed``. Not an epoch: the result sent carries ``selected_epoch`` and no
        ``epoch`` key, so a scheduler does not count it.

        Raises:
            TrainableError: ``epoch`` was not reported, or a ``test_metrics`` key is not a test column.
        """
        done = self.outcome.epochs_done
        if not isinstance(epoch, int) or isinstance(epoch, bool) or not 1 <= epoch <= done:
            raise TrainableError(
                f"trainable `{self._name}` called ctx.select_epoch({epoch!r}) after {done} reported epoch(s): "
                f"select one of them, 1..{done}."
            )
        tests = {str(k): self._number(k, v) for k, v in (test_metrics or {}).items()}
        unknown = sorted(set(tests) - set(self._tests.values()))
        if unknown:
            raise TrainableError(
                f"trainable `{self._name}` gave ctx.select_epoch test metrics {unknown}; the test columns are "
                f"{sorted(self._tests.values())}."
            )
        self.outcome.metrics = {k: v for k, v in self.outcome.history[epoch - 1].items() if k != "epoch"}
        self.outcome.test_metrics = tests
        self._sink({"selected_epoch": float(epoch)}, None if checkpoint is None else self._wrap(checkpoint))

    def _number(self, key: str, value: Any) -> float:
        try:
            return float(value.item() if isinstance(value, Tensor) else value)
        except (TypeError, ValueError):
            raise TrainableError(
                f"trainable `{self._name}` reported `{key}` = {value!r}; report numbers (floats or 0-d tensors)."
            ) from None

    def effective_weights(self) -> tuple[list[float] | None, list[float] | None]:
        """The mean and the last effective weights of the steps taken (None before the first step)."""
        if self._weight_sum is None or self._final is None:
            return None, None
        return (self._weight_sum / self._steps).cpu().tolist(), self._final.cpu().tolist()


def _rung_epochs(spec: SweepSpec) -> tuple[int, ...]:
    """The epochs at which ``spec.scheduler`` may stop a scalarization trial (``()`` without a scheduler)."""
    if spec.scheduler is None:
        return ()
    from paretosweep.sweep._pareto_asha import rung_epochs

    s = spec.scheduler
    return rung_epochs(s.grace_epochs, s.reduction_factor, spec.budget.epochs)
