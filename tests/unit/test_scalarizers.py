"""Scalarizers against their formulas."""

from __future__ import annotations

import math

import pytest
import torch

from paretosweep.errors import ConfigError, UnknownNameError
from paretosweep.scalarizers import Scalarizer, effective_weights, scalarize

L = torch.tensor([1.0, 3.0, 2.0])
W = torch.tensor([0.5, 0.2, 0.3])
Z = (0.5, 1.0, 0.0)


def test_linear_is_the_weighted_sum_and_ignores_the_ideal_point() -> None:
    s = Scalarizer("linear", lower_bounds=[0, 0, 0], ideal=Z)
    assert float(s(L, W)) == pytest.approx(0.5 * 1 + 0.2 * 3 + 0.3 * 2)


def test_tchebycheff_is_the_largest_weighted_excess_over_the_ideal_point() -> None:
    s = Scalarizer("tchebycheff", lower_bounds=[0, 0, 0], ideal=Z)
    assert float(s(L, W)) == pytest.approx(max(0.5 * 0.5, 0.2 * 2.0, 0.3 * 2.0))


def test_smooth_tchebycheff_is_mu_logsumexp_and_bounds_tchebycheff() -> None:
    mu = 0.05
    s = Scalarizer("smooth_tchebycheff", lower_bounds=[0, 0, 0], ideal=Z, mu=mu)
    excess = [0.5 * 0.5, 0.2 * 2.0, 0.3 * 2.0]
    expected = mu * math.log(sum(math.exp(e / mu) for e in excess))
    assert float(s(L, W)) == pytest.approx(expected, rel=1e-6)
    assert max(excess) <= float(s(L, W)) <= max(excess) + mu * math.log(3) + 1e-7


def test_problem_ideal_point_uses_the_declared_lower_bounds() -> None:
    s = Scalarizer("tchebycheff", lower_bounds=[1.0, 1.0, 1.0])
    assert float(s(L, W)) == pytest.approx(max(0.0, 0.2 * 2.0, 0.3 * 1.0))


def test_running_min_ideal_point_tracks_the_smallest_losses_seen() -> None:
    s = Scalarizer("tchebycheff", lower_bounds=[0, 0], ideal="running_min", ideal_margin=0.0)
    s(torch.tensor([2.0, 5.0]), torch.tensor([0.5, 0.5]))
    value = s(torch.tensor([3.0, 4.0]), torch.tensor([0.5, 0.5]))
    assert float(value) == pytest.approx(max(0.5 * (3 - 2), 0.5 * (4 - 4)))


def test_gradient_flows_only_through_the_active_task_for_tchebycheff() -> None:
    losses = torch.tensor([1.0, 3.0], requires_grad=True)
    Scalarizer("tchebycheff", lower_bounds=[0, 0])(losses, torch.tensor([0.5, 0.5])).backward()
    assert losses.grad.tolist() == [0.0, 0.5]


def test_bad_scalarizer_input_is_a_clear_error() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean `tchebycheff`"):
        Scalarizer("tchebychef", lower_bounds=[0, 0])
    with pytest.raises(ConfigError, match="scalarizer.ideal"):
        Scalarizer("tchebycheff", lower_bounds=[0, 0], ideal=(0.0,))


@pytest.mark.parametrize("name", ["linear", "tchebycheff", "smooth_tchebycheff"])
def test_effective_weights_are_the_normalised_gradient_of_the_scalarizer(name: str) -> None:
    """c = ds/dL by autograd, normalised to sum 1, for a batch of loss vectors (packed shape [P, m])."""
    torch.manual_seed(0)
    losses = torch.rand(5, 3, dtype=torch.float64, requires_grad=True)
    weights = torch.softmax(torch.randn(5, 3, dtype=torch.float64), dim=1)
    z = torch.tensor([0.1, 0.0, 0.2], dtype=torch.float64)
    scalarize(name, losses, weights, z, mu=0.2).sum().backward()
    assert losses.grad is not None
    expected = losses.grad / losses.grad.sum(dim=1, keepdim=True)
    got = effective_weights(name, losses, weights, z, mu=0.2)
    assert torch.allclose(got, expected, atol=1e-12)
    assert torch.allclose(got.sum(dim=1), torch.ones(5, dtype=torch.float64))


def test_tchebycheff_effective_weights_are_the_one_hot_of_the_active_term_and_ties_share() -> None:
    w = torch.tensor([0.5, 0.2, 0.3])
    assert effective_weights("tchebycheff", L, w, torch.tensor(Z), mu=0.1).tolist() == [0.0, 0.0, 1.0]  # 0.25, 0.4, 0.6
    tied = effective_weights("tchebycheff", torch.tensor([2.0, 1.0]), torch.tensor([0.25, 0.5]), torch.zeros(2), mu=0.1)
    assert tied.tolist() == pytest.approx([1 / 3, 2 / 3])  # both terms 0.5: amax splits the subgradient evenly


def test_smooth_tchebycheff_effective_weights_follow_the_softmax_formula() -> None:
    mu = 0.05
    shifted = W * (L - torch.tensor(Z))
    c = W * torch.softmax(shifted / mu, dim=0)
    got = Scalarizer("smooth_tchebycheff", lower_bounds=[0, 0, 0], ideal=Z, mu=mu)
    got(L, W)
    assert torch.allclose(got.effective_weights(L, W), c / c.sum())


def test_running_min_effective_weights_read_the_ideal_point_without_moving_it() -> None:
    s = Scalarizer("tchebycheff", lower_bounds=[0, 0], ideal="running_min", ideal_margin=0.0)
    s(torch.tensor([2.0, 5.0]), torch.tensor([0.5, 0.5]))
    losses = torch.tensor([3.0, 4.0])
    s(losses, torch.tensor([0.5, 0.5]))  # z = (2, 4): excess (0.5, 0): task 0 is active
    assert s.effective_weights(losses, torch.tensor([0.5, 0.5])).tolist() == [1.0, 0.0]
    assert s.ideal_point(losses, update=False).tolist() == [2.0, 4.0]
