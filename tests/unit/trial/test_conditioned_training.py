"""Weight-conditioned training without Ray: the FiLM hook, the conditioned context's loss, the loop's proposals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from paretosweep.config import parse_spec
from paretosweep.errors import ConfigError
from paretosweep.planning import TrialConfig
from paretosweep.problems import TaskSpec, make_problem
from paretosweep.sampling._conditioned import dense_design
from paretosweep.trial import TrainableError, run_in_context
from paretosweep.trial._conditioned import (
    CONDITION_MODULE,
    ConditionedProblem,
    FiLM,
    conditioned_context,
    conditioner_of,
    per_sample_losses,
    train_conditioned,
)


def test_film_starts_as_the_identity_and_modulates_per_batch_and_per_sample() -> None:
    torch.manual_seed(0)
    film = FiLM(2, 3)
    z = torch.randn(4, 3)
    assert torch.equal(film(z, torch.tensor([0.3, 0.7])), z)
    nn.init.normal_(film.net[2].weight)
    nn.init.normal_(film.net[2].bias)
    w = torch.tensor([0.3, 0.7])
    out = film.net(w)
    gamma, beta = 1 + out[:3], out[3:]
    assert torch.allclose(film(z, w), gamma * z + beta)
    per_sample = torch.tensor([[0.1, 0.9], [0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    expected = torch.stack([film(z[i : i + 1], per_sample[i])[0] for i in range(4)])
    assert torch.allclose(film(z, per_sample), expected, atol=1e-6)
    images = torch.randn(2, 3, 5, 5)  # [B, C, H, W]: one gamma, beta per channel
    g = film.net(w)
    assert torch.allclose(film(images, w), (1 + g[:3]).view(1, 3, 1, 1) * images + g[3:].view(1, 3, 1, 1))
    with pytest.raises(TrainableError, match=r"\[B, 3, \.\.\.\]"):
        film(torch.randn(4, 5), w)


@pytest.fixture(scope="module")
def recsys() -> Any:
    return make_problem("recsys", {"n_samples": 3000})


def test_the_hook_applies_film_to_the_shared_representation_and_the_state_dict_keeps_it(recsys: Any) -> None:
    wrapped = ConditionedProblem(recsys)
    model = wrapped.make_model(seed=0)
    conditioner = conditioner_of(model)
    assert conditioner.film is not None
    keys = model.state_dict().keys()
    assert f"{CONDITION_MODULE}.fixed" in keys and any(k.startswith(f"{CONDITION_MODULE}.film.net.") for k in keys)
    nn.init.normal_(conditioner.film.net[2].weight)
    x = recsys.x_val[:8]
    plain = recsys.make_model(seed=0)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith(CONDITION_MODULE)})
    z = plain.trunk(x)
    assert conditioner.film.features == z.shape[1]  # found by one forward pass through the trunk
    w = torch.tensor([0.2, 0.3, 0.5])
    conditioner.set(w)
    expected = torch.stack([head(conditioner.film(z, w)) for head in plain.heads], dim=1)
    assert torch.allclose(model(x), expected, atol=1e-6)
    conditioner.set(torch.tensor([0.8, 0.1, 0.1]))
    assert not torch.allclose(model(x), expected)  # another w, another output
    conditioner.pin([0.2, 0.3, 0.5])  # pinned: the set weights no longer matter
    assert torch.allclose(model(x), expected, atol=1e-6)
    again = wrapped.make_model(seed=0)
    again.load_state_dict(model.state_dict())  # a verification trial's model loads the conditioned checkpoint
    assert torch.allclose(again(x), expected, atol=1e-6)
    assert not hasattr(wrapped, "packed_task_losses") and callable(wrapped.evaluate_test)


class _Conditionable:
    """A toy problem with its own ``condition(model, w)``: w is concatenated to the input."""

    name = "toy"
    tasks = (TaskSpec("a"), TaskSpec("b"))

    def __init__(self) -> None:
        self.x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
        self.seen: list[torch.Tensor] = []

    def make_model(self, *, seed: int) -> nn.Module:
        torch.manual_seed(seed)
        model = nn.Linear(4, 2)
        model.w = torch.zeros(2)  # type: ignore[assignment]
        return model

    def condition(self, model: nn.Module, w: torch.Tensor) -> None:
        self.seen.append(w)
        model.w = w  # type: ignore[assignment]

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Iterator[Any]:
        yield (self.x,)

    def task_losses(self, model: nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        (x,) = batch
        out = model(torch.cat([x, model.w.expand(x.shape[0], 2)], dim=1))
        return (out**2).mean(dim=0)

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        with torch.no_grad():
            losses = self.task_losses(model, (self.x,), device)
        return {"a_loss": float(losses[0]), "b_loss": float(losses[1])}

    def shared_parameters(self, model: nn.Module) -> list[nn.Parameter]:
        return list(model.parameters())


def test_a_problem_with_its_own_condition_member_is_called_with_w_and_gets_no_film() -> None:
    toy = _Conditionable()
    wrapped = ConditionedProblem(toy)
    model = wrapped.make_model(seed=0)
    assert conditioner_of(model).film is None
    w = torch.tensor([0.25, 0.75])
    conditioner_of(model).set(w)
    wrapped.task_losses(model, (toy.x,), torch.device("cpu"))
    wrapped.evaluate(model, torch.device("cpu"))
    assert len(toy.seen) == 2 and all(torch.equal(s, w) for s in toy.seen)

    class NoHook(_Conditionable):
        condition = None  # type: ignore[assignment]

    with pytest.raises(ConfigError, match=r"shared_representation\(model\).*condition\(model, w\)"):
        ConditionedProblem(NoHook())


def _context(problem: Any, **sampler: Any) -> Any:
    m = len(problem.tasks)
    spec = parse_spec(
        {
            "problem": {"name": "recsys", "params": {"n_samples": 3000}},
            "scalarizer": {"name": "linear"},
            "sampler": {"name": "conditioned", "dense": 10, **sampler},
            "budget": {"epochs": 2, "lr": 0.003},
        }
    )
    reports: list[Any] = []
    trial = TrialConfig("c", "scalarization", tuple([1 / m] * m), 0, 0.003)
    dense = dense_design(m, 10, floor=0.01, seed=0)
    ctx = conditioned_context(
        trial, spec, problem, device=torch.device("cpu"), sink=lambda mt, ck: reports.append((mt, ck)), name="recsys", dense_weights=dense
    )
    return ctx, reports


def test_the_conditioned_loss_is_the_scalarizer_at_the_drawn_w_minus_the_cosmos_cosine(recsys: Any) -> None:
    ctx, _ = _context(ConditionedProblem(recsys), cosmos=0.5)
    losses = torch.tensor([0.7, 0.2, 0.4], requires_grad=True)
    w = ctx.sample_weights(8)
    assert w.shape == (3,) and float(w.sum()) == pytest.approx(1.0) and ctx.samples_trained == 8
    ctx.backward(losses)
    reference = losses.detach().clone().requires_grad_(True)
    expected = (w * reference).sum() - 0.5 * torch.nn.functional.cosine_similarity(reference, w, dim=0)
    expected.backward()
    assert torch.allclose(losses.grad, reference.grad, atol=1e-6)
    assert ctx.sample_weights(8).tolist() != w.tolist()  # a new draw per batch
    assert ctx.samples_counted and ctx.sample_weights().shape == (3,) and not ctx.samples_counted  # no batch size: uncounted


def test_per_sample_weights_give_per_sample_losses_and_their_mean_loss(recsys: Any) -> None:
    wrapped = ConditionedProblem(recsys)
    ctx, _ = _context(wrapped, per_sample=True)
    model = wrapped.make_model(seed=0)
    nn.init.normal_(conditioner_of(model).film.net[2].weight, std=0.3)
    batch = next(iter(wrapped.train_batches(epoch=0, generator=torch.Generator().manual_seed(0))))
    batch = tuple(t[:6] for t in batch)
    w = ctx.sample_weights(6)
    assert w.shape == (6, 3)
    losses = per_sample_losses(wrapped, model, batch, torch.device("cpu"), w)
    assert losses.shape == (6, 3)
    for i in (0, 3):
        conditioner_of(model).set(w[i])
        single = wrapped.task_losses(model, tuple(t[i : i + 1] for t in batch), torch.device("cpu"))
        assert torch.allclose(losses[i], single, atol=1e-5)
    applied = ctx.backward(losses)
    assert applied.shape == (3,) and float(applied.sum()) == pytest.approx(1.0, abs=1e-5)


def test_a_backward_without_drawn_weights_says_to_call_sample_weights(recsys: Any) -> None:
    ctx, _ = _context(ConditionedProblem(recsys))
    with pytest.raises(TrainableError, match=r"ctx\.sample_weights"):
        ctx.backward(torch.tensor([0.1, 0.2, 0.3], requires_grad=True))


def test_the_loop_trains_reports_a_checkpoint_per_epoch_and_evaluates_every_dense_weight(recsys: Any) -> None:
    wrapped = ConditionedProblem(recsys)
    ctx, reports = _context(wrapped)
    outcome = run_in_context(train_conditioned, ctx, name="recsys")
    assert outcome.status == "completed" and outcome.epochs_done == 2 and len(reports) == 2
    assert ctx.samples_trained == 2 * recsys.x_train.shape[0]
    assert len(ctx.proposals) == len(ctx.dense_weights) == 10
    first = ctx.proposals[0]
    assert first["weights"] == pytest.approx(ctx.dense_weights[0].tolist()) and "click_auc" in first and "test_click_auc" in first
    values = np.array([[p["click_loss"], p["purchase_loss"]] for p in ctx.proposals])
    assert np.ptp(values, axis=0).max() > 0  # the model's output depends on w
    model = wrapped.make_model(seed=1)
    model.load_state_dict(reports[-1][1]["trainable"]["model"])  # the checkpoint holds the FiLM parameters
    assert reports[-1][1]["trainable"]["epoch"] == 1


def test_film_after_every_layer_of_the_trunk_is_in_the_state_dict_and_changes_each_layer(recsys: Any) -> None:
    wrapped = ConditionedProblem(recsys, placement="layers")
    model = wrapped.make_model(seed=0)
    conditioner = conditioner_of(model)
    linears = [layer for layer in model.trunk if isinstance(layer, nn.Linear)]
    assert conditioner.film is None and [f.features for f in conditioner.layers] == [layer.out_features for layer in linears]
    assert any(k.startswith(f"{CONDITION_MODULE}.layers.1.net.") for k in model.state_dict())
    x = recsys.x_val[:4]
    conditioner.set(torch.full((len(recsys.tasks),), 1.0 / len(recsys.tasks)))
    before = model(x)
    nn.init.normal_(conditioner.layers[0].net[2].weight)
    assert not torch.allclose(model(x), before)
    with pytest.raises(ConfigError, match=r"sampler\.film"):
        ConditionedProblem(recsys, placement="everywhere")
