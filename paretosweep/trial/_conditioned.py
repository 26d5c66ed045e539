"""Weight-conditioned training: one model for the whole front (``sampler: conditioned``).

The model gets the weight vector :math:`w \\in \\Delta^{m-1}` as an input and learns
:math:`\\theta^*(w) = \\arg\\min_\\theta \\mathbb{E}_{w \\sim \\mathrm{Dir}(\\alpha)}\\, s(L(\\theta, w), w)`
(YOTO, Dosovitskiy & Djolonga, "You only train once", ICLR 2020), where :math:`s` is the spec's
scalarizer. COSMOS (Ruchte & Grabocka, "Scalable Pareto front approximation for deep multi-objective
learning", ICDM 2021) adds a cosine term that pulls the loss vector onto the ray of :math:`w`:

.. math::  \\ell(\\theta; w) = s(L, w) - \\lambda \\cos(L, w), \\qquad \\cos(L, w) = \\frac{L \\cdot w}{\\|L\\| \\|w\\|}

with :math:`\\lambda` = ``sampler.cosmos`` (0: plain YOTO).

How the model sees :math:`w`, without editing the problem:

* **FiLM** (Perez et al., AAAI 2018) on the shared representation, for problems with
  ``shared_representation(model)``: a forward hook replaces that module's output :math:`Z`
  (``[B, d]`` or ``[B, d, H, W]``; with ``sampler.film: layers``, the output of each of its linear
  and convolutional layers instead) by :math:`\\gamma(w) \\odot Z + \\beta(w)`, where
  :math:`(\\gamma - 1, \\beta)` is a small MLP of :math:`w` whose last layer starts at zero (so the
  conditioned model starts as the plain one). The MLP is a submodule of the model
  (``paretosweep_condition``), so its parameters train with the model and are saved in its checkpoint.
* **``condition(model, w)``**, an optional problem member: called with :math:`w` (``[m]``, or
  ``[B, m]`` per sample) before every forward pass; the problem's ``make_model`` builds whatever
  the conditioning trains. It takes precedence over FiLM.

A problem with neither is refused before Ray (:func:`paretosweep.sampling._conditioned.check_conditionable`).
Both go through :class:`ConditionedProblem`, a wrapper problem whose ``make_model`` attaches the
:class:`Conditioner`; a verification trial builds the same wrapper (``problem.name:
paretosweep.trial._conditioned:conditioned_problem``) and continues from the conditioned checkpoint
with the conditioner's ``fixed`` buffer set to its weight vector, so it trains the model at that
:math:`w` only.

A function trainable conditions its own model: ``w = ctx.sample_weights(batch_size)`` per batch
(see :class:`paretosweep.TrialContext`), then ``ctx.backward(losses)`` applies the scalarizer at
the drawn :math:`w`, and ``ctx.evaluate_proposals(evaluate)`` at the end measures the trained
model on ``ctx.dense_weights``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from paretosweep.config import SweepSpec
from paretosweep.errors import ConfigError
from paretosweep.planning import TrialConfig
from paretosweep.problems import Problem, canonical_params_json, has_shared_representation, make_problem_cached
from paretosweep.sampling._conditioned import dirichlet_draws
from paretosweep.scalarizers import effective_weights, scalarize
from paretosweep.trial._context import Sink, TrialContext
from paretosweep.trial._held_out import final_test_metrics
from paretosweep.trial._outcome import TrainableError
from paretosweep.trial._problem_loop import make_optimizer

#: The model's submodule holding the conditioning (and its state-dict prefix).
CONDITION_MODULE = "paretosweep_condition"
#: Hidden width of the FiLM MLP.
FILM_HIDDEN = 64
#: ``sampler.film``: FiLM on the shared representation's output, or after each of its linear / convolutional layers.
PLACEMENTS = ("representation", "layers")


class FiLM(nn.Module):
    """:math:`\\mathrm{FiLM}(Z; w) = (1 + \\Delta\\gamma(w)) \\odot Z + \\beta(w)`, channel-wise on ``Z``'s dim 1.

    ``(Δγ, β) = W_2 \\mathrm{ReLU}(W_1 w + b_1) + b_2`` with ``W_2, b_2`` zero at initialisation
    (identity modulation at the start). ``w``: ``[m]`` (one weight vector for the batch) or ``[B, m]``
    (one per sample); ``Z``: ``[B, d, ...]``. Returns ``Z``'s shape.

    >>> film = FiLM(2, 3)
    >>> z = torch.randn(4, 3)
    >>> bool(torch.equal(film(z, torch.tensor([0.5, 0.5])), z))
    True
    """

    def __init__(self, m: int, features: int, hidden: int = FILM_HIDDEN) -> None:
        super().__init__()
        self.features = features
        last = nn.Linear(hidden, 2 * features)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(nn.Linear(m, hidden), nn.ReLU(), last)

    def forward(self, z: Tensor, w: Tensor) -> Tensor:
        if z.dim() < 2 or z.shape[1] != self.features:
            raise TrainableError(
                f"FiLM expects the shared representation as [B, {self.features}, ...]; found shape {list(z.shape)}. "
                "Give the problem a `condition(model, w)` member for a representation of another layout."
            )
        out = self.net(w.to(z.dtype))
        gamma, beta = 1.0 + out[..., : self.features], out[..., self.features :]
        shape = (gamma.shape[0] if gamma.dim() == 2 else 1, self.features, *([1] * (z.dim() - 2)))
        return gamma.reshape(shape) * z + beta.reshape(shape)


class Conditioner(nn.Module):
    """The weight vector a model is conditioned on, and its FiLM layer (None: the problem's ``condition``).

    ``fixed`` (a buffer, saved with the model): a weight vector the model is pinned to (NaN: not
    pinned, the training sets :attr:`current` per batch).
    """

    def __init__(self, m: int, features: int | None, hidden: int = FILM_HIDDEN, *, layer_features: Sequence[int] = ()) -> None:
        super().__init__()
        self.register_buffer("fixed", torch.full((m,), math.nan))
        self.film = FiLM(m, features, hidden) if features is not None else None
        #: ``placement: layers``: one FiLM after each linear / convolutional layer of the representation
        self.layers = nn.ModuleList(FiLM(m, f, hidden) for f in layer_features)
        self.current: Tensor | None = None

    def weights(self) -> Tensor:
        """``[m]`` or ``[B, m]``: the pinned weight vector, else the one set for this batch.

        Raises:
            TrainableError: neither is set.
        """
        fixed: Tensor = self.fixed  # type: ignore[assignment]
        if bool(torch.isfinite(fixed).all()):
            return fixed
        if self.current is None:
            raise TrainableError("the conditioned model was run before a weight vector was set (Conditioner.set(w)).")
        return self.current

    def set(self, weights: Tensor) -> None:
        """Condition the next forward passes on ``weights`` (``[m]`` or ``[B, m]``); ignored while pinned."""
        self.current = weights

    def pin(self, weights: Sequence[float]) -> None:
        """Pin the model to one weight vector (saved in its state dict)."""
        fixed: Tensor = self.fixed  # type: ignore[assignment]
        fixed.copy_(torch.as_tensor(list(weights), dtype=fixed.dtype))


def conditioner_of(model: nn.Module) -> Conditioner:
    """The :class:`Conditioner` a :class:`ConditionedProblem` attached to ``model``."""
    found = getattr(model, CONDITION_MODULE, None)
    if not isinstance(found, Conditioner):
        raise TrainableError(f"the model has no `{CONDITION_MODULE}` submodule: build it with ConditionedProblem.make_model.")
    return found


def _first_batch(problem: Problem) -> Any:
    return next(iter(problem.train_batches(epoch=0, generator=torch.Generator().manual_seed(0))))


def representation_features(problem: Problem, model: nn.Module) -> int:
    """``d``: dim 1 of the shared representation's output, seen in one forward pass on a training batch."""
    module = problem.shared_representation(model)  # type: ignore[attr-defined]
    seen: list[torch.Size] = []
    handle = module.register_forward_hook(lambda _m, _i, out: seen.append(out.shape) if isinstance(out, Tensor) else None)
    try:
        with torch.no_grad():
            problem.task_losses(model, _first_batch(problem), torch.device("cpu"))
    finally:
        handle.remove()
    if not seen or len(seen[0]) < 2:
        raise ConfigError(
            f"`shared_representation(model)` of problem `{problem.name}` should return a module whose output is one tensor "
            f"[B, d, ...], called once per `task_losses`; found {[list(s) for s in seen]}. Give the problem a "
            "`condition(model, w)` member instead, for `sampler: conditioned`."
        )
    return int(seen[0][1])


class ConditionedProblem:
    """A problem whose models are conditioned on ``w`` (see the module docstring); the rest is the inner problem's.

    Args:
        inner: the spec's problem.
        hidden: width of the FiLM MLP.

    Raises:
        ConfigError: the inner problem has neither ``condition(model, w)`` nor ``shared_representation(model)``.
    """

    def __init__(self, inner: Problem, *, hidden: int = FILM_HIDDEN, placement: str = "representation") -> None:
        self.inner = inner
        self.name = inner.name
        self.tasks = inner.tasks
        self.hidden = hidden
        if placement not in PLACEMENTS:
            raise ConfigError(f"`sampler.film` should be one of {', '.join(PLACEMENTS)}; found `{placement}`.")
        self.placement = placement
        self._own_condition = callable(getattr(inner, "condition", None))
        if not self._own_condition and not has_shared_representation(inner):
            raise ConfigError(
                f"problem `{inner.name}` cannot be conditioned on the weight vector: add `shared_representation(model)` "
                "(FiLM is applied to its output) or `condition(model, w)` to it."
            )
        self._features: int | None = None

    def __getattr__(self, name: str) -> Any:
        # optional members (default_reference_point, exact_front, splits_note, ...) are the inner problem's;
        # the packed paths would skip the conditioning, so they are hidden
        inner = self.__dict__.get("inner")
        if inner is None or name.startswith("packed_") or name == "condition":
            raise AttributeError(name)
        if name == "evaluate_test":
            if not callable(getattr(inner, "evaluate_test", None)):
                raise AttributeError(name)
            return self._evaluate_test
        return getattr(inner, name)

    def make_model(self, *, seed: int) -> nn.Module:
        """The inner problem's model with a :class:`Conditioner` (and FiLM hook) attached as ``paretosweep_condition``."""
        model = self.inner.make_model(seed=seed)
        m = len(self.tasks)
        features, layers = None, []
        if not self._own_condition and self.placement == "representation":
            if self._features is None:
                self._features = representation_features(self.inner, model)
            features = self._features
        elif not self._own_condition:
            trunk = self.inner.shared_representation(model)  # type: ignore[attr-defined]
            layers = [layer for layer in trunk.modules() if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
            if not layers:
                raise ConfigError(
                    f"`sampler.film: layers`: the shared representation of `{self.name}` has no linear or convolutional layer."
                )
        sizes = [layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels for layer in layers]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 7919)
            conditioner = Conditioner(m, features, self.hidden, layer_features=sizes)
        model.add_module(CONDITION_MODULE, conditioner)
        if conditioner.film is not None:
            module = self.inner.shared_representation(model)  # type: ignore[attr-defined]
            film = conditioner.film
            module.register_forward_hook(lambda _m, _i, out: film(out, conditioner.weights()))
        for layer, layer_film in zip(layers, conditioner.layers, strict=True):
            assert isinstance(layer_film, FiLM)
            layer.register_forward_hook(_film_hook(layer_film, conditioner))
        return model

    def _prepare(self, model: nn.Module) -> None:
        if self._own_condition:
            self.inner.condition(model, conditioner_of(model).weights())  # type: ignore[attr-defined]

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[Any]:
        return iter(self.inner.train_batches(epoch=epoch, generator=generator))

    def task_losses(self, model: nn.Module, batch: Any, device: torch.device) -> Tensor:
        self._prepare(model)
        return self.inner.task_losses(model, batch, device)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        self._prepare(model)
        return dict(self.inner.evaluate(model, device))

    def _evaluate_test(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        self._prepare(model)
        return dict(self.inner.evaluate_test(model, device))  # type: ignore[attr-defined]

    def shared_parameters(self, model: nn.Module) -> Sequence[nn.Parameter]:
        return self.inner.shared_parameters(model)


def _film_hook(film: FiLM, conditioner: Conditioner) -> Callable[[nn.Module, Any, Tensor], Tensor]:
    return lambda _m, _i, out: film(out, conditioner.weights())


def conditioned_problem(
    *, problem: str, params: dict[str, Any] | None = None, hidden: int = FILM_HIDDEN, placement: str = "representation"
) -> ConditionedProblem:
    """Problem factory (``problem.name: paretosweep.trial._conditioned:conditioned_problem``): ``problem`` conditioned on ``w``."""
    return ConditionedProblem(make_problem_cached(problem, canonical_params_json(params)), hidden=hidden, placement=placement)


def per_sample_losses(problem: Problem, model: nn.Module, batch: Any, device: torch.device, weights: Tensor) -> Tensor:
    """``[B, m]`` task losses of each sample of ``batch`` at its own weight vector (``weights [B, m]``).

    ``torch.func.vmap`` over the batch's first dimension, each sample a batch of one, so the problem's
    ``task_losses`` (batch means) gives per-sample losses; ``batch`` must be a tuple of tensors.
    """
    from torch.func import vmap

    if not isinstance(batch, (tuple, list)) or not all(isinstance(t, Tensor) for t in batch):
        raise TrainableError(
            f"`sampler.per_sample: true` needs training batches that are tuples of tensors; problem `{problem.name}` gives "
            f"{type(batch).__name__}. Set `sampler.per_sample: false` (one weight vector per batch)."
        )
    conditioner = conditioner_of(model)

    def one(sample: tuple[Tensor, ...], w: Tensor) -> Tensor:
        conditioner.set(w)
        return problem.task_losses(model, tuple(t.unsqueeze(0) for t in sample), device)

    try:
        return vmap(one, randomness="different")(tuple(batch), weights)
    finally:
        conditioner.set(weights)


class ConditionedContext(TrialContext):
    """The context of the conditioned training: per-batch Dirichlet weights, the scalarizer (+ COSMOS) at them.

    ``sample_weights(batch_size)`` draws :math:`w \\sim \\mathrm{Dir}(\\alpha)` (``[m]``; ``[B, m]`` with
    ``per_sample``) and the next ``ctx.backward(losses)`` uses it: ``losses`` ``[m]`` (batch means)
    or ``[B, m]`` (per sample, with per-sample weights). ``evaluate_proposals`` measures the trained
    model on :attr:`dense_weights`; the rows land in :attr:`proposals`.
    """

    conditioned = True

    def __init__(self, *args: Any, alpha: float, per_sample: bool, cosmos: float, dense_weights: np.ndarray, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.alpha, self.per_sample, self.cosmos = float(alpha), bool(per_sample), float(cosmos)
        self.dense_weights = np.asarray(dense_weights, dtype=np.float64)
        self._rng = np.random.default_rng(self.seed)
        self._drawn: Tensor | None = None
        self.proposals: list[dict[str, Any]] = []
        self.samples_trained = 0
        #: whether every draw named its batch size, so that ``samples_trained`` counts every sample trained
        self.samples_counted = True

    def sample_weights(self, batch_size: int | None = None) -> Tensor:
        """This batch's weight vector(s) :math:`w \\sim \\mathrm{Dir}(\\alpha)`: ``[m]``, or ``[batch_size, m]`` per sample."""
        m = len(self.tasks)
        if self.per_sample:
            if batch_size is None:
                raise TrainableError("`sampler.per_sample: true`: call ctx.sample_weights(batch_size), one weight vector per sample.")
            draws = dirichlet_draws(self._rng, int(batch_size), m, self.alpha)
        else:
            draws = dirichlet_draws(self._rng, 1, m, self.alpha)[0]
        if batch_size is not None:
            self.samples_trained += int(batch_size)
        else:
            self.samples_counted = False  # a function trainable that draws without its batch size: compute unknown
        self._drawn = torch.as_tensor(draws, dtype=torch.float32, device=self.device)
        return self._drawn

    def _stack(self, losses: Mapping[str, Tensor] | Tensor) -> tuple[Tensor, list[Tensor] | None]:
        if isinstance(losses, Tensor) and losses.dim() == 2 and losses.shape[1] == len(self.tasks):
            return losses, None  # [B, m] per-sample losses
        return super()._stack(losses)

    def _scalarized_backward(self, stacked: Tensor, scaler: Any) -> Tensor:
        if self._drawn is None:
            raise TrainableError(
                f"trainable `{self._name}`: in the conditioned training, call `w = ctx.sample_weights(batch_size)` before "
                "ctx.backward(...) in every batch, and condition the model on w."
            )
        if self._scalarizer is None:
            from paretosweep.planning import make_scalarizer

            self._scalarizer = make_scalarizer(self._spec, self._lower_bounds)
        losses, weights = stacked.float(), self._drawn.to(stacked.device)
        if losses.dim() == 2 and weights.dim() == 1:
            weights = weights.expand_as(losses)
        name, mu = self._scalarizer.name, self._scalarizer.mu
        ideal = None if name == "linear" else self._scalarizer.ideal_point(losses.detach().amin(0) if losses.dim() == 2 else losses)
        loss = scalarize(name, losses, weights, ideal, mu=mu).mean()
        if self.cosmos > 0:
            loss = loss - self.cosmos * torch.nn.functional.cosine_similarity(losses, weights, dim=-1).mean()
        (scaler.scale(loss) if scaler is not None else loss).backward()
        applied = effective_weights(name, losses, weights, ideal, mu=mu)
        return applied.mean(0) if applied.dim() == 2 else applied

    def _record(self, applied: Tensor, losses: Tensor) -> None:
        super()._record(applied, losses.mean(0) if losses.dim() == 2 else losses)

    def evaluate_proposals(self, evaluate: Callable[[Tensor], Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Measure the trained model at every weight vector of :attr:`dense_weights`.

        ``evaluate(w)`` (``w``: ``[m]`` tensor) returns the metric columns (validation), and the
        ``test_<column>`` ones when there is a test split. Returns (and keeps in :attr:`proposals`)
        ``{"weights": [...], <column>: value, ...}`` per weight vector.

        Raises:
            TrainableError: an objective column is missing from what ``evaluate`` returned.
        """
        keep = set(self._metrics) | set(self._tests.values())
        rows = []
        for w in self.dense_weights:
            measured = {
                str(k): self._number(k, v) for k, v in evaluate(torch.as_tensor(w, dtype=torch.float32, device=self.device)).items()
            }
            missing = [c for c in self._objectives if c not in measured]
            if missing:
                raise TrainableError(
                    f"trainable `{self._name}`: ctx.evaluate_proposals's evaluate(w) returned {sorted(measured)}, without "
                    f"the objective column(s) {missing}."
                )
            rows.append({"weights": [float(x) for x in w], **{k: v for k, v in measured.items() if k in keep}})
        self.proposals = rows
        return rows


def conditioned_context(
    trial: TrialConfig,
    spec: SweepSpec,
    described: Any,
    *,
    device: torch.device,
    sink: Sink,
    name: str,
    dense_weights: np.ndarray,
) -> ConditionedContext:
    """The :class:`ConditionedContext` of the conditioned training (built as :func:`paretosweep.trial.make_context` builds a trial's)."""
    from paretosweep.trial._trainer import make_context

    s = spec.sampler
    ctx = make_context(
        trial,
        spec,
        described,
        device=device,
        sink=sink,
        name=name,
        context=ConditionedContext,
        alpha=s.alpha,
        per_sample=s.per_sample,
        cosmos=s.cosmos,
        dense_weights=dense_weights,
    )
    assert isinstance(ctx, ConditionedContext)
    return ctx


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0]) if isinstance(first, Tensor) and first.dim() else 1


def train_conditioned(ctx: ConditionedContext) -> None:
    """The conditioned training of a (wrapped) problem: YOTO / COSMOS with FiLM or the problem's ``condition``.

    Per batch: draw ``w`` (``ctx.sample_weights``), condition the model on it, ``ctx.backward`` on the
    task losses (per sample with ``per_sample``), an optimiser step. Per epoch: the validation metrics
    at equal weights, reported with a checkpoint in :func:`~paretosweep.trial.train_problem`'s format
    (so a verification trial continues from it). At the end: every dense weight vector's metrics
    (:meth:`ConditionedContext.evaluate_proposals`).
    """
    problem: ConditionedProblem = ctx.problem
    config = ctx.config
    model = problem.make_model(seed=ctx.seed).to(ctx.device)
    model.train()
    conditioner = conditioner_of(model)
    optimizer = make_optimizer(model.parameters(), config["optimizer"], config["lr"])
    generator = torch.Generator().manual_seed(ctx.seed)
    shared = list(problem.shared_parameters(model))
    shared_ids = {id(p) for p in shared}
    heads = [p for p in model.parameters() if id(p) not in shared_ids]
    m = len(ctx.tasks)
    centre = torch.full((m,), 1.0 / m, device=ctx.device)
    epochs, steps_per_epoch = config["epochs"], config["steps_per_epoch"]
    for epoch in range(epochs):
        for step, batch in enumerate(problem.train_batches(epoch=epoch, generator=generator)):
            if steps_per_epoch is not None and step >= steps_per_epoch:
                break
            w = ctx.sample_weights(_batch_size(batch))
            conditioner.set(w)
            if ctx.per_sample:
                losses = per_sample_losses(problem, model, batch, ctx.device, w)
            else:
                losses = problem.task_losses(model, batch, ctx.device)
            optimizer.zero_grad(set_to_none=True)
            ctx.backward(losses, shared=shared, task_specific=heads)
            optimizer.step()
        conditioner.set(centre)
        checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, "generator": generator.get_state()}
        ctx.report(dict(problem.evaluate(model, ctx.device)), checkpoint=checkpoint)

    def evaluate(w: Tensor) -> dict[str, float]:
        conditioner.set(w)
        return {**problem.evaluate(model, ctx.device), **final_test_metrics(problem, model, ctx.device)}

    ctx.evaluate_proposals(evaluate)
