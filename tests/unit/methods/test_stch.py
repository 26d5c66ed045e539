"""STCH: the swept smooth-Tchebycheff trial at one preference, with the running ideal point."""

from __future__ import annotations

import torch
from torch import nn

from paretosweep import methods
from paretosweep.scalarizers import Scalarizer


def test_stch_is_the_running_min_smooth_tchebycheff_scalarizer_at_its_preference() -> None:
    gen = torch.Generator().manual_seed(0)
    sequence = torch.rand(6, 3, generator=gen) + 0.2
    pref = [0.2, 0.3, 0.5]
    stch = methods.create("stch", n_tasks=3, preference=pref, mu=0.05, ideal_margin=0.01)
    swept = Scalarizer("smooth_tchebycheff", lower_bounds=[0.0] * 3, ideal="running_min", mu=0.05, ideal_margin=0.01)
    w = torch.tensor(pref)
    for losses in sequence:
        ours_leaf, swept_leaf = nn.Parameter(losses.clone()), nn.Parameter(losses.clone())
        weights = stch.backward(ours_leaf * 1.0, [ours_leaf])
        swept(swept_leaf * 1.0, w).backward()
        assert ours_leaf.grad is not None and swept_leaf.grad is not None
        torch.testing.assert_close(ours_leaf.grad, swept_leaf.grad)
        torch.testing.assert_close(weights, swept.effective_weights(losses, w))


def test_small_mu_puts_the_step_on_the_worst_weighted_task() -> None:
    stch = methods.create("stch", n_tasks=3, mu=1e-3, ideal_margin=0.0)
    stch.objective(torch.tensor([0.1, 0.1, 0.1]))  # the ideal point: 0.1 each
    _, weights = stch.objective(torch.tensor([0.3, 0.5, 0.2]))
    torch.testing.assert_close(weights, torch.tensor([0.0, 1.0, 0.0]))
