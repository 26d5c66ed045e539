"""The spec's run options: checkpoint retention, tracking callbacks, the early-stopping scheduler
and the warm start (their checks against the budget are in :class:`paretosweep.config.SweepSpec`)."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FrozenSpec(BaseModel):
    """A part of the spec: unknown keys refused, immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckpointsSpec(FrozenSpec):
    """``checkpoints``: which trials keep their model checkpoint when the sweep ends.

    ``frontier`` (default): the trials on the frontier (every seed of a frontier configuration);
    ``all``: every trial; ``none``: none (checkpoints are still written while trials run, for retries).
    """

    keep: Literal["frontier", "all", "none"] = "frontier"


class WarmStartSpec(FrozenSpec):
    """``warm_start``: where a trial's training starts from.

    ``{from: shared, epochs: E}``: one model is trained for ``E`` epochs at equal weights (the
    spec's scalarizer at ``w = 1/m``) before the trials; every trial then continues from its
    checkpoint (``ctx.checkpoint``, as a resumed trial) for the remaining ``budget.epochs - E``
    epochs. The shared training is counted once (``warm_start/info.json`` in the run directory).

    ``{from: nearest, epochs: E}`` (with ``sampler: adaptive``): a weight vector the sampler
    proposes from results starts from the checkpoint of the completed trial nearest to it in
    weight space (L1 distance on the simplex) and trains ``E`` epochs; the initial design, and
    any trial with no completed neighbour yet, trains from scratch for ``budget.epochs`` (see
    ``paretosweep.sweep._warm_start``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)
    from_: Literal["shared", "nearest"] = Field("shared", alias="from")
    epochs: int = Field(..., ge=1)


class CallbackSpec(FrozenSpec):
    """``callbacks[i]``: a Ray Tune logger callback by name, with its options (see paretosweep.sweep._callbacks)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: Literal["mlflow", "tensorboard", "wandb"]

    @property
    def options(self) -> dict[str, Any]:
        """The callback's options (every key but ``name``)."""
        return dict(self.model_extra or {})


#: Every ``scheduler.name`` (``paretosweep.sweep._pareto_asha`` implements each).
SCHEDULERS = ("pareto_asha",)


class SchedulerSpec(FrozenSpec):
    """``scheduler``: stop trials early by multi-objective asynchronous successive halving.

    ``pareto_asha``: rungs at ``grace_epochs · reduction_factor^k`` epochs below ``budget.epochs``;
    a scalarization trial reaching a rung goes on if it is in the top ``1 / reduction_factor`` of
    the trials seen there, by non-dominated sorting on the objectives, else it stops with status
    ``stopped`` (see ``paretosweep.sweep._pareto_asha``). Each ``ctx.report`` counts as one epoch.
    """

    name: str
    grace_epochs: int = Field(1, ge=1)
    reduction_factor: float = 3.0

    @field_validator("name")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        if value not in SCHEDULERS:
            close = difflib.get_close_matches(value, SCHEDULERS, n=1, cutoff=0.5)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise ValueError(f"unknown scheduler `{value}`.{hint} Known: {', '.join(SCHEDULERS)} (multi-objective ASHA)")
        return value

    @field_validator("reduction_factor")
    @classmethod
    def _halving(cls, value: float) -> float:
        if not value > 1:
            raise ValueError(
                "`scheduler.reduction_factor` (eta) should be > 1: each rung keeps the top 1/eta of its trials; "
                "3 is the usual value, 2 keeps half"
            )
        return value
