"""A function trainable that conditions its own model on ``w`` (``sampler: conditioned``), for the tests.

It concatenates ``w`` to the input (the generic fallback a Problem cannot get automatically),
draws ``w = ctx.sample_weights(batch)`` per batch, and, in the conditioned training
(``ctx.conditioned``), ends with ``ctx.evaluate_proposals``. In a verification trial the same
code continues from ``ctx.checkpoint`` at the trial's fixed weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: The ``tasks:`` block this trainable reports.
TASKS = {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "loss", "direction": "min"}}


class ConditionedNet(nn.Module):
    """``[x, w] -> (a, b)``: the weight vector is an input."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(4 + 2, 16), nn.Tanh())
        self.head_a, self.head_b = nn.Linear(16, 1), nn.Linear(16, 1)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(torch.cat([x, w.expand(x.shape[0], -1)], dim=1))
        return self.head_a(z).squeeze(1), self.head_b(z).squeeze(1)


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 4, generator=g)
    return x, x[:, 0] + x[:, 1], x[:, 0] - x[:, 1]  # two conflicting regressions on a shared input


def _losses(model: ConditionedNet, x: torch.Tensor, ya: torch.Tensor, yb: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
    pa, pb = model(x, w)
    return {"a": ((pa - ya) ** 2).mean(), "b": ((pb - yb) ** 2).mean()}


def _metrics(model: ConditionedNet, w: torch.Tensor) -> dict[str, float]:
    x, ya, yb = _data()
    with torch.no_grad():
        losses = _losses(model, x, ya, yb, w)
    return {"a_loss": float(losses["a"]), "b_loss": float(losses["b"])}


def train(ctx: Any) -> None:
    """Adam on the conditioned net; a checkpoint every epoch; proposals at the end of the conditioned training."""
    x, ya, yb = _data()
    model = ConditionedNet()
    opt = torch.optim.Adam(model.parameters(), lr=ctx.config["lr"])
    start = 0
    if ctx.checkpoint is not None:
        model.load_state_dict(ctx.checkpoint["model"])
        opt.load_state_dict(ctx.checkpoint["optimizer"])
        start = ctx.checkpoint["epoch"] + 1
    for epoch in range(start, ctx.config["epochs"]):
        for i in range(0, len(x), 32):
            w = ctx.sample_weights(32)  # [2]: drawn per batch in the conditioned training, the trial's own weights otherwise
            opt.zero_grad()
            ctx.backward(_losses(model, x[i : i + 32], ya[i : i + 32], yb[i : i + 32], w))
            opt.step()
        at = torch.full((2,), 0.5) if ctx.conditioned else ctx.sample_weights()
        ctx.report(_metrics(model, at), checkpoint={"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch})
    if ctx.conditioned:
        ctx.evaluate_proposals(lambda w: _metrics(model, w))
