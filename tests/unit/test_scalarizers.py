"""Scalarizers against their formulas."""

from __future__ import annotations

import math

import pytest
import torch

from paretosweep.errors import ConfigError, UnknownNameError
from paretosweep.scalarizers import Scalarizer

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
