"""One Ray Tune searcher for every sampler: weight vectors in, trial configs out, results back.

:class:`SamplerSearcher` asks a :class:`~paretosweep.sampling.Sampler` for one weight vector at
a time and hands out its trials (``budget.seeds_per_weight`` seeds × ``budget.lr``, ids from
:func:`paretosweep.planning.plan_trials`), one per ``suggest``, as ``{"trial": config}``. A
weight vector asked again is a re-test: one trial per learning rate on the next new seed
(``spec.seed + seeds_per_weight + r - 1`` for its r-th re-test). Once every trial of a weight
vector has finished, the sampler is told their objective values (minimisation form; NaN for a
trial that failed, diverged or was lost). A trial the scheduler stopped is told its values at the
epoch it stopped, flagged with ``tell(..., stopped=[...])`` (passed only when a row is stopped).
Comparison-method trials are handed out first and told nothing.

A resumed run's stored trials are not run again: a weight vector whose trials are all stored is
told their stored results at once, and the sampler goes on from there. ``suggest`` returns None
while the sampler waits on results and ``FINISHED`` when it is done. Packs are the job of a
wrapper (:class:`~paretosweep.sweep._packing_searcher.PackingSearcher`).

With ``warm_epochs`` (``warm_start: {from: nearest, epochs: E}``) the searcher keeps every
completed scalarization trial's last checkpoint (Tune's ``checkpoint_dir_name`` of its reports,
under ``checkpoint_root/<trial_id>/``; a resumed run's stored ``checkpoint`` column) and hands a
trial of a weight vector the sampler proposed from results (not in its ``planned`` initial design,
not a re-test) as ``{"trial": config, "warm": {"trial_id", "location", "distance"}}``: its nearest
completed neighbour (see :mod:`paretosweep.sweep._warm_start`), chosen when Tune asks for it.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from paretosweep.planning import TrialConfig
from paretosweep.results import CHECKPOINT_FILE
from paretosweep.sampling import Sampler, weight_key
from paretosweep.sweep._trainable import ROW_KEY, stopped_row
from paretosweep.sweep._warm_start import Neighbour, exists, nearest_neighbours

#: ``trials_for(weights, repeat)``: the trials of a weight vector asked for the ``repeat``-th time (0 first).
TrialsFor = Callable[[np.ndarray, int], Sequence[TrialConfig]]


def minimised_values(row: Mapping[str, Any] | None, objectives: Sequence[tuple[str, str]]) -> list[float]:
    """A row's objective values in minimisation form; NaN unless the trial completed or was stopped by the scheduler."""
    if row is None or row.get("status") not in ("completed", "stopped"):
        return [math.nan] * len(objectives)
    out = []
    for column, direction in objectives:
        value = row.get(column)
        value = math.nan if value is None else float(value)
        out.append(-value if direction == "max" else value)
    return out


@dataclass
class _Asked:
    """A weight vector handed to Tune as trials, and the results of those that finished."""

    weights: np.ndarray
    waiting: set[str]
    values: dict[str, list[float]] = field(default_factory=dict)
    stopped: dict[str, bool] = field(default_factory=dict)


class SamplerSearcher(Searcher):
    """Adapts a sampler to Tune (see the module docstring).

    Args:
        sampler: where the weight vectors come from.
        trials_for: the trials of a weight vector (see :data:`TrialsFor`).
        objectives: ``(column, direction)`` per task, in task order.
        first: trials handed out before any weight vector (comparison methods), told to no one.
        stored: rows of a resumed run by trial id: not run again, told from the store.
        warm_epochs: ``warm_start: {from: nearest}``'s epochs (None: no nearest warm start).
        checkpoint_root: where Tune keeps this run's trial directories (``<storage>/_tune/<experiment>``).
        run_dir: the run directory (the stored rows' ``checkpoint`` is relative to it).
    """

    def __init__(
        self,
        sampler: Sampler,
        trials_for: TrialsFor,
        objectives: Sequence[tuple[str, str]],
        *,
        first: Sequence[TrialConfig] = (),
        stored: Mapping[str, Mapping[str, Any]] | None = None,
        warm_epochs: int | None = None,
        checkpoint_root: str | None = None,
        run_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.sampler = sampler
        self._trials_for = trials_for
        self._objectives = list(objectives)
        self._stored = dict(stored or {})
        self._queue: list[dict[str, Any]] = [t.to_dict() for t in first if t.trial_id not in self._stored]
        self._asked: dict[int, _Asked] = {}  # by ask number
        self._group_of: dict[str, int] = {}  # trial id -> ask number
        self._repeats: dict[tuple[float, ...], int] = {}
        self._live: dict[str, dict[str, Any]] = {}  # Tune trial id -> config
        self._warm_epochs, self._checkpoint_root = warm_epochs, checkpoint_root
        self._initial = {weight_key(w) for w in sampler.planned} if warm_epochs is not None else set()
        self._may_warm: set[str] = set()  # trial ids of first asks of proposed (not initial) weight vectors
        self._checkpoint_dir: dict[str, str] = {}  # Tune trial id -> its newest checkpoint_dir_name
        self._neighbours: list[Neighbour] = []
        if warm_epochs is not None and run_dir is not None:
            self._neighbours = [n for row in self._stored.values() if (n := _stored_neighbour(row, run_dir)) is not None]

    @property
    def asked(self) -> int:
        """Weight vectors asked from the sampler so far (re-tests included)."""
        return len(self._asked)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next trial config; None while the sampler waits on results; ``FINISHED`` at the end."""
        while not self._queue:
            if self.sampler.finished:
                return Searcher.FINISHED  # type: ignore[return-value]  # Ray's annotation omits its own sentinel
            weights = self.sampler.ask(1)
            if weights is None:
                return None
            if weights.shape[0] == 0:
                return Searcher.FINISHED  # type: ignore[return-value]  # Ray's annotation omits its own sentinel
            for w in weights:
                self._hand_out(w)
        config = self._queue.pop(0)
        self._live[trial_id] = config
        warm = self._warm_from(config) if config["trial_id"] in self._may_warm else None
        return {"trial": config} if warm is None else {"trial": config, "warm": warm}

    def _warm_from(self, config: Mapping[str, Any]) -> dict[str, Any] | None:
        """The nearest completed neighbour whose checkpoint is there, as ``config["warm"]``; None: none yet."""
        for neighbour, distance in nearest_neighbours(config["weights"], config["seed"], config["lr"], self._neighbours):
            if exists(neighbour.location):
                return {"trial_id": neighbour.trial_id, "location": neighbour.location, "distance": distance}
        return None

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Keep the newest checkpoint a trial reported (where a nearest warm start may start)."""
        name = result.get("checkpoint_dir_name") if self._warm_epochs is not None else None
        if name:
            self._checkpoint_dir[trial_id] = str(name)

    def _hand_out(self, weights: np.ndarray) -> None:
        """Queue the trials of one asked weight vector (stored ones are told, not queued)."""
        key = weight_key(weights)
        repeat = self._repeats.get(key, 0)
        self._repeats[key] = repeat + 1
        number = len(self._asked)
        trials = list(self._trials_for(weights, repeat))
        asked = _Asked(np.asarray(weights, dtype=np.float64), {t.trial_id for t in trials})
        self._asked[number] = asked
        for trial in trials:
            self._group_of[trial.trial_id] = number
            if self._warm_epochs is not None and repeat == 0 and key not in self._initial:
                self._may_warm.add(trial.trial_id)
            if trial.trial_id in self._stored:
                self._finish(trial.trial_id, self._stored[trial.trial_id])
            else:
                self._queue.append(trial.to_dict())

    def _finish(self, trial_id: str, row: Mapping[str, Any] | None) -> None:
        """Record one trial's result; tell the sampler once its weight vector's trials are all done."""
        number = self._group_of.get(trial_id)
        if number is None:
            return
        asked = self._asked[number]
        if trial_id not in asked.waiting:
            return
        asked.waiting.discard(trial_id)
        asked.values[trial_id] = minimised_values(row, self._objectives)
        asked.stopped[trial_id] = row is not None and row.get("status") == "stopped"
        if not asked.waiting:
            values = np.asarray(list(asked.values.values()), dtype=np.float64)
            stopped = np.asarray([asked.stopped[t] for t in asked.values], dtype=bool)
            if stopped.any():
                self.sampler.tell(asked.weights, values, stopped=stopped)
            else:
                self.sampler.tell(asked.weights, values)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Tell the trial's row (a lost trial counts as failed) to its weight vector's group."""
        config = self._live.pop(trial_id, None)
        if config is None:
            return
        row = None
        if result is not None and not error:
            row = json.loads(result[ROW_KEY]) if ROW_KEY in result else stopped_row(result)
        folder = self._checkpoint_dir.pop(trial_id, None)
        if folder and self._checkpoint_root and row is not None and row.get("status") == "completed" and config.get("weights"):
            location = f"{self._checkpoint_root.rstrip('/')}/{config['trial_id']}/{folder}/{CHECKPOINT_FILE}"
            self._neighbours.append(Neighbour(config["trial_id"], tuple(config["weights"]), config["seed"], config["lr"], location))
        self._finish(config["trial_id"], row)

    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment state (the sampler pickles itself)."""
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self.__dict__, file)

    def restore(self, checkpoint_path: str) -> None:
        """Inverse of :meth:`save`."""
        with open(checkpoint_path, "rb") as file:
            self.__dict__.update(pickle.load(file))


def _stored_neighbour(row: Mapping[str, Any], run_dir: str) -> Neighbour | None:
    """A resumed run's completed scalarization trial with a kept checkpoint, as a warm-start neighbour."""
    folder, weights = row.get("checkpoint"), row.get("weights")
    if row.get("status") != "completed" or row.get("kind") != "scalarization" or not isinstance(folder, str) or weights is None:
        return None
    location = f"{run_dir.rstrip('/')}/{folder}/{CHECKPOINT_FILE}"
    return Neighbour(str(row["trial_id"]), tuple(float(x) for x in weights), int(row["seed"]), float(row["lr"]), location)


@dataclass(frozen=True)
class WeightTrials:
    """The trials of one weight vector under a spec (a picklable :data:`TrialsFor`).

    The first ask: ``budget.seeds_per_weight`` seeds from ``spec.seed`` × every ``budget.lr``;
    the r-th re-test: one trial per lr on seed ``spec.seed + seeds_per_weight + r - 1``.
    """

    spec: Any  # SweepSpec

    def __call__(self, weights: np.ndarray, repeat: int) -> Sequence[TrialConfig]:
        from paretosweep.planning import plan_trials

        row = np.asarray(weights, dtype=np.float64)[None, :]
        if repeat == 0:
            return plan_trials(self.spec, row, [])
        seed = self.spec.seed + self.spec.budget.seeds_per_weight + repeat - 1
        return plan_trials(self.spec, row, [], seeds=[seed])
