"""A Ray Tune searcher that runs :class:`paretosweep.sampling.AdaptiveSampler` (``sampler: adaptive``).

Rounds are synchronous: the initial design (every weight × seed × lr) is handed out first; the
next round is asked from the sampler only when every trial of the current one has completed, so
``suggest`` returns ``None`` (Tune asks again later) while the next weights depend on running
trials, and ``Searcher.FINISHED`` once the budget is used or the frontier has converged. Config
dicts have :class:`~paretosweep.sweep._searcher.PlannedSearcher`'s shape, ``{"trial":
TrialConfig.to_dict()}``, with ids from :func:`paretosweep.planning.plan_trials`, so a resumed
sweep recognises trials it already stored (they are told to the sampler, not re-run).

Every trial's result is told to the sampler, which uses the mean over a weight vector's seeds.
A re-test (``sampler.retests``) is one more trial per learning rate of a weight vector, on seed
``spec.seed + budget.seeds_per_weight + r − 1`` for its r-th re-test, so its id (a content hash
including the seed) differs from every earlier trial of that weight vector.
"""

from __future__ import annotations

import json
import math
import pickle
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from paretosweep.config import SweepSpec
from paretosweep.planning import Plan, TrialConfig, plan_trials
from paretosweep.sampling import AdaptiveSampler, parse_focus
from paretosweep.sweep._trainable import ROW_KEY


def _min_values(row: dict[str, Any], objectives: list[tuple[str, str]]) -> list[float]:
    """The row's objective values in minimisation form; NaN unless the trial completed."""
    if row.get("status") != "completed":
        return [math.nan] * len(objectives)
    out = []
    for col, direction in objectives:
        value = row.get(col)
        value = math.nan if value is None else float(value)
        out.append(-value if direction == "max" else value)
    return out


class AdaptiveSearcher(Searcher):
    """Hands out the adaptive sampler's rounds as trial configs and feeds it the results.

    Args:
        spec: the sweep spec (``sampler.name == "adaptive"``).
        objectives: ``(column, direction)`` per task, in task order.
        extra: configs handed out first and not told to the sampler (comparison-method trials).
        done: stored results by trial id (``{trial_id: row}``) of a resumed run: not run again.
    """

    def __init__(
        self,
        spec: SweepSpec,
        objectives: list[tuple[str, str]],
        *,
        extra: list[dict[str, Any]] | None = None,
        done: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        s = spec.sampler
        self._spec = spec
        self._objectives = list(objectives)
        self._done = dict(done or {})
        self.sampler = AdaptiveSampler(
            m=len(objectives),
            scalarizer=spec.scalarizer.name,
            n_weights=spec.budget.n_weights,
            n_initial=s.n_initial,
            tolerance=s.tolerance,
            batch=s.batch,
            floor=s.floor,
            seed=spec.seed,
            focus=parse_focus(s.focus, self._objectives),
            focus_share=s.refine.focus,
            knee_share=s.refine.knee,
            crowded_share=s.refine.crowded,
            retests=s.retests,
            retest_margin=s.retest_margin,
        )
        self._extra = list(extra or [])
        self._queue: list[dict[str, Any]] = []
        self._live: dict[str, dict[str, Any]] = {}

    def _tell(self, config: dict[str, Any], row: dict[str, Any] | None) -> None:
        values = _min_values(row or {}, self._objectives)
        self.sampler.tell(config["weights"], values)

    def _next_round(self) -> bool:
        """Fill the queue from the sampler; False when it is finished."""
        while not self._queue:
            weights = self.sampler.ask()
            if weights.shape[0] == 0:
                return False
            retest = self.sampler.last_retest
            first_retest_seed = self._spec.seed + self._spec.budget.seeds_per_weight - 1
            trials = list(plan_trials(self._spec, weights[retest == 0], []))
            for w, r in zip(weights[retest > 0], retest[retest > 0], strict=True):
                trials += plan_trials(self._spec, w[None, :], [], seeds=[first_retest_seed + int(r)])
            for trial in trials:
                config = trial.to_dict()
                if trial.trial_id in self._done:  # resumed: stored already, told instead of run
                    self._tell(config, self._done[trial.trial_id])
                else:
                    self._queue.append(config)
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next config; ``None`` while the next round waits on running trials; ``FINISHED`` at the end."""
        if self._extra:
            config = self._extra.pop(0)
            self._live[trial_id] = config
            return {"trial": config}
        if not self._queue:
            if any(c["kind"] == "scalarization" for c in self._live.values()):
                return None
            if not self._next_round():
                return Searcher.FINISHED
        config = self._queue.pop(0)
        self._live[trial_id] = config
        return {"trial": config}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Tell the sampler the trial's objective values (NaN for a failed or lost trial)."""
        config = self._live.pop(trial_id, None)
        if config is None or config["kind"] != "scalarization":
            return
        row = None
        if result is not None and not error and ROW_KEY in result:
            row = json.loads(result[ROW_KEY])
            if isinstance(row, list):  # a packed trial's rows (issue 7): ours is the one with its id
                row = next((r for r in row if r.get("trial_id") == config["trial_id"]), None)
        self._tell(config, row)

    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment state."""
        with open(checkpoint_path, "wb") as file:
            pickle.dump({k: v for k, v in self.__dict__.items() if k.startswith("_") or k == "sampler"}, file)

    def restore(self, checkpoint_path: str) -> None:
        """Inverse of :meth:`save`."""
        with open(checkpoint_path, "rb") as file:
            self.__dict__.update(pickle.load(file))


def adaptive_search(spec: SweepSpec, plan: Plan, todo: list[TrialConfig], stored: Any) -> tuple[AdaptiveSearcher, int]:
    """The searcher and Tune's ``num_samples`` cap for an adaptive sweep.

    ``stored`` is the run's trials table (a DataFrame, possibly empty): its rows are not re-run.
    """
    objectives = [(o.column, o.direction) for o in plan.objectives]
    done: dict[str, dict[str, Any]] = {}
    if stored is not None and len(stored):
        for row in stored.to_dict("records"):
            done[row["trial_id"]] = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
    extra = [t.to_dict() for t in todo if t.kind == "method"]
    per_weight = spec.budget.seeds_per_weight * len(spec.budget.lr)
    searcher = AdaptiveSearcher(spec, objectives, extra=extra, done=done)
    return searcher, spec.budget.n_weights * per_weight + spec.sampler.retests * len(spec.budget.lr) + len(extra)
