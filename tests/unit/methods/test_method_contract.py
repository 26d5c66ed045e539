"""Every registered method honours the contract of `paretosweep.methods._base`."""

from __future__ import annotations

import copy
import io

import pytest
import torch

from paretosweep import methods
from paretosweep.errors import ParetoSweepError
from tests.unit.methods.method_asserts import assert_finite_weights, grads_of
from tests.unit.methods.method_inputs import STATEFUL, SharedBottom, build, regression_data

ALL = tuple(methods.available_methods())
LOSS_ONLY = tuple(n for n in ALL if not build(n, 2).needs_shared_grads)


def one_step(method: methods.Method, model: SharedBottom, seed: int = 0) -> torch.Tensor:
    x, y = regression_data(model.heads.__len__(), seed=seed)
    model.zero_grad(set_to_none=True)
    return method.backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())


def test_loss_only_methods_are_the_expected_ones() -> None:
    assert set(LOSS_ONLY) == {"equal", "rlw", "dwa", "uncertainty", "famo", "stch", "unitary"}


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("name", ALL)
def test_weights_and_gradients_are_finite_and_complete(name: str, m: int) -> None:
    torch.manual_seed(0)
    model, method = SharedBottom(m), build(name, m)
    assert_finite_weights(one_step(method, model), m)
    for p in model.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
    assert any(float(p.grad.abs().sum()) > 0 for p in model.shared())


@pytest.mark.parametrize("name", ALL)
def test_backward_passes_through_the_trunk(name: str) -> None:
    """Loss-only methods: one backward. Gradient methods on CPU: one pass per task, none more."""
    torch.manual_seed(0)
    model, method = SharedBottom(3), build(name, 3)
    x, y = regression_data(3)
    calls: list[int] = []
    original = model.trunk.forward

    def hooked(inp: torch.Tensor) -> torch.Tensor:
        z = original(inp)
        z.register_hook(lambda g: calls.append(1))
        return z

    model.trunk.forward = hooked  # type: ignore[method-assign]
    method.backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())
    assert len(calls) == (1 if name in LOSS_ONLY else 3)


@pytest.mark.parametrize("name", [n for n in ALL if n not in LOSS_ONLY])
def test_gradient_methods_refuse_a_problem_without_shared_parameters(name: str) -> None:
    model = SharedBottom(2)
    x, y = regression_data(2)
    with pytest.raises(ParetoSweepError, match="needs the shared parameters"):
        build(name, 2).backward(model.losses(x, y), [], task_specific=list(model.parameters()))


@pytest.mark.parametrize("name", ALL)
def test_wrong_number_of_losses_is_refused(name: str) -> None:
    model = SharedBottom(2)
    x, y = regression_data(2)
    with pytest.raises(ValueError, match=r"expects losses of shape \[3\]"):
        build(name, 3).backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())


@pytest.mark.parametrize("name", STATEFUL)
def test_state_dict_round_trips_through_a_checkpoint(name: str) -> None:
    torch.manual_seed(0)
    model, method = SharedBottom(3), build(name, 3)
    optimizer = torch.optim.SGD([*model.parameters(), *method.parameters()], lr=0.05)
    for step in range(3):
        one_step(method, model, seed=step)
        optimizer.step()
        method.on_epoch_end(step, torch.tensor([1.0, 0.9, 0.8]) / (step + 1))
    buffer = io.BytesIO()
    torch.save(method.state_dict(), buffer)
    buffer.seek(0)
    restored = build(name, 3)
    restored.load_state_dict(torch.load(buffer))
    twin = copy.deepcopy(model)
    torch.testing.assert_close(one_step(restored, twin, seed=9), one_step(method, model, seed=9))
    for a, b in zip(grads_of(list(twin.parameters())), grads_of(list(model.parameters()))):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", STATEFUL)
def test_fresh_and_trained_state_differ(name: str) -> None:
    """The round-trip test above is meaningful: training changes the state."""
    torch.manual_seed(0)
    model, method = SharedBottom(3), build(name, 3)
    fresh = build(name, 3).state_dict()
    optimizer = torch.optim.SGD([*model.parameters(), *method.parameters()], lr=0.05)
    for step in range(3):
        one_step(method, model, seed=step)
        optimizer.step()
        method.on_epoch_end(step, torch.tensor([1.0, 0.9, 0.8]) / (step + 1))
    assert not same_state(method.state_dict(), fresh)


def same_state(a: object, b: object) -> bool:
    """Recursive equality of state dicts, including dict-valued extra state."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", ALL)
def test_twenty_training_steps_stay_finite_and_reduce_the_losses(name: str) -> None:
    torch.manual_seed(0)
    model, method = SharedBottom(2), build(name, 2)
    lr = 0.01 if method.replaces_optimizer else 0.05
    optimizer = torch.optim.SGD([{"params": model.parameters()}, {"params": method.parameters()}], lr=lr)
    x, y = regression_data(2, n=64)
    start = model.losses(x, y).detach()
    for step in range(20):
        optimizer.zero_grad()
        weights = method.backward(model.losses(x, y), model.shared(), task_specific=model.task_specific())
        optimizer.step()
        assert torch.isfinite(weights).all()
        if step % 5 == 4:
            method.on_epoch_end(step // 5, model.losses(x, y).detach())
    end = model.losses(x, y).detach()
    assert torch.isfinite(end).all()
    assert end.mean() < start.mean()
