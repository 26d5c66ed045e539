"""MetaBalance against He et al.: per-layer magnitude relaxation toward the main task."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paretosweep.methods import MetaBalance, metabalance_scales


def two_block_problem() -> tuple[nn.Parameter, nn.Parameter, torch.Tensor]:
    """Shared blocks a (2 entries) and b (1 entry); rows (1, 0 | 1) and (-1, 2 | 0)."""
    a = nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    losses = torch.stack([a[0] + b[0], -a[0] + 2 * a[1]])
    return a, b, losses


def test_worked_example_per_block() -> None:
    # Block a: norms (1, sqrt5) -> s_2 = 0.7 / sqrt5 + 0.3; block b: task 2 has no gradient.
    a, b, losses = two_block_problem()
    w = MetaBalance(n_tasks=2, main_task=0, relax_factor=0.7).backward(losses, [a, b])
    s2 = 0.7 / 5**0.5 + 0.3
    torch.testing.assert_close(a.grad, torch.tensor([1.0 - s2, 2.0 * s2], dtype=torch.float64))
    torch.testing.assert_close(b.grad, torch.tensor([1.0], dtype=torch.float64))
    torch.testing.assert_close(w, torch.tensor([1.0, s2], dtype=torch.float64))


@pytest.mark.parametrize(("strategy", "expected"), [("adapt", [0.625, 2.5]), ("reduce", [0.625, 1.0]), ("enlarge", [1.0, 2.5])])
def test_strategies(strategy: str, expected: list[float]) -> None:
    ema = torch.tensor([[1.0, 1.0], [4.0, 0.25]])  # aux larger in block 0, smaller in block 1
    scales = metabalance_scales(ema, 0, 0.5, strategy)
    torch.testing.assert_close(scales[1], torch.tensor(expected))
    torch.testing.assert_close(scales[0], torch.ones(2))


def test_relax_factor_zero_is_plain_sum_and_one_matches_magnitudes() -> None:
    ema = torch.tensor([[2.0], [8.0]])
    torch.testing.assert_close(metabalance_scales(ema, 0, 0.0), torch.ones(2, 1))
    assert float(metabalance_scales(ema, 0, 1.0)[1, 0] * 8.0) == pytest.approx(2.0)


def test_moving_average_over_steps() -> None:
    method = MetaBalance(n_tasks=2, main_task=1, beta=0.5)
    for scale in (1.0, 3.0):
        x = nn.Parameter(torch.ones(1))
        method.backward(torch.stack([scale * x.sum(), 2 * x.sum()]), [x])
    # ema_0 = 0.5 * (0.5 * 1) + 0.5 * 3 = 1.75; ema_1 = 0.5 * (0.5 * 2) + 0.5 * 2 = 1.5
    torch.testing.assert_close(method.norm_ema, torch.tensor([[1.75], [1.5]]))
