"""one trial -> the trial panel: weights (or a method's effective weights), metrics, params, curves."""

from __future__ import annotations

import pytest

from paretosweep.dashboard._trial import trial_info
from tests.unit.dashboard._frames import FRONTIER_IDS, TASKS, trials


def test_trial_info_has_weights_metrics_params_and_history() -> None:
    info = trial_info(trials(), "t2", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=["a_loss", "b_acc"])
    assert info.weights == (("a", 0.5), ("b", 0.5))
    assert info.weights_label == "weights"
    assert dict(info.metrics) == {"a_loss": 0.2, "b_acc": 0.7}
    assert dict(info.params)["lr"] == "0.01" and dict(info.params)["device"] == "cpu"
    assert info.on_frontier and info.name == "linear"
    assert info.epochs == (1, 2)
    assert dict(info.history) == {"a_loss": (0.5, 0.2), "b_acc": (0.3, 0.7)}


def test_trial_info_of_a_method_and_of_a_failed_trial() -> None:
    method = trial_info(trials(), "m1", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=["a_loss"])
    assert method.name == "pcgrad" and method.weights_label == "effective weights (mean)"
    assert dict(method.params)["hparams.alpha"] == "1.5"
    failed = trial_info(trials(), "f1", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=["a_loss"])
    assert failed.error == "boom" and not failed.on_frontier and failed.history == ()
    with pytest.raises(KeyError, match="No trial `nope`"):
        trial_info(trials(), "nope", frontier_ids=FRONTIER_IDS, tasks=TASKS, metric_columns=[])
