"""The effective weights a scalarization trial records: what each step applied, against the formula.

On the two-quadratics problem (L_a = (x-1)^2, L_b = (x+1)^2, lower bounds 0) the losses seen at
every step are captured; the recorded ``effective_weights_mean`` must equal the mean over those
steps of the normalised c = ds/dL (paretosweep.scalarizers): for Tchebycheff the one-hot of the
active term, for smooth Tchebycheff w * softmax(w (L - z) / mu), normalised.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from paretosweep.config import SweepSpec
from paretosweep.planning import TrialConfig
from paretosweep.problems import make_problem
from paretosweep.trial import train_packed, train_trial

CPU = torch.device("cpu")
W = (0.3, 0.7)


def _run(scalarizer: dict[str, Any]) -> tuple[list[torch.Tensor], Any]:
    problem = make_problem("tests.problems_for_tests:make_quadratic", {"steps_per_epoch": 6})
    seen: list[torch.Tensor] = []
    task_losses = problem.task_losses

    def recording(model: torch.nn.Module, batch: None, device: torch.device) -> torch.Tensor:
        losses = task_losses(model, batch, device)
        seen.append(losses.detach().clone())
        return losses

    problem.task_losses = recording  # type: ignore[method-assign]
    spec = SweepSpec.model_validate({"problem": {"name": "fonseca"}, "scalarizer": scalarizer, "budget": {"epochs": 2, "optimizer": "sgd"}})
    outcome = train_trial(problem, TrialConfig("s-0", "scalarization", W, 0, 0.2), spec, device=CPU)
    assert outcome.status == "completed" and len(seen) == 12
    return seen, outcome


def test_tchebycheff_records_the_share_of_steps_each_task_was_the_active_maximum() -> None:
    seen, outcome = _run({"name": "tchebycheff"})
    w = torch.tensor(W)
    active = [int(torch.argmax(w * losses)) for losses in seen]  # z = the lower bounds, 0
    share = [active.count(i) / len(active) for i in range(2)]
    assert 0 < share[0] < 1, "the active term never switched: the test would not tell a share from a one-hot"
    assert outcome.effective_weights_mean == pytest.approx(share, abs=1e-6)
    assert outcome.effective_weights_final == [float(i == active[-1]) for i in range(2)]


def test_smooth_tchebycheff_records_the_mean_softmax_weights() -> None:
    mu = 0.1
    seen, outcome = _run({"name": "smooth_tchebycheff", "mu": mu})
    w = torch.tensor(W)
    per_step = [w * torch.softmax(w * losses / mu, dim=0) for losses in seen]
    per_step = [c / c.sum() for c in per_step]
    assert outcome.effective_weights_mean == pytest.approx(torch.stack(per_step).mean(dim=0).tolist(), abs=1e-6)
    assert outcome.effective_weights_final == pytest.approx(per_step[-1].tolist(), abs=1e-6)
    assert outcome.effective_weights_mean != pytest.approx(list(W), abs=1e-3)  # not the nominal weights


def test_linear_records_the_nominal_weights() -> None:
    _, outcome = _run({"name": "linear"})
    assert outcome.effective_weights_mean == pytest.approx(list(W)) and outcome.effective_weights_final == pytest.approx(list(W))


@pytest.mark.parametrize("name", ["tchebycheff", "smooth_tchebycheff"])
def test_packed_members_record_the_same_effective_weights_as_alone(name: str) -> None:
    problem = make_problem("fonseca", {"n_dim": 3})
    spec = SweepSpec.model_validate(
        {"problem": {"name": "fonseca"}, "scalarizer": {"name": name}, "budget": {"epochs": 2, "steps_per_epoch": 8}}
    )
    trials = [TrialConfig(f"s-{i}", "scalarization", w, 3, 1e-2) for i, w in enumerate([(0.2, 0.8), (0.5, 0.5), (0.9, 0.1)])]
    for trial, packed in zip(trials, train_packed(problem, trials, spec, device=CPU), strict=True):
        alone = train_trial(problem, trial, spec, device=CPU)
        assert packed.effective_weights_mean == pytest.approx(alone.effective_weights_mean, abs=1e-6)
        assert packed.effective_weights_final == pytest.approx(alone.effective_weights_final, abs=1e-6)
        assert packed.effective_weights_mean != pytest.approx(list(trial.weights or ()), abs=1e-3)
