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

The study lives in the run directory as an Optuna journal (``optuna.journal``, Optuna's
``JournalStorage`` with a file backend; ``optuna-dashboard runs/<name>/optuna.journal`` opens
it), so ``--resume`` continues it: the samplers see every earlier trial (NSGA-II its
generations too), trials left running by an interrupted sweep are marked failed, only the
budget not yet stored is asked for, and the sampler is re-seeded from ``(spec.seed, trials
stored)`` so it does not replay the first run's random start-up points. Without a journal (a
remote run directory, or a run directory that lost it) the resumed study is warm-started from
``trials.parquet`` instead: each stored weight vector mapped back to Optuna's parameters
(:func:`~paretosweep.sampling.simplex_to_unit`) with its objective values.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
from ray.tune.search import Searcher

from paretosweep.config import SweepSpec
from paretosweep.planning import Plan, TrialConfig, plan_trials
from paretosweep.sampling import param_names, simplex_to_unit, unit_to_simplex
from paretosweep.sampling._optuna import make_optuna_sampler, nsga2_population
from paretosweep.sweep._trainable import ROW_KEY

if TYPE_CHECKING:
    import optuna

__all__ = ["STUDY_FILE", "OptunaWeightSearcher", "nsga2_population", "optuna_search"]

#: The Optuna study's journal in a (local) run directory.
STUDY_FILE = "optuna.journal"


def study_storage(study_dir: str | None) -> optuna.storages.BaseStorage | None:
    """The journal storage of ``study_dir/optuna.journal``; ``None`` (Optuna's in-memory storage) without a local directory."""
    if study_dir is None or "://" in study_dir:
        return None
    import optuna

    os.makedirs(study_dir, exist_ok=True)
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(os.path.join(study_dir, STUDY_FILE)))


def resumed_seed(seed: int, n_stored: int) -> int:
    """The sampler seed of a sweep resumed with ``n_stored`` trials: ``seed`` itself for a fresh sweep."""
    return seed if n_stored == 0 else int(np.random.SeedSequence([seed, n_stored]).generate_state(1)[0])


class OptunaWeightSearcher(Searcher):
    """Runs ``OptunaSearch`` (TPE, NSGA-II or GP) over the simplex weights for ``budget.n_weights`` trials."""

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
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        super().__init__()
        self._spec = spec
        self._m = len(objectives)
        self._columns = [c for c, _ in objectives]
        stored = list(stored or [])
        seed = resumed_seed(spec.seed, len(stored))
        sampler = make_optuna_sampler(spec.sampler.name, seed=seed, n_weights=spec.budget.n_weights, m=self._m)
        self.sampler = sampler
        space = {name: optuna.distributions.FloatDistribution(0.0, 1.0) for name in param_names(self._m)}
        self._inner = OptunaSearch(
            space=space, metric=self._columns, mode=[d for _, d in objectives], sampler=sampler,
            study_name=spec.name, storage=study_storage(study_dir),
        )
        self._suggested = len(stored)
        self._extra = list(extra or [])  # comparison-method trials: handed out first, not told to Optuna
        self._live: dict[str, dict[str, Any]] = {}
        self._reconcile(stored, space)

    def _values(self, row: dict[str, Any]) -> list[float] | None:
        """The row's objective values, or None unless it completed with finite values (told as failed)."""
        values = [row.get(c) for c in self._columns]
        if row.get("status") != "completed" or any(v is None or not math.isfinite(float(v)) for v in values):
            return None
        return [float(v) for v in values]

    def _reconcile(self, stored: list[dict[str, Any]], space: dict[str, Any]) -> None:
        """Bring a resumed study in line with the run: fail its orphaned running trials; warm-start it if it is empty."""
        import optuna

        study = self._inner._ot_study
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        if study.get_trials(deepcopy=False) or not stored:
            return
        floor = self._spec.sampler.floor
        for row in stored:
            values = self._values(row)
            study.add_trial(optuna.trial.create_trial(
                state=optuna.trial.TrialState.COMPLETE if values is not None else optuna.trial.TrialState.FAIL,
                values=values, params=simplex_to_unit(row["weights"], floor=floor), distributions=space,
            ))

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
        values = self._values(row)
        if values is not None:
            self._inner.on_trial_complete(trial_id, dict(zip(self._columns, values, strict=True)))
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
