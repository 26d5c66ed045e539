"""Optuna's multi-objective samplers (``sampler: {name: optuna_tpe | optuna_nsga2 | optuna_gp}``) as a Tune searcher.

Ray Tune's :class:`~ray.tune.search.optuna.OptunaSearch` does the sampling, over the ``m − 1``
uniforms ``u0 …`` of :mod:`paretosweep.sampling._optuna` (mapped to the simplex there), with
``metric`` = the objective columns and ``mode`` = their directions. This thin wrapper translates
both ways, because the trainable takes ``{"trial": TrialConfig.to_dict()}`` configs (ids from
:func:`paretosweep.planning.plan_trials`) and reports the objectives only inside its final row
(``paretosweep_row``): ``suggest`` maps Optuna's ``u`` to a trial config, ``on_trial_complete``
hands Optuna the row's objective values (a failed or diverged trial is told as failed).
One trial per Optuna suggestion: the sampler needs ``budget.seeds_per_weight: 1`` and one lr
(checked in planning). The Optuna sampler of each name (TPE, NSGA-II with population
``min(50, max(4, n_weights // 4))``, the GP sampler with its log-EHVI acquisition) is built by
:func:`paretosweep.sampling._optuna.make_optuna_sampler`, seeded with ``spec.seed``.
"""

from __future__ import annotations

import json
import math
import pickle
from typing import Any

from ray.tune.search import Searcher

from paretosweep.config import SweepSpec
from paretosweep.planning import Plan, TrialConfig, plan_trials
from paretosweep.sampling import param_names, unit_to_simplex
from paretosweep.sampling._optuna import make_optuna_sampler, nsga2_population
from paretosweep.sweep._trainable import ROW_KEY

__all__ = ["OptunaWeightSearcher", "nsga2_population", "optuna_search"]


class OptunaWeightSearcher(Searcher):
    """Runs ``OptunaSearch`` (TPE, NSGA-II or GP) over the simplex weights for ``budget.n_weights`` trials."""

    def __init__(self, spec: SweepSpec, objectives: list[tuple[str, str]], *, extra: list[dict[str, Any]] | None = None) -> None:
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        super().__init__()
        self._spec = spec
        self._m = len(objectives)
        self._columns = [c for c, _ in objectives]
        sampler = make_optuna_sampler(spec.sampler.name, seed=spec.seed, n_weights=spec.budget.n_weights, m=self._m)
        self.sampler = sampler
        space = {name: optuna.distributions.FloatDistribution(0.0, 1.0) for name in param_names(self._m)}
        self._inner = OptunaSearch(space=space, metric=self._columns, mode=[d for _, d in objectives], sampler=sampler)
        self._suggested = 0
        self._extra = list(extra or [])  # comparison-method trials: handed out first, not told to Optuna
        self._live: dict[str, dict[str, Any]] = {}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next weight vector Optuna asks for, as a trial config; FINISHED after the budget."""
        if self._extra:
            return {"trial": self._extra.pop(0)}
        if self._suggested >= self._spec.budget.n_weights:
            return Searcher.FINISHED
        params = self._inner.suggest(trial_id)
        if params is None or params == Searcher.FINISHED:
            return params
        weights = unit_to_simplex(params, self._m, floor=self._spec.sampler.floor)
        config = plan_trials(self._spec, weights[None, :], [])[0].to_dict()
        self._suggested += 1
        self._live[trial_id] = config
        return {"trial": config}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Tell Optuna the trial's objective values (or that it failed)."""
        if self._live.pop(trial_id, None) is None:
            return
        row = json.loads(result[ROW_KEY]) if result and not error and ROW_KEY in result else {}
        values = {c: row.get(c) for c in self._columns}
        ok = row.get("status") == "completed" and all(v is not None and math.isfinite(float(v)) for v in values.values())
        if ok:
            self._inner.on_trial_complete(trial_id, {c: float(v) for c, v in values.items()})
        else:
            self._inner.on_trial_complete(trial_id, None, error=True)


    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment state: the Optuna study included
        (``OptunaSearch`` pickles its own state the same way)."""
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self.__dict__, file)

    def restore(self, checkpoint_path: str) -> None:
        """Inverse of :meth:`save`."""
        with open(checkpoint_path, "rb") as file:
            self.__dict__.update(pickle.load(file))

def optuna_search(spec: SweepSpec, plan: Plan, todo: list[TrialConfig]) -> tuple[OptunaWeightSearcher, int]:
    """The searcher and Tune's ``num_samples`` for an Optuna sweep (method trials of ``todo`` run too).

    A resumed Optuna sweep starts a fresh study: trials already stored stay, new ones are asked.
    """
    extra = [t.to_dict() for t in todo if t.kind == "method"]
    searcher = OptunaWeightSearcher(spec, [(o.column, o.direction) for o in plan.objectives], extra=extra)
    return searcher, spec.budget.n_weights + len(extra)
