"""The Lightning example: a LightningModule with manual optimisation as the trainable of a real sweep."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning.pytorch as pl
import pytest
import torch

import paretosweep
from examples import lightning_multitask as example
from paretosweep.planning import build_plan
from paretosweep.trainables import spec_with_trainable, trainable_problem
from paretosweep.trial import TrainableError, make_context


def tiny(tmp_path: Path, *, epochs: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        **example.SPEC,
        "storage": str(tmp_path / "run"),
        "problem": {"config": {"width": 8, "batch_size": 64, "limit_train_batches": 4}},
        "budget": {"n_weights": 2, "epochs": epochs, "lr": 0.01},
        **extra,
    }


class CrashOnce(pl.Callback):
    """Crash a trial once at the start of epoch 1 (0-based); note where the retried fit starts."""

    def __init__(self, folder: str, trial_id: str) -> None:
        self.marker, self.started = Path(folder) / f"{trial_id}.crashed", Path(folder) / f"{trial_id}.starts"

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        with self.started.open("a") as log:
            log.write(f"{trainer.current_epoch} {trainer.global_step}\n")

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == 1 and not self.marker.exists():
            self.marker.write_text("crashed")
            raise RuntimeError("transient crash at epoch 1")


@pytest.mark.slow
@pytest.mark.usefixtures("local_ray")
def test_the_lightning_example_sweeps_resumes_a_crash_and_keeps_loadable_checkpoints(tmp_path: Path) -> None:
    folder = tmp_path / "markers"
    folder.mkdir()

    def train(ctx: Any) -> None:  # the example's trainable, with one crash per trial
        example.train(ctx, callbacks=(CrashOnce(str(folder), ctx.trial_id),))

    spec = tiny(tmp_path, max_retries=1, checkpoints={"keep": "all"})
    summary = paretosweep.run(spec, trainable=train)
    run = tmp_path / "run"
    trials = paretosweep.load_trials(run)
    assert summary.completed == 3 and set(trials["status"]) == {"completed"}
    assert sorted(trials["kind"]) == ["method", "scalarization", "scalarization"]
    for row in trials.itertuples():
        history = json.loads(row.history)
        assert [h["epoch"] for h in history] == [1, 2]
        assert all(set(h) >= {"a_loss", "b_acc", "b_loss"} for h in history)
        assert 0.0 <= row.b_acc <= 1.0 and row.a_loss > 0 and row.effective_weights_mean is not None
        assert json.loads(row.hparams)["attempts"] == 2
        # the first fit started at epoch 0, the retried one at epoch 1 after the 4 steps of epoch 0
        assert (folder / f"{row.trial_id}.starts").read_text().split("\n")[:2] == ["0 0", "1 4"]
        saved = paretosweep.load_checkpoint(run, row.trial_id)
        assert saved["epoch"] == 1 and saved["global_step"] == 8
        module = example.TwoTaskModule(SimpleNamespace(config={"width": 8}))
        module.load_state_dict(saved["state_dict"])
        x, a, b = example.make_data(512, seed=1).tensors
        with torch.no_grad():
            losses, acc = module.task_losses((x, a, b))
        assert float(losses["a"]) == pytest.approx(row.a_loss, rel=1e-5)  # the reported epoch is the saved model
        assert float(acc) == pytest.approx(row.b_acc, abs=1e-6)
    assert not list(run.rglob("lightning_logs"))


def local_context(tmp_path: Path, *, epochs: int, reports: list[Any], restored: Any = None, **extra: Any) -> Any:
    """The first trial's context without Ray, its reports (metrics, wrapped checkpoint) appended to ``reports``."""
    spec = spec_with_trainable(tiny(tmp_path, epochs=epochs, **extra), example.train)
    trial = build_plan(spec).trials[0]
    return make_context(
        trial,
        spec,
        trainable_problem(spec),
        device=torch.device("cpu"),
        sink=lambda metrics, checkpoint: reports.append((metrics, checkpoint)),
        name="examples.lightning_multitask:train",
        restored=restored,
    )


def test_the_callback_reports_every_epoch_and_lightning_resumes_from_ctx_checkpoint(tmp_path: Path) -> None:
    first: list[Any] = []
    example.train(local_context(tmp_path, epochs=1, reports=first))
    ((metrics, wrapped),) = first
    assert metrics["epoch"] == 1 and {"a_loss", "b_acc", "b_loss"} <= set(metrics)
    assert wrapped["trainable"]["epoch"] == 0 and wrapped["trainable"]["global_step"] == 4

    resumed: list[Any] = []
    ctx = local_context(tmp_path, epochs=3, reports=resumed, restored=wrapped)
    assert ctx.checkpoint is wrapped["trainable"]
    example.train(ctx)
    assert [m["epoch"] for m, _ in resumed] == [2, 3]  # epochs 2 and 3 only: Lightning went on from the checkpoint
    assert [c["trainable"]["global_step"] for _, c in resumed] == [8, 12]
    assert [h["epoch"] for h in ctx.outcome.history] == [1, 2, 3]


class AutomaticModule(example.TwoTaskModule):
    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.automatic_optimization = True


def test_a_fit_the_callback_cannot_drive_is_refused_with_the_fix(tmp_path: Path) -> None:
    ctx = local_context(tmp_path, epochs=1, reports=[])
    callback = example.ParetoSweepCallback(ctx)
    trainer = pl.Trainer(
        accelerator="cpu", max_epochs=1, callbacks=[callback], logger=False, check_val_every_n_epoch=2, enable_progress_bar=False
    )
    data = torch.utils.data.DataLoader(example.make_data(64, seed=0), batch_size=32)
    with pytest.raises(TrainableError) as raised:
        trainer.fit(AutomaticModule(ctx), data, data)
    message = str(raised.value)
    assert "set `self.automatic_optimization = False`" in message and "`check_val_every_n_epoch=1`, found 2" in message
