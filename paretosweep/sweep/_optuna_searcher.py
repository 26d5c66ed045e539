"""Optuna's multi-objective samplers (``sampler: {name: optuna_tpe | optuna_nsga2 | optuna_gp}``) as a Tune searcher.

:class:`~paretosweep.sampling.OptunaSampler` asks Optuna for weight vectors (Optuna's own
ask/tell); this searcher turns each into a trial config (``{"trial": TrialConfig.to_dict()}``,
ids from :func:`paretosweep.planning.plan_trials`) and tells the sampler the objective values
of the trial's final row (``paretosweep_row``), or that it failed. One trial per weight vector:
the sampler needs ``budget.seeds_per_weight: 1`` and one lr (checked in planning).

The study lives in the run directory as an Optuna journal (``optuna.journal``; ``optuna-dashboard
runs/<name>/optuna.journal`` opens it), so ``--resume`` continues it (see ``OptunaSampler``);
without a journal (a remote run directory) a resumed study is warm-started from ``trials.parquet``.
The searcher pickles without any Optuna object, so Tune can checkpoint it with every Optuna.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from typing import Any

from ray.tune.search import Searcher

from paretosweep.config import SweepSpec
from paretosweep.planning import Plan, TrialConfig, plan_trials
from paretosweep.sampling._optuna import STUDY_FILE, OptunaSampler, StoredResult
from paretosweep.sweep._trainable import ROW_KEY

__all__ = ["STUDY_FILE", "OptunaWeightSearcher", "optuna_search"]


def journal_path(study_dir: str | None) -> str | None:
    """``study_dir/optuna.journal`` for a local run directory; None (an in-memory study) otherwise."""
    if study_dir is None or "://" in study_dir:
        return None
    return os.path.join(os.path.abspath(study_dir), STUDY_FILE)


class OptunaWeightSearcher(Searcher):
    """Hands out the Optuna sampler's weight vectors as trial configs for ``budget.n_weights`` trials."""

    def __init__(
        self,
        spec: SweepSpec,
        objectives: list[tuple[str, str]],
        *,
        extra: list[dict[str, Any]] | None = None,
        stored: list[dict[str, Any]] | None = None,
        study_dir: str | None = None,
    ) -> None:
        """Args:
            spec: the sweep spec (an Optuna ``sampler.name``).
            objectives: ``(column, direction)`` per task, in task order.
            extra: configs handed out first and not told to Optuna (comparison-method trials).
            stored: the scalarization rows a resumed run already holds (count against the budget).
            study_dir: where the study's journal lives (the run directory); ``None`` or a remote URI keeps it in memory.
        """
        super().__init__()
        self._spec = spec
        self._columns = [c for c, _ in objectives]
        self.sampler = OptunaSampler(
            spec.sampler.name,
            m=len(objectives),
            n_weights=spec.budget.n_weights,
            floor=spec.sampler.floor,
            seed=spec.seed,
            directions=[d for _, d in objectives],
            study_name=spec.name,
            journal=journal_path(study_dir),
            stored=[StoredResult(tuple(row["weights"]), self._values(row)) for row in stored or []],
        )
        self._extra = list(extra or [])  # comparison-method trials: handed out first, not told to Optuna
        self._live: dict[str, dict[str, Any]] = {}

    def _values(self, row: dict[str, Any]) -> tuple[float, ...] | None:
        """The row's objective values, or None unless it completed with finite values (told as failed)."""
        values = [row.get(c) for c in self._columns]
        if row.get("status") != "completed" or any(v is None or not math.isfinite(float(v)) for v in values):
            return None
        return tuple(float(v) for v in values)  # type: ignore[arg-type]

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next weight vector Optuna asks for, as a trial config; FINISHED after the budget."""
        if self._extra:
            return {"trial": self._extra.pop(0)}
        weights = self.sampler.ask(1)
        if weights.shape[0] == 0:
            return Searcher.FINISHED
        config = plan_trials(self._spec, weights, [])[0].to_dict()
        self._live[trial_id] = config
        return {"trial": config}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Tell Optuna the trial's objective values (or that it failed)."""
        config = self._live.pop(trial_id, None)
        if config is None:
            return
        row = json.loads(result[ROW_KEY]) if result and not error and ROW_KEY in result else {}
        self.sampler.tell(config["weights"], self._values(row))

    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment state (no Optuna object is pickled)."""
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self.__dict__, file)

    def restore(self, checkpoint_path: str) -> None:
        """Inverse of :meth:`save`: the study is reopened from its journal (or its copied trials)."""
        with open(checkpoint_path, "rb") as file:
            self.__dict__.update(pickle.load(file))


def optuna_search(
    spec: SweepSpec, plan: Plan, todo: list[TrialConfig], stored: Any = None, *, study_dir: str | None = None
) -> tuple[OptunaWeightSearcher, int]:
    """The searcher and Tune's ``num_samples`` for an Optuna sweep (method trials of ``todo`` run too).

    ``stored`` is a resumed run's trials table (a DataFrame, or None): its scalarization rows count
    against ``budget.n_weights`` and warm-start a study that has no journal. ``study_dir`` holds
    the study's journal (the run directory; None keeps the study in memory).
    """
    extra = [t.to_dict() for t in todo if t.kind == "method"]
    rows = [] if stored is None or not len(stored) else stored[stored["kind"] == "scalarization"].to_dict("records")
    searcher = OptunaWeightSearcher(
        spec, [(o.column, o.direction) for o in plan.objectives], extra=extra, stored=rows, study_dir=study_dir
    )
    return searcher, max(0, spec.budget.n_weights - len(rows)) + len(extra)
