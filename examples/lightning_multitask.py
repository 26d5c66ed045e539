"""Sweep the loss weights of your own two-task Lightning model (CPU, well under a minute).

Two tasks share one trunk: ``a`` regresses a smooth function of the input, ``b`` classifies the
sign of another. ``paretosweep.run`` trains the module under several weight vectors on the
simplex, plus PCGrad as a comparison, and keeps the Pareto frontier of (``a_loss`` down,
``b_acc`` up)::

    python examples/lightning_multitask.py            # writes runs/lightning-multitask
    paretosweep frontier runs/lightning-multitask     # the non-dominated trials

The module switches automatic optimisation off and calls ``ctx.backward`` in ``training_step``
(the trial's scalarization or method writes the gradients); ``ParetoSweepCallback`` reports each
epoch's validation metrics with a checkpoint and resumes a retried trial from it.
"""

from __future__ import annotations

import sys
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import paretosweep
from paretosweep.integrations.lightning import ParetoSweepCallback

#: ``tasks:`` the module logs: ``a_loss`` (objective, min), ``b_acc`` (objective, max), ``b_loss``.
TASKS = {"a": {"metric": "loss", "direction": "min"}, "b": {"metric": "acc", "direction": "max", "also": {"loss": "min"}}}

SPEC: dict[str, Any] = {
    "name": "lightning-multitask",
    "storage": "runs/lightning-multitask",
    "tasks": TASKS,
    "problem": {"config": {"width": 32, "batch_size": 64, "limit_train_batches": 1.0}},
    "budget": {"n_weights": 5, "epochs": 3, "lr": 0.01},
    "methods": [{"name": "pcgrad"}],
    "reference_point": {"a_loss": 4.0, "b_acc": 0.0},
    "max_retries": 1,
}


def make_data(n: int, *, seed: int) -> TensorDataset:
    """``x [n, 8]``, ``a = sin(x·u)`` (regression) and ``b = 1[x·v > 0]`` (labels), u and v half-aligned."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    u = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    v = torch.tensor([1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    return TensorDataset(x, torch.sin(x @ u), (x @ v > 0).float())


class TwoTaskModule(pl.LightningModule):
    """A shared MLP trunk with a regression head (task ``a``) and a logit head (task ``b``)."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.automatic_optimization = False  # the trial's scalarizer or method writes the gradients
        self.ctx = ctx
        width = int(ctx.config["width"])
        self.trunk = nn.Sequential(nn.Linear(8, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        self.head_a, self.head_b = nn.Linear(width, 1), nn.Linear(width, 1)

    def task_losses(self, batch: tuple[Tensor, Tensor, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        x, a, b = batch
        z = self.trunk(x)
        logits = self.head_b(z).squeeze(1)
        losses = {"a": nn.functional.mse_loss(self.head_a(z).squeeze(1), a), "b": nn.functional.binary_cross_entropy_with_logits(logits, b)}
        return losses, ((logits > 0).float() == b).float().mean()

    def training_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> None:
        opt = self.optimizers()  # one optimiser: a LightningOptimizer
        assert not isinstance(opt, list)
        opt.zero_grad()
        losses, _ = self.task_losses(batch)
        self.ctx.backward(losses, shared=list(self.trunk.parameters()))
        opt.step()

    def validation_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> None:
        losses, acc = self.task_losses(batch)
        self.log_dict({"a_loss": losses["a"], "b_loss": losses["b"], "b_acc": acc})  # epoch means

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.ctx.config["lr"])


def train(ctx: Any, *, callbacks: tuple[pl.Callback, ...] = ()) -> None:
    """One trial: the Lightning fit of :class:`TwoTaskModule` under the trial's weights or method."""
    config = ctx.config
    pl.seed_everything(ctx.seed, verbose=False)
    train_data = DataLoader(make_data(1024, seed=0), batch_size=int(config["batch_size"]), shuffle=True)
    val_data = DataLoader(make_data(512, seed=1), batch_size=256)
    report = ParetoSweepCallback(ctx)
    trainer = pl.Trainer(
        accelerator="gpu" if ctx.device.type == "cuda" else "cpu",
        devices=1,
        max_epochs=int(config["epochs"]),
        limit_train_batches=config["limit_train_batches"],
        callbacks=[report, *callbacks],
        logger=False,  # the sweep records the metrics (add `callbacks: [mlflow]` to the spec to track them)
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(TwoTaskModule(ctx), train_data, val_data, ckpt_path=report.ckpt_path)


def main(storage: str = SPEC["storage"]) -> None:
    summary = paretosweep.run({**SPEC, "storage": storage}, trainable=train, overwrite=True)
    print(f"{summary.completed}/{summary.planned} trials completed in {summary.wall_seconds:.0f} s; frontier:")
    frontier = paretosweep.load_frontier(storage)
    print(frontier[[c for c in ("kind", "method", "weights", "a_loss", "b_acc") if c in frontier]].to_string())


if __name__ == "__main__":
    main(*sys.argv[1:2])
