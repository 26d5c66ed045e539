"""Packed trials: a packed member equals its weight vector trained alone.

Tolerance: held-out metrics of a packed member agree with :func:`train_trial` of the same
trial config (same seed, hence the same initial model *and* the same batch order, since a pack
draws its batches from a generator seeded with its first member's seed) to 1e-4 relative after
2 epochs. The batched (vmap) kernels round differently from the unbatched ones; measured
differences are 0 on fonseca and below 1e-7 on synthetic; with the built-ins' own packed
formulations (``packed_task_losses`` / ``packed_evaluate``), 4e-8 on recsys and 0 on multimnist.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import torch

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.simplex import dirichlet
from paretosweep.trial import auto_pack_size, make_packs, train_packed, train_trial

CPU = torch.device("cpu")
RTOL = 1e-4


def _spec(problem: str, params: dict[str, Any], scalarizer: str = "linear", optimizer: str = "adam", **scalarizer_extra: Any) -> SweepSpec:
    return SweepSpec.model_validate(
        {
            "problem": {"name": problem, "params": params},
            "budget": {"epochs": 2, "steps_per_epoch": 8, "optimizer": optimizer},
            "scalarizer": {"name": scalarizer, **scalarizer_extra},
        }
    )


def _trials(weights: list[tuple[float, ...]], seed: int = 3, lr: float = 1e-2) -> list[TrialConfig]:
    return [TrialConfig(f"s-{i}", "scalarization", w, seed, lr) for i, w in enumerate(weights)]


def _assert_close(packed: dict[str, float], alone: dict[str, float]) -> None:
    assert packed.keys() == alone.keys()
    for key, value in alone.items():
        assert packed[key] == pytest.approx(value, rel=RTOL, abs=1e-7), key


@pytest.mark.parametrize(
    ("problem", "params", "scalarizer", "optimizer"),
    [
        ("fonseca", {"n_dim": 3}, "tchebycheff", "adam"),
        ("fonseca", {"n_dim": 3}, "smooth_tchebycheff", "sgd"),
        ("synthetic", {"n_samples": 600, "hidden": 16}, "linear", "adam"),
        ("synthetic", {"n_samples": 600, "hidden": 16, "n_tasks": 3}, "tchebycheff", "adam"),
    ],
)
def test_packed_member_equals_trial_alone(problem: str, params: dict[str, Any], scalarizer: str, optimizer: str) -> None:
    spec = _spec(problem, params, scalarizer, optimizer)
    built = make_problem(problem, params)
    m = len(built.tasks)
    weights = [(0.2, 0.8), (0.5, 0.5), (0.9, 0.1)] if m == 2 else [(0.2, 0.3, 0.5), (0.6, 0.2, 0.2), (1 / 3, 1 / 3, 1 / 3)]
    trials = _trials(weights)
    outcomes = train_packed(built, trials, spec, device=CPU)
    assert len(outcomes) == len(trials)
    for trial, packed in zip(trials, outcomes, strict=True):
        alone = train_trial(built, trial, spec, device=CPU)
        assert packed.status == alone.status == "completed"
        assert packed.epochs_done == alone.epochs_done == 2
        _assert_close(packed.metrics, alone.metrics)
        _assert_close(packed.test_metrics, alone.test_metrics)  # synthetic: evaluate_test per member
        assert bool(packed.test_metrics) == (problem == "synthetic")  # fonseca has no test split
        assert [h["epoch"] for h in packed.history] == [1, 2]
        assert packed.effective_weights_mean == alone.effective_weights_mean
    # different weights give different members (the pack did not train one model P times)
    assert outcomes[0].metrics != outcomes[-1].metrics


@pytest.mark.parametrize(
    ("problem", "params"),
    [("recsys", {"n_samples": 2000}), ("multimnist", {"n_train": 128, "n_test": 64, "batch_size": 32})],
)
def test_problem_packed_formulation_in_member_groups_equals_trials_alone(problem: str, params: dict[str, Any]) -> None:
    """The built-ins' own packed forward/evaluation (not vmap), members run in groups of 2 (2 + 2 + 1)."""
    spec = _spec(problem, params, "tchebycheff")
    built = make_problem(problem, params)
    built.packed_cpu_group = 2
    calls = {"task_losses": 0, "evaluate": 0, "evaluate_test": 0}
    for hook in calls:
        original = getattr(built, f"packed_{hook}")

        def counted(*args: Any, _original: Any = original, _hook: str = hook) -> Any:
            calls[_hook] += 1
            return _original(*args)

        setattr(built, f"packed_{hook}", counted)
    m = len(built.tasks)
    weights = [tuple(float(x) for x in w) for w in dirichlet(m, 5, seed=0)]
    trials = _trials(weights)
    outcomes = train_packed(built, trials, spec, device=CPU)
    steps = min(8, sum(1 for _ in built.train_batches(epoch=0, generator=torch.Generator().manual_seed(0))))
    # 2 epochs x steps x 3 groups; 2 validation evaluations x 3 groups; the test split once x 3 groups
    assert calls == {"task_losses": 2 * steps * 3, "evaluate": 2 * 3, "evaluate_test": 3}
    for trial, packed in zip(trials, outcomes, strict=True):
        alone = train_trial(built, trial, spec, device=CPU)
        assert packed.status == alone.status == "completed"
        _assert_close(packed.metrics, alone.metrics)
        _assert_close(packed.test_metrics, alone.test_metrics)
        assert set(packed.test_metrics) == {f"test_{c}" for c in packed.metrics}
    assert outcomes[0].metrics != outcomes[-1].metrics


def test_running_min_ideal_matches() -> None:
    spec = _spec("fonseca", {}, "tchebycheff", ideal="running_min")
    built = make_problem("fonseca", {})
    trials = _trials([(0.3, 0.7), (0.7, 0.3)])
    for trial, packed in zip(trials, train_packed(built, trials, spec, device=CPU), strict=True):
        _assert_close(packed.metrics, train_trial(built, trial, spec, device=CPU).metrics)


@pytest.mark.parametrize("problem", ["cagrad_toy", "multimnist", "recsys"])
def test_every_builtin_trains_packed(problem: str, caplog: pytest.LogCaptureFixture) -> None:
    params = {"multimnist": {"n_train": 64, "n_test": 32}, "recsys": {"n_samples": 2000}}.get(problem, {})
    built = make_problem(problem, params)
    m = len(built.tasks)
    spec = _spec(problem, params).model_copy(
        update={"budget": _spec(problem, params).budget.model_copy(update={"epochs": 1, "steps_per_epoch": 2})}
    )
    trials = _trials([tuple([1.0 / m] * m), tuple([0.5] + [0.5 / (m - 1)] * (m - 1))])
    with caplog.at_level(logging.WARNING, logger="paretosweep.trial._packed"):
        outcomes = train_packed(built, trials, spec, device=CPU)
    assert "cannot be trained packed" not in caplog.text  # vectorised, not the fallback
    assert [o.status for o in outcomes] == ["completed", "completed"]
    assert all(o.epochs_done == 1 and o.metrics for o in outcomes)


class _Exploding:
    """Fonseca, but member losses blow up when the first weight is exactly 0.9 (a weight-dependent NaN)."""

    def __init__(self) -> None:
        self.inner = make_problem("fonseca", {})
        self.name = "exploding"
        self.tasks = self.inner.tasks

    def make_model(self, *, seed: int) -> torch.nn.Module:
        return self.inner.make_model(seed=seed)

    def train_batches(self, *, epoch: int, generator: torch.Generator) -> Any:
        return self.inner.train_batches(epoch=epoch, generator=generator)

    def task_losses(self, model: torch.nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        losses = self.inner.task_losses(model, batch, device)
        # a member whose x[0] lies above 0.5 explodes (the Pareto set has |x_i| <= 0.58; seeds below)
        return losses + torch.where(model.x[0] > 0.5, float("nan"), 0.0)

    def evaluate(self, model: torch.nn.Module, device: torch.device) -> dict[str, float]:
        return self.inner.evaluate(model, device)

    def shared_parameters(self, model: torch.nn.Module) -> Any:
        return self.inner.shared_parameters(model)


def test_diverged_member_is_masked_and_others_continue() -> None:
    built = _Exploding()
    spec = _spec("fonseca", {})
    seeds = {s: float(built.make_model(seed=s).x[0].detach()) for s in range(50)}
    bad = next(s for s, x in seeds.items() if x > 0.7)
    good = next(s for s, x in seeds.items() if -0.3 < x < 0.3)
    # different seeds in one pack: data order comes from the first seed (fonseca has no data)
    trials = [TrialConfig("good", "scalarization", (0.5, 0.5), good, 1e-2), TrialConfig("bad", "scalarization", (0.5, 0.5), bad, 1e-2)]
    good_out, bad_out = train_packed(built, trials, spec, device=CPU)  # type: ignore[arg-type]
    assert bad_out.status == "diverged" and "non-finite value at epoch 1, step 1" in (bad_out.error or "")
    assert bad_out.epochs_done == 0
    assert good_out.status == "completed" and good_out.epochs_done == 2
    _assert_close(good_out.metrics, train_trial(built, trials[0], spec, device=CPU).metrics)  # type: ignore[arg-type]


class _NotVectorisable(_Exploding):
    """task_losses calls ``.item()``, which vmap cannot batch."""

    def task_losses(self, model: torch.nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        losses = self.inner.task_losses(model, batch, device)
        if losses.sum().item() > 1e9:  # data-dependent Python control flow
            raise AssertionError("unreachable")
        return losses


def test_unvectorisable_problem_falls_back_with_a_message(caplog: pytest.LogCaptureFixture) -> None:
    built = _NotVectorisable()
    spec = _spec("fonseca", {})
    trials = _trials([(0.2, 0.8), (0.8, 0.2)])
    with caplog.at_level(logging.WARNING, logger="paretosweep.trial._packed"):
        outcomes = train_packed(built, trials, spec, device=CPU)  # type: ignore[arg-type]
    assert "cannot be trained packed" in caplog.text and "one by one" in caplog.text
    for trial, packed in zip(trials, outcomes, strict=True):
        assert packed.status == "completed"
        assert packed.metrics == train_trial(built, trial, spec, device=CPU).metrics  # type: ignore[arg-type]


def test_mixed_lrs_and_methods_keep_order() -> None:
    spec = _spec("fonseca", {})
    built = make_problem("fonseca", {})
    trials = [
        TrialConfig("a", "scalarization", (0.2, 0.8), 3, 1e-2),
        TrialConfig("m", "method", None, 3, 1e-2, "equal", {}),
        TrialConfig("b", "scalarization", (0.2, 0.8), 3, 5e-2),
    ]
    outcomes = train_packed(built, trials, spec, device=CPU)
    for trial, packed in zip(trials, outcomes, strict=True):
        _assert_close(packed.metrics, train_trial(built, trial, spec, device=CPU).metrics)


def test_make_packs_groups_by_seed_and_lr() -> None:
    trials = _trials([(0.1, 0.9)] * 5, seed=0) + _trials([(0.1, 0.9)] * 2, seed=1)
    trials.append(TrialConfig("m", "method", None, 0, 1e-2, "equal", {}))
    packs = make_packs(trials, 2)
    assert sorted(len(p) for p in packs) == [1, 1, 2, 2, 2]
    assert all(len({(t.seed, t.lr) for t in p}) == 1 for p in packs)
    assert sorted(t.trial_id for p in packs for t in p) == sorted(t.trial_id for t in trials)
    assert make_packs(trials, 1) == [[t] for t in trials]
    with pytest.raises(ValueError, match="pack_size"):
        make_packs(trials, 0)


def test_auto_pack_size() -> None:
    assert auto_pack_size(100) == 16
    assert auto_pack_size(5) == 5
    assert auto_pack_size(0) == 1
    assert auto_pack_size(100, "cuda") == 64
    # from the model's size: members x parameters <= 2^18 on CPU, 2^26 on a GPU, a power of 2, <= 64
    assert auto_pack_size(100, "cpu", n_params=3_235) == 64  # recsys
    assert auto_pack_size(100, "cpu", n_params=22_350) == 8  # multimnist
    assert auto_pack_size(100, "cpu", n_params=2**18 + 1) == 1
    assert auto_pack_size(100, "cuda", n_params=2**20) == 64
    assert auto_pack_size(100, "cuda", n_params=2**21) == 32
    assert auto_pack_size(3, "cpu", n_params=10) == 3


def test_resolve_pack_size_auto_counts_the_models_parameters() -> None:
    from paretosweep.config import parse_spec
    from paretosweep.sweep._packing_searcher import resolve_pack_size

    def spec(problem: str) -> object:
        return parse_spec({"problem": {"name": problem}, "budget": {"pack_size": "auto"}})

    assert resolve_pack_size(spec("recsys"), 100) == 64
    assert resolve_pack_size(spec("multimnist"), 100) == 8


def test_inherited_packed_hook_is_not_used_when_task_losses_is_overridden() -> None:
    """A subclass's own ``task_losses`` (squared losses) wins over the parent's ``packed_task_losses``."""
    from paretosweep.problems._recsys import RecSysFunnel

    params = {"n_samples": 2000}
    built = make_problem("recsys", params)

    class Squared(RecSysFunnel):
        def task_losses(self, model: torch.nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
            return super().task_losses(model, batch, device) ** 2

    squared = Squared.__new__(Squared)
    squared.__dict__.update(built.__dict__)
    spec = _spec("recsys", params)
    trials = _trials([(0.2, 0.3, 0.5), (0.6, 0.2, 0.2)])
    for trial, packed in zip(trials, train_packed(squared, trials, spec, device=CPU), strict=True):
        _assert_close(packed.metrics, train_trial(squared, trial, spec, device=CPU).metrics)
    assert train_packed(squared, trials[:1], spec, device=CPU)[0].metrics != train_packed(built, trials[:1], spec, device=CPU)[0].metrics
