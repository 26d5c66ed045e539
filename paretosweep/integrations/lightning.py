"""Lightning bridge: a ``LightningModule`` with manual optimisation trains as one trial of a sweep.

The trial's scalarizer or comparison method owns the backward step, so the module switches
Lightning's automatic optimisation off and calls ``ctx.backward`` where it would call
``self.manual_backward``; :class:`ParetoSweepCallback` reports each epoch's logged metrics with a
Lightning checkpoint and resumes a retried trial from it::

    import lightning.pytorch as pl
    from paretosweep.integrations.lightning import ParetoSweepCallback

    class TwoTasks(pl.LightningModule):
        def __init__(self, ctx):
            super().__init__()
            self.automatic_optimization = False  # ctx.backward writes the gradients, not Lightning
            self.ctx = ctx
            self.trunk, self.head_a, self.head_b = ...

        def training_step(self, batch, batch_idx):
            opt = self.optimizers()
            opt.zero_grad()
            self.ctx.backward(self.task_losses(batch), shared=list(self.trunk.parameters()))
            opt.step()

        def validation_step(self, batch, batch_idx):
            self.log_dict({"a_loss": ..., "b_acc": ...})  # the objective columns, averaged over the epoch

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=self.ctx.config["lr"])

    def train(ctx):
        callback = ParetoSweepCallback(ctx)
        trainer = pl.Trainer(max_epochs=ctx.config["epochs"], callbacks=[callback], logger=False)
        trainer.fit(TwoTasks(ctx), train_loader, val_loader, ckpt_path=callback.ckpt_path)

What is reported: at the end of every training epoch, ``trainer.callback_metrics`` (what the
module logged in ``validation_step`` / ``training_step`` / the epoch-end hooks, epoch-averaged
where Lightning averages it; log the objective columns under their own names) goes to
``ctx.report`` with the checkpoint ``trainer.save_checkpoint`` writes (``state_dict``,
``optimizer_states``, ``epoch``, loop state, ...): ``paretosweep.load_checkpoint(run, trial_id)``
gives it back, ``state_dict`` loads into the module. A retried trial's ``ctx.checkpoint`` is that
dict again; ``callback.ckpt_path`` writes it to a temporary file for ``trainer.fit(ckpt_path=...)``,
so Lightning restores model, optimiser and loops and goes on with the next epoch (None for a fresh
trial). As a :class:`~lightning.pytorch.callbacks.Checkpoint`, the callback also stands in for
Lightning's default ``ModelCheckpoint``: the trial writes no ``lightning_logs`` checkpoints.

Limits, refused at ``fit`` start: automatic optimisation (Lightning would backpropagate the
returned loss, not the trial's scalarization); more than one process (comparison methods take
per-task gradients with ``torch.autograd.grad``, which DDP does not all-reduce); fp16 mixed
precision (Lightning's ``GradScaler`` would unscale gradients ``ctx.backward`` never scaled: use
``32-true`` or ``bf16-mixed``); validation less often than every epoch (``check_val_every_n_epoch``
other than 1 would report stale objectives). Needs ``lightning`` (``pip install "paretosweep[lightning]"``).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from paretosweep.errors import OptionalDependencyError
from paretosweep.trial import TrainableError

try:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import Checkpoint
except ImportError as error:  # pragma: no cover - the extra is part of the dev install
    raise OptionalDependencyError('paretosweep.integrations.lightning needs Lightning: `pip install "paretosweep[lightning]"`.') from error

#: precisions whose backward needs a loss scaler that ``ctx.backward`` does not get from Lightning.
SCALED_PRECISIONS = ("16-mixed", "16", "16-true")


class ParetoSweepCallback(Checkpoint):
    """Report each training epoch's logged metrics and a Lightning checkpoint to ``ctx.report``.

    Args:
        ctx: the trial's :class:`paretosweep.TrialContext`.
    """

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self._folder: Path | None = None

    @property
    def ckpt_path(self) -> str | None:
        """``ctx.checkpoint`` as a file for ``trainer.fit(ckpt_path=...)``; None for a fresh trial."""
        if self.ctx.checkpoint is None:
            return None
        path = self._scratch() / "resume.ckpt"
        if not path.exists():
            torch.save(self.ctx.checkpoint, path)
        return str(path)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        problems = []
        if pl_module.automatic_optimization:
            problems.append(
                "set `self.automatic_optimization = False` in the module and call `self.ctx.backward(losses, shared=...)` "
                "then `opt.step()` in `training_step`"
            )
        if trainer.world_size > 1:
            problems.append(f"train on one device (the trainer runs {trainer.world_size} processes)")
        if str(trainer.precision) in SCALED_PRECISIONS:
            problems.append(f"use precision `32-true` or `bf16-mixed`, not `{trainer.precision}`")
        if trainer.enable_validation and trainer.check_val_every_n_epoch != 1:
            problems.append(f"validate every epoch (`check_val_every_n_epoch=1`, found {trainer.check_val_every_n_epoch})")
        if problems:
            raise TrainableError("ParetoSweepCallback cannot drive this Lightning fit: " + "; ".join(problems) + ".")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = {k: v for k, v in trainer.callback_metrics.items() if not isinstance(v, torch.Tensor) or v.numel() == 1}
        self.ctx.report(metrics, checkpoint=self._checkpoint(trainer))

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _checkpoint(self, trainer: pl.Trainer) -> dict[str, Any]:
        """The full Lightning checkpoint of this moment, as a dict (written by ``trainer.save_checkpoint``)."""
        path = self._scratch() / "epoch.ckpt"
        trainer.save_checkpoint(path)
        saved: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
        path.unlink()
        return saved

    def _scratch(self) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="paretosweep-lightning-"))
        return self._folder
