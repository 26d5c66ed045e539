"""``pareto_asha``: multi-objective asynchronous successive halving, as a Ray Tune ``TrialScheduler``.

Rungs sit at ``r_k = ceil(grace · η^k)`` epochs, every one below the budget's ``epochs`` (the
last epoch is no rung: a trial that passes every rung trains to the end). When a trial reports
epoch ``r_k`` (``ctx.report`` counts epochs: the ``epoch`` key of its result), its objective
values join the rung's record and the trial

* continues when the rung has recorded fewer than ``η`` trials, itself included: the rung is
  asynchronous, as in ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning",
  MLSys 2020), so an early trial is never held back for ones that have not arrived;
* else continues if at most ``⌊n/η⌋ − 1`` of the rung's ``n`` recorded trials are strictly ahead
  of it, and stops otherwise (ties continue, as ASHA's ``value < cutoff`` rule lets them).

"Ahead" orders the rung's points, in minimisation form (``max`` objectives negated), by their
non-dominated sorting rank first (:func:`paretosweep.frontier.pareto_ranks`), then, within a rank,
by NSGA-II's crowding distance in that front, larger first (:func:`paretosweep.frontier.crowding_distances`,
Deb et al. 2002). This is MOASHA (Schmucker et al., "Multi-objective Asynchronous Successive
Halving", arXiv:2106.12639, 2021): successive halving whose promotion ranks several objectives
by non-dominated sorting. Crowding distance is the tie-break here because it needs no reference
point and keeps the ends and the sparse parts of a front, which a weight sweep is there to map.
Cost per decision: one non-dominated sort of the rung, ``O(n log n)`` for 2 objectives.

Only scalarization trials are ranked and stopped; comparison-method trials always train their
full budget, so ``paretosweep compare`` judges each method at the budget it was given. A stopped
trial is ended by Tune; :mod:`paretosweep.sweep._recorder` stores it with status ``stopped``
(its last metrics, ``epochs_done`` and checkpoint). Rungs are seeded from a resumed run's stored
trials (their ``history``), so ``--resume`` ranks against the trials the first run saw.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from paretosweep.config import SchedulerSpec
from paretosweep.frontier import crowding_distances, pareto_ranks

#: The result key holding a trial's epoch count (``TrialContext.report`` sends it with every report).
EPOCH_KEY = "epoch"


def rung_epochs(grace_epochs: int, reduction_factor: float, max_epochs: int) -> tuple[int, ...]:
    """The rungs ``ceil(grace · η^k)`` for ``k = 0, 1, ...`` that lie below ``max_epochs``, ascending.

    >>> rung_epochs(1, 3, 27)
    (1, 3, 9)
    >>> rung_epochs(1, 2, 4)
    (1, 2)
    """
    if grace_epochs < 1 or not reduction_factor > 1:
        raise ValueError(f"grace_epochs should be >= 1 and reduction_factor > 1; found {grace_epochs}, {reduction_factor}")
    rungs: list[int] = []
    k = 0
    while (epoch := math.ceil(grace_epochs * reduction_factor**k - 1e-9)) < max_epochs:
        if not rungs or epoch > rungs[-1]:
            rungs.append(epoch)
        k += 1
    return tuple(rungs)


def promotion_order(points: np.ndarray, /) -> tuple[np.ndarray, np.ndarray]:
    """Each row's non-dominated rank and, within its front, its crowding distance.

    Args:
        points: ``[n, m]`` finite objective values in minimisation form.

    Returns:
        ``int [n]`` ranks (0 first) and ``float [n]`` crowding distances (larger first): row ``a``
        is ahead of row ``b`` when ``(rank_a, -crowd_a) < (rank_b, -crowd_b)`` lexicographically.
    """
    points = np.asarray(points, dtype=np.float64)
    ranks = pareto_ranks(points, directions=["min"] * points.shape[1])
    crowd = np.zeros(points.shape[0])
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        crowd[members] = crowding_distances(points[members])
    return ranks, crowd


def rung_decision(recorded: np.ndarray, value: np.ndarray, /, *, reduction_factor: float) -> bool:
    """Whether a trial reaching a rung with ``value`` continues, given the values recorded there before it.

    Args:
        recorded: ``[r, m]`` the rung's earlier trials, minimisation form (finite).
        value: ``[m]`` this trial's values, minimisation form (finite).
        reduction_factor: ``η > 1``.

    Returns:
        True when ``n = r + 1 < η`` (too few to compare: asynchronous), else whether fewer than
        ``⌊n/η⌋`` of the rung's trials are strictly ahead of this one (see :func:`promotion_order`).

    >>> rung_decision(np.array([[1.0, 1.0]]), np.array([2.0, 2.0]), reduction_factor=2)
    False
    >>> rung_decision(np.array([[1.0, 1.0]]), np.array([2.0, 2.0]), reduction_factor=3)
    True
    """
    points = np.vstack([np.asarray(recorded, dtype=np.float64).reshape(-1, len(value)), np.asarray(value, dtype=np.float64)])
    n = points.shape[0]
    if n < reduction_factor:
        return True
    keep = max(1, math.floor(n / reduction_factor))
    ranks, crowd = promotion_order(points)
    own_rank, own_crowd = ranks[-1], crowd[-1]
    ahead = (ranks[:-1] < own_rank) | ((ranks[:-1] == own_rank) & (crowd[:-1] > own_crowd))
    return int(ahead.sum()) < keep


class ParetoASHA(FIFOScheduler):
    """Multi-objective ASHA over the spec's objectives (see the module docstring).

    Args:
        objectives: ``(column, direction)`` per objective, as the trials report them.
        max_epochs: the budget's epochs (no rung at or above it).
        grace_epochs: the first rung.
        reduction_factor: ``η``: a rung keeps the top ``1/η`` of its trials.
        stored: rows of a resumed run (``trial_id``, ``kind``, ``history``): their epochs at each rung seed it.
    """

    _supports_buffered_results = False  # decide at the rung's own report, never on a later one

    def __init__(
        self,
        objectives: Sequence[tuple[str, str]],
        *,
        max_epochs: int,
        grace_epochs: int = 1,
        reduction_factor: float = 3.0,
        stored: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__()
        self.columns = [c for c, _ in objectives]
        self.signs = np.array([-1.0 if d == "max" else 1.0 for _, d in objectives])
        self.reduction_factor = float(reduction_factor)
        self.rungs = rung_epochs(grace_epochs, reduction_factor, max_epochs)
        #: rung epoch -> {sweep trial id: values in minimisation form}
        self.recorded: dict[int, dict[str, np.ndarray]] = {r: {} for r in self.rungs}
        #: sweep trial ids stopped here, with the epoch they stopped at
        self.stopped: dict[str, int] = {}
        for row in stored:
            self._seed(row)

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """The objectives come from the spec: Tune's single ``metric``/``mode`` are not used."""
        return True

    def _values(self, result: Mapping[str, Any]) -> np.ndarray | None:
        values = [result.get(c) for c in self.columns]
        if any(v is None for v in values):
            return None
        out = np.asarray(values, dtype=np.float64) * self.signs
        return out if np.isfinite(out).all() else None

    def _seed(self, row: Mapping[str, Any]) -> None:
        if row.get("kind") != "scalarization" or not row.get("history"):
            return
        history = json.loads(row["history"]) if isinstance(row["history"], str) else row["history"]
        for entry in history:
            epoch = int(entry.get(EPOCH_KEY, 0))
            values = self._values(entry)
            if epoch in self.recorded and values is not None:
                self.recorded[epoch].setdefault(str(row["trial_id"]), values)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        """CONTINUE or STOP a trial that reports an epoch (other results, e.g. the final row, continue)."""
        config = trial.config.get("trial") if isinstance(trial.config, Mapping) else None
        if not config or config.get("kind") != "scalarization" or EPOCH_KEY not in result:
            return TrialScheduler.CONTINUE
        epoch = int(result[EPOCH_KEY])
        values = self._values(result)
        trial_id = str(config["trial_id"])
        if values is None or epoch not in self.recorded or trial_id in self.recorded[epoch]:
            return TrialScheduler.CONTINUE
        rung = self.recorded[epoch]
        others = np.asarray(list(rung.values()), dtype=np.float64).reshape(-1, len(self.columns))
        go_on = rung_decision(others, values, reduction_factor=self.reduction_factor)
        rung[trial_id] = values
        if go_on:
            return TrialScheduler.CONTINUE
        self.stopped[trial_id] = epoch
        return TrialScheduler.STOP

    def debug_string(self) -> str:
        """One line for Tune's status output."""
        seen = ", ".join(f"{r}: {len(v)}" for r, v in self.recorded.items())
        return f"pareto_asha (eta {self.reduction_factor:g}): trials per rung epoch {{{seen}}}, {len(self.stopped)} stopped"


def scheduler_for(
    spec_scheduler: SchedulerSpec | None,
    objectives: Sequence[tuple[str, str]],
    *,
    max_epochs: int,
    stored: Sequence[Mapping[str, Any]] = (),
) -> ParetoASHA | None:
    """The Tune scheduler of ``spec.scheduler`` (None: Tune's default, every trial trains its budget)."""
    if spec_scheduler is None:
        return None
    return ParetoASHA(
        objectives,
        max_epochs=max_epochs,
        grace_epochs=spec_scheduler.grace_epochs,
        reduction_factor=spec_scheduler.reduction_factor,
        stored=stored,
    )


def _is_count(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isfinite(float(value))


def report_count_note(rows: Sequence[Mapping[str, Any]], *, epochs: int, rungs: Sequence[int]) -> str | None:
    """What the user should know when the trials reported fewer epochs than the scheduler assumes (None: all fine).

    A function trainable may call ``ctx.report`` other than once per epoch (once at its end, say);
    that cannot be known before it runs. When no trial that ran to its end reported ``epochs``
    times, the rungs (epochs ``rungs``) were reached late or never, and a trial stopped at a rung
    may have been one that had finished training.
    """
    finished = [int(r["epochs_done"]) for r in rows if r.get("status") == "completed" and _is_count(r.get("epochs_done"))]
    if not finished or max(finished) >= epochs:
        return None
    most = max(finished)
    unranked = (
        "so no trial reached a rung and none was compared"
        if most < min(rungs, default=epochs)
        else ("so the rungs did not fall at the epochs meant, and a stopped trial may have been one that had finished training")
    )
    return (
        f"`scheduler`: the completed trials reported at most {most} time(s), but `budget.epochs` is {epochs} and the "
        f"scheduler counts every ctx.report as one epoch (rungs at epochs {list(rungs)}), {unranked}. "
        "Call ctx.report once per epoch, `ctx.config['epochs']` times, or drop `scheduler`."
    )
