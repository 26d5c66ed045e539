"""Function trainables the tests import by path (``problem.trainable: tests.trainables_for_tests:...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

#: The ``tasks:`` block these trainables report.
TASKS = {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "acc", "direction": "max", "also": {"loss": "min"}}}


class TwoTaskNet(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(4, width), nn.Tanh())
        self.head_a, self.head_b = nn.Linear(width, 1), nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(x)
        return self.head_a(z).squeeze(1), self.head_b(z).squeeze(1)


def _data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 4, generator=g)
    return x, x[:, 0] + 0.5 * x[:, 1], (x[:, 2] - x[:, 0] > 0).float()  # a: regression, b: a binary label


def _losses(model: TwoTaskNet, x: torch.Tensor, ya: torch.Tensor, yb: torch.Tensor) -> dict[str, torch.Tensor]:
    pa, pb = model(x)
    return {"a": ((pa - ya) ** 2).mean(), "b": nn.functional.binary_cross_entropy_with_logits(pb, yb)}


def _metrics(model: TwoTaskNet, x: torch.Tensor, ya: torch.Tensor, yb: torch.Tensor) -> dict[str, float]:
    with torch.no_grad():
        losses = _losses(model, x, ya, yb)
        acc = ((model(x)[1] > 0).float() == yb).float().mean()
    return {"a_loss": float(losses["a"]), "b_loss": float(losses["b"]), "b_acc": float(acc)}


def regression(ctx: Any) -> None:
    """Two tasks on generated data, AdamW, a checkpoint every epoch, resumed from ``ctx.checkpoint``."""
    x, ya, yb = _data()
    model = TwoTaskNet(int(ctx.config.get("width", 8))).to(ctx.device)
    opt = torch.optim.AdamW(model.parameters(), lr=ctx.config["lr"])
    start = 0
    if ctx.checkpoint is not None:
        model.load_state_dict(ctx.checkpoint["model"])
        opt.load_state_dict(ctx.checkpoint["optimizer"])
        start = ctx.checkpoint["epoch"] + 1
    for epoch in range(start, ctx.config["epochs"]):
        _fail_once_if_asked(ctx, epoch)
        for i in range(0, len(x), 32):
            opt.zero_grad()
            ctx.backward(_losses(model, x[i : i + 32], ya[i : i + 32], yb[i : i + 32]), shared=list(model.trunk.parameters()))
            opt.step()
        ctx.report(
            _metrics(model, x, ya, yb),
            checkpoint={"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch},
        )


def _fail_once_if_asked(ctx: Any, epoch: int) -> None:
    """With ``config.fail_once_at: E`` and ``config.marker_dir``: raise at epoch E the first time (a transient crash)."""
    at = ctx.config.get("fail_once_at")
    if at is None or epoch != at:
        return
    marker = Path(ctx.config["marker_dir"]) / f"{ctx.trial_id}.failed"
    if not marker.exists():
        marker.write_text(str(ctx.checkpoint is not None))
        raise RuntimeError(f"transient crash at epoch {epoch}")


def misbehaving(ctx: Any) -> None:
    """Each scalarization weight vector misuses the context differently (by ``w_a``); w_a = 0.5 trains properly."""
    w_a = round(ctx.weights["a"], 2) if ctx.weights else 0.5
    x, ya, yb = _data()
    model = TwoTaskNet(4)
    if w_a == 0.0:
        raise ValueError("the user's code broke")
    if w_a == 0.25:
        return  # never reports
    if w_a == 0.75:
        ctx.report({"a_loss": 0.1})  # the objective b_acc is missing
    if w_a == 1.0:
        losses = _losses(model, x, ya, yb)
        ctx.backward({"a": losses["a"], "typo": losses["b"]})  # unknown task name
    ctx.backward(_losses(model, x, ya, yb), shared=list(model.trunk.parameters()))
    ctx.report(_metrics(model, x, ya, yb))


def not_a_trainable(first: Any, second: Any) -> None:
    """Takes two arguments: refused as a trainable."""


def dies_after_a_checkpoint(ctx: Any) -> None:
    """Reports one epoch with a checkpoint, then kills its own worker process (as a segfault or an OOM kill would)."""
    import os

    x, ya, yb = _data()
    model = TwoTaskNet(4)
    ctx.report(_metrics(model, x, ya, yb), checkpoint={"model": model.state_dict(), "epoch": 0})
    os._exit(3)


def chatty(ctx: Any) -> None:
    """Prints a line from inside the trial, then trains as :func:`regression`."""
    print(f"hello from inside trial {ctx.trial_id}", flush=True)
    regression(ctx)
